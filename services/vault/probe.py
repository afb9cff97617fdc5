"""Provider test: one cheap upstream call (``GET {base_url}/models``) with the stored key.

The vault makes the call itself so the clear key never leaves this process for a test. What goes
back is ours alone: ok, the upstream's HTTP status, latency and a short detail chosen from fixed
texts — never the upstream's body (it may echo the key), never an exception's message (it may
quote the URL or headers). Redirects are not followed (a custom auth header would be sent on to
another host), the body is not read, and the whole call is bounded by ``timeout_s``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time

import asyncpg
import httpx

from libs.contracts.errors import Code
from libs.contracts.messages import Denied, Fault, ProbeProvider, ProbeResult
from libs.svc import egress
from services.vault import store
from services.vault.resolver import Resolver

log = logging.getLogger("bastion.vault.probe")
ANTHROPIC_VERSION = "2023-06-01"
_HINTS = {401: "key rejected", 403: "key rejected", 404: "no /models at this base URL", 429: "rate limited"}


def probe_request(adapter: str, base_url: str, api_key: str) -> tuple[str, dict[str, str]]:
    """URL and headers of the test call, in each adapter's own auth convention."""
    headers = {"accept": "application/json"}
    if adapter == "anthropic":
        headers["anthropic-version"] = ANTHROPIC_VERSION
        if api_key:
            headers["x-api-key"] = api_key
    elif adapter == "gemini":
        if api_key:
            headers["x-goog-api-key"] = api_key
    elif api_key:  # openai, openai_compatible
        headers["authorization"] = f"Bearer {api_key}"
    return base_url.rstrip("/") + "/models", headers


def status_detail(status: int) -> str:
    """``upstream answered 401 (key rejected)``."""
    hint = _HINTS.get(status, "")
    if not hint and 300 <= status < 400:
        hint = "redirect not followed"
    elif not hint and status >= 500:
        hint = "upstream error"
    return f"upstream answered {status}" + (f" ({hint})" if hint else "")


def failure_detail(exc: BaseException) -> str:
    """A fixed text for a failed call, from the exception's type and its causes' types only."""
    if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
        return "timeout"
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return "invalid base URL"
    if egress.refusal(exc):
        return "refused: the provider's address is not public (egress policy; an operator can allow it)"
    if isinstance(exc, httpx.ConnectError):
        causes: list[BaseException] = []
        cause: BaseException | None = exc
        while cause is not None and len(causes) < 10:
            causes.append(cause)
            cause = cause.__cause__ or cause.__context__
        if any(isinstance(c, ConnectionRefusedError) for c in causes):
            return "unreachable: connection refused"
        if any(isinstance(c, socket.gaierror) for c in causes):
            return "unreachable: host name not resolved"
        if any(isinstance(c, ssl.SSLError) for c in causes):
            return "unreachable: TLS handshake failed"
        return "unreachable: connection failed"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "unreachable: connection closed by the upstream"
    if isinstance(exc, httpx.TransportError):
        return "unreachable: request failed"
    return f"request not sent ({type(exc).__name__})"  # e.g. a key that is not valid in a header


class Prober:
    """Runs provider tests for one vault replica (a few at a time, so they never crowd out resolves)."""

    def __init__(self, pool: asyncpg.Pool, resolver: Resolver, client: httpx.AsyncClient, timeout_s: float = 10.0,
                 concurrency: int = 8) -> None:  # fmt: skip
        self._pool = pool
        self._resolver = resolver
        self._client = client
        self._timeout = timeout_s
        self._slots = asyncio.Semaphore(concurrency)

    async def probe(self, cmd: ProbeProvider) -> ProbeResult | Denied | Fault:
        """Open the provider's key and make the call."""
        found = await store.provider_with_key(self._pool, cmd.org_id, cmd.provider_id)
        if found is None:
            return Denied(code="vault.not_found", reason="No such provider in this organisation.")
        provider, sealed = found
        api_key = await self._resolver.open_key(cmd.org_id, provider.id, sealed)
        if api_key is None:
            return Fault(code=Code.INTERNAL, message="provider key could not be opened")
        url, headers = probe_request(provider.adapter, provider.base_url, api_key)
        async with self._slots:
            result = await self._call(url, headers)
        if not api_key:
            result = ProbeResult(ok=result.ok, status=result.status, latency_ms=result.latency_ms,
                                 detail=result.detail + " (no key stored)")  # fmt: skip
        log.info("provider tested", extra={"provider_id": provider.id, "ok": result.ok, "status": result.status})
        return result

    async def _call(self, url: str, headers: dict[str, str]) -> ProbeResult:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout), self._client.stream("GET", url, headers=headers) as response:
                status = response.status_code  # the body is never read
        except Exception as exc:  # noqa: BLE001 - every failure is an answer (ok=false), described by type only
            elapsed = int((time.perf_counter() - started) * 1000)
            return ProbeResult(ok=False, status=0, latency_ms=elapsed, detail=failure_detail(exc))
        elapsed = int((time.perf_counter() - started) * 1000)
        return ProbeResult(ok=200 <= status < 300, status=status, latency_ms=elapsed, detail=status_detail(status))
