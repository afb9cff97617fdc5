"""The edge's upstream HTTP client: aiohttp (C-accelerated HTTP/1.1, keep-alive pool) held to the
egress policy of :mod:`libs.svc.egress` at connect time.

Why aiohttp and not httpx: on the edge's workload (many small JSON answers and SSE streams over
a few pooled connections) it costs about a third of httpx's CPU per request (see
``bench/upstream_client_bench.py`` and docs/performance.md, "Upstream HTTP client").

How the policy holds, as with httpx's :class:`~libs.svc.egress_httpx.GuardedBackend`:

- :class:`GuardedResolver` resolves the host (DNS cache off: every new connection resolves and
  checks again) and hands aiohttp only the addresses the policy allows, so aiohttp connects to
  a **checked address**, never to the name; TLS still verifies the certificate against the
  host name and sends it as SNI (aiohttp's ``server_hostname``).
- :func:`_checked_socket`, the connector's socket factory, checks the exact address each socket
  is about to connect to, once more. aiohttp skips the resolver for IP-literal hosts; this is
  where those are held to the policy.
- Plain ``http`` is allowed only to operator-allowed addresses (the request marks itself,
  :data:`libs.svc.egress._plaintext`, for the duration of its connect).
- Redirects are never followed (``allow_redirects=False`` on every request) and proxy variables
  from the environment are ignored (``trust_env=False``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field

import aiohttp
from aiohappyeyeballs import AddrInfoType
from aiohttp.abc import AbstractResolver, ResolveResult

from libs.svc import egress
from libs.svc.egress import Address, EgressPolicy


@dataclass(frozen=True)
class Request:
    """One upstream request as the adapters build it."""

    url: str
    body: bytes
    headers: Mapping[str, str]
    timeout: aiohttp.ClientTimeout
    method: str = "POST"


MAX_BODY_BYTES = 32 * 2**20
"""The most of a whole (not streamed) answer read into memory: an upstream is tenant-chosen, and a
huge or decompressing-to-huge body must not exhaust the edge every tenant shares."""


class BodyTooLarge(Exception):
    """A whole answer over :data:`MAX_BODY_BYTES` (after decompression); the connection is closed."""


class Response:
    """An upstream answer: status and headers at once, the body read whole (:meth:`aread`) or
    streamed (:meth:`aiter_bytes`); :meth:`aclose` gives the connection back when the body was
    read to its end and closes it otherwise."""

    def __init__(
        self,
        status: int,
        headers: Mapping[str, str],
        request: Request,
        *,
        content: bytes | None = None,
        raw: aiohttp.ClientResponse | None = None,
    ) -> None:
        self.status_code = status
        self.headers = headers
        self.request = request
        self._content = content
        self._raw = raw
        self.closed = False

    @classmethod
    def of(cls, raw: aiohttp.ClientResponse, request: Request) -> Response:
        """Wrap aiohttp's response (headers read, body not yet)."""
        return cls(raw.status, raw.headers, request, raw=raw)

    @property
    def content(self) -> bytes:
        """The body; only after :meth:`aread` (or when built with it)."""
        if self._content is None:
            raise RuntimeError("the body was not read")
        return self._content

    async def aread(self, limit: int = MAX_BODY_BYTES) -> bytes:
        """Read the whole body (once, at most ``limit`` bytes: :class:`BodyTooLarge` beyond) and
        give the connection back."""
        if self._content is None:
            raw = self._raw
            assert raw is not None
            if raw.content_length is not None and raw.content_length > limit:
                raw.close()
                raise BodyTooLarge
            parts: list[bytes] = []
            size = 0
            async for chunk in raw.content.iter_any():
                size += len(chunk)
                if size > limit:
                    raw.close()
                    raise BodyTooLarge
                parts.append(chunk)
            self._content = b"".join(parts)
            raw.release()
        return self._content

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        """The body as it arrives, chunk by chunk."""
        if self._raw is None:
            if self._content:
                yield self._content
            return
        async for chunk in self._raw.content.iter_any():
            yield chunk

    async def aclose(self) -> None:
        """Release a fully read body's connection to the pool; close one cut short (idempotent)."""
        self.closed = True
        raw = self._raw
        if raw is None:
            return
        if raw.content.at_eof():
            raw.release()
        else:
            raw.close()


class GuardedResolver(AbstractResolver):
    """Resolves a host and returns only the addresses the policy allows (:class:`EgressRefused`
    if none is)."""

    def __init__(self, policy: EgressPolicy) -> None:
        self._policy = policy

    async def addresses(self, host: str, port: int) -> list[Address]:
        """What ``host`` resolves to (a literal, legacy forms too, resolves to itself)."""
        literal = egress._literal(host)
        if literal is not None:
            return [literal]
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return [ipaddress.ip_address(info[4][0]) for info in infos]

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_UNSPEC) -> list[ResolveResult]:
        """The allowed addresses of ``host``, for aiohttp to connect to."""
        try:
            resolved = await self.addresses(host, port)
        except OSError as exc:
            raise OSError(f"cannot resolve the provider's host ({exc.strerror or exc})") from None
        good = egress.allowed_addresses(self._policy, resolved, plaintext=egress._plaintext.get())
        return [ResolveResult(hostname=host, host=str(a), port=port, family=_family(a), proto=0, flags=0) for a in good]

    async def close(self) -> None:
        """Nothing to release."""


def _family(address: Address) -> int:
    return socket.AF_INET6 if address.version == 6 else socket.AF_INET


def socket_factory(policy: EgressPolicy) -> Callable[[AddrInfoType], socket.socket]:
    """aiohttp's socket factory: the last check, on the address the socket will connect to."""

    def _checked_socket(addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        egress.allowed_addresses(policy, [ipaddress.ip_address(sockaddr[0])], plaintext=egress._plaintext.get())
        return socket.socket(family=family, type=type_, proto=proto)

    return _checked_socket


@dataclass
class GuardedClient:
    """A pooled aiohttp session for tenant-chosen destinations (see the module's docstring)."""

    policy: EgressPolicy
    limit: int = 512
    keepalive_s: float = 4.0
    ssl_context: ssl.SSLContext | None = None
    """Certificates are verified against the host name (the system's CAs unless this is given)."""
    resolver: GuardedResolver | None = None
    _session: aiohttp.ClientSession | None = field(default=None, init=False, repr=False)

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self.limit,
                limit_per_host=0,
                keepalive_timeout=self.keepalive_s,
                use_dns_cache=False,
                resolver=self.resolver or GuardedResolver(self.policy),
                socket_factory=socket_factory(self.policy),
                ssl=self.ssl_context or True,
            )
            self._session = aiohttp.ClientSession(
                connector=connector, trust_env=False, auto_decompress=True, skip_auto_headers=("user-agent",)
            )
        return self._session

    async def open(self, request: Request) -> Response:
        """Send ``request``; return once the status and headers came (the body is not read)."""
        token = egress._plaintext.set(request.url.startswith("http://"))
        try:
            raw = await self._open().request(
                request.method,
                request.url,
                data=request.body,
                headers=request.headers,
                timeout=request.timeout,
                allow_redirects=False,
                proxy=None,
            )
        finally:
            egress._plaintext.reset(token)
        return Response.of(raw, request)

    async def aclose(self) -> None:
        """Close the pool."""
        if self._session is not None:
            await self._session.close()
            self._session = None


def timeout(total_s: float, connect_s: float) -> aiohttp.ClientTimeout:
    """The timeouts of one request: ``connect_s`` to open a connection, ``total_s`` for a pool
    slot plus connect and for each wait on the upstream (headers, then every body chunk: a long
    stream that keeps sending is never cut)."""
    return aiohttp.ClientTimeout(total=None, connect=total_s, sock_connect=connect_s, sock_read=total_s)
