"""One chat request through the gateway, whatever API format the client speaks.

Routes start authentication (:func:`~services.edge.routes.common.begin_checked`) and parse
their format into an OpenAI-format chat request; :func:`run_chat` awaits auth's answer together
with the input guardrails and the route lookup, checks the key's limits, calls the adapter of
the resolved upstream, applies the output guardrails and hands back an OpenAI-format answer for
the route to translate. :func:`handle` wraps a route so every request leaves exactly one usage
and one audit event, however it ends, and so an authentication refusal is what the client sees
whatever else was wrong with the request.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Stream

from libs.contracts.messages import Principal
from services.edge import holds, measures
from services.edge.access import check_model
from services.edge.ahead import PendingAuth
from services.edge.errors import ApiError, rate_headers
from services.edge.gateway import Call, Gateway
from services.edge.inscan import scan_input
from services.edge.routes.common import gateway, start_call
from services.edge.routes.output import guard_json, guard_stream
from services.edge.upstream.base import Adapter, StreamResult, Usage, estimate_tokens

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


@dataclass
class Answer:
    """An OpenAI-format answer that passed the output guardrails: ``body`` (JSON) or ``frames`` (SSE)."""

    headers: dict[str, str]
    body: bytes = b""
    frames: AsyncIterator[bytes] | None = None
    prompt_tokens_hint: int = 0
    close: Callable[[], Awaitable[None]] | None = None
    """For a stream: to await once the response ended (records usage, closes the upstream)."""

    async def stream_closed(self) -> None:
        """The streamed response ended, however it ended."""
        if self.close is not None:
            await self.close()


@dataclass
class Timing:
    """Phase durations for the ``Server-Timing`` response header (durations only, no detail)."""

    route: str = ""
    """The request's action: each phase is also observed in ``bastion_edge_phase_seconds``."""
    last: float = field(default_factory=time.perf_counter)
    parts: list[str] = field(default_factory=list)

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        took = now - self.last
        self.parts.append(f"{name};dur={took * 1000:.2f}")
        self.last = now
        if self.route:
            measures.phase(self.route, name, took)

    def answers(self, since: float, answered: dict[str, float]) -> None:
        """When each check answered, counted from ``since`` (0 if before): ``<name>-answer``."""
        for name, at in answered.items():
            self.parts.append(f"{name}-answer;dur={max(0.0, at - since) * 1000:.2f}")

    def header(self) -> str:
        return ", ".join(self.parts)


async def handle(
    request: Request[Any, Any, Any], action: str, body: Callable[[Call], Awaitable[Response[bytes] | Stream]]
) -> Response[bytes] | Stream:
    """Run a data-plane route; record its usage and audit events when it fails or answers JSON
    (a stream records them itself when it ends)."""
    call = start_call(request, action)
    status = 500
    streaming = False
    try:
        result = await body(call)
        streaming = isinstance(result, Stream)
        status = result.status_code or 200
        return result
    except (ApiError, HTTPException) as exc:  # HTTPException: Litestar's own (a body too large: 413)
        status = exc.status if isinstance(exc, ApiError) else exc.status_code
        if call.auth is not None and call.principal is None and not call.auth_failure:
            # refused before auth answered (a bad body, say): auth's refusal comes first
            try:
                await call.auth.principal()
            except ApiError as refusal:
                status = refusal.status
                measures.denied(call.action, refusal.code)
                raise refusal from None
        measures.denied(call.action, exc.code if isinstance(exc, ApiError) else None)
        raise
    finally:
        if not streaming:
            gateway(request).record(call, status, call.usage)


def adapter_for(request: Request[Any, Any, Any], name: str) -> Adapter:
    """The adapter instance for a resolved upstream's protocol."""
    adapters: dict[str, Adapter] = request.app.state.adapters
    found = adapters.get(name)
    if found is None:
        raise ApiError(502, "The provider for this model is misconfigured.", code="upstream_error")
    return found


def vet_chat(call: Call, payload: dict[str, Any]) -> Callable[[Principal], None]:
    """What the verified key must allow for this chat request: its model, and (with a USD limit)
    only options that can be priced."""

    def vet(principal: Principal) -> None:
        check_model(principal.limits, call.model)
        if principal.limits.usage_limit_usd is not None and (option := holds.unpriced_option(payload)):
            raise ApiError(403, f"The option `{option}` cannot be priced, so a key with a USD limit "
                           "(rule: usage_limit_usd) may not use it.", code="option_not_priced", param=option)  # fmt: skip

    return vet


async def run_chat(
    request: Request[Any, Any, Any],
    call: Call,
    auth: PendingAuth,
    payload: dict[str, Any],
    timing: Timing,
    include_usage: bool,
) -> Answer:
    """Auth's answer ∥ input guardrails ∥ routing, the limits, then the upstream and the output
    guardrails."""
    gw = gateway(request)
    vet = vet_chat(call, payload)
    if auth.done:  # verified already: its refusals come before any about the content
        vet(await auth.principal())
    texts = scan_input(payload)
    timing.mark("parse")
    checks_began = timing.last
    # both limits go upstream and a server may read either: the hold covers the larger one
    asked = [payload.get(name) for name in ("max_completion_tokens", "max_tokens")]
    max_tokens = max((v for v in asked if isinstance(v, int) and not isinstance(v, bool)), default=None)
    asked_n = payload.get("n")
    n = asked_n if isinstance(asked_n, int) else 1
    admitted = await gw.prepare(call, auth, texts.sent, max_tokens, n=max(1, n),
                                prompt_chars=holds.input_chars(payload), vet=vet)  # fmt: skip
    principal, target, verdict, limited = admitted.principal, admitted.target, admitted.verdict, admitted.limited
    timing.mark("checks")
    timing.answers(checks_began, call.answered)
    texts.apply(payload, verdict)
    if (
        max_tokens is None
        and limited
        and limited.default_max_tokens > 0
        and principal.limits.usage_limit_usd is not None
    ):
        # the hold counted the default completion size: the upstream must not produce more
        payload[holds.max_tokens_field(target.adapter)] = limited.default_max_tokens
    headers = guard_headers(verdict.action, [f.rule_id for f in verdict.findings if not f.monitor])
    if limited is not None:
        headers.update(rate_headers(limited.rpm_limit, limited.remaining, limited.reset_s))
    adapter = adapter_for(request, target.adapter)
    prompt_chars = texts.chars
    if payload.get("stream"):
        result = await adapter.stream(target, payload, prompt_chars, include_usage)
        relayed = _Relayed(gw, call, result, guard_stream(gw, call, principal, result.frames), prompt_chars)
        return Answer(headers=headers, frames=relayed.frames(), close=relayed.close,
                      prompt_tokens_hint=max(1, prompt_chars // 4))  # fmt: skip
    answer = await adapter.chat(target, payload, prompt_chars)
    timing.mark("upstream")
    call.usage = answer.usage
    body, warned = await guard_json(gw, call, principal, answer.body)
    timing.mark("output_guard")
    headers["server-timing"] = timing.header()
    if warned:
        headers["x-bastion-guardrails-output-warn"] = ",".join(warned)
    return Answer(headers=headers, body=body)


class _Relayed:
    """A stream's frames to the client; its usage and audit events go out exactly once when it
    ends, however it ends — finished (200), or abandoned by the client (499, with what was used
    until then: the provider's counts if it gave them, else estimated from the prompt and the text
    relayed so far), which also settles the request's hold."""

    def __init__(self, gw: Gateway, call: Call, result: StreamResult, frames: AsyncIterator[bytes],
                 prompt_chars: int) -> None:  # fmt: skip
        self._gw, self._call, self._result, self._frames = gw, call, result, frames
        self._prompt_chars = prompt_chars
        self._outer: AsyncIterator[bytes] | None = None
        self._completed = False

    def frames(self) -> AsyncIterator[bytes]:
        self._outer = self._forward()
        return self._outer

    async def _forward(self) -> AsyncIterator[bytes]:
        try:
            async for frame in self._frames:
                if frame:
                    yield frame
            self._completed = True
        finally:
            self._record()

    def _record(self) -> None:
        usage = self._result.usage
        if not usage.estimated and not usage.prompt_tokens and not usage.completion_tokens:
            usage = Usage(prompt_tokens=estimate_tokens(self._prompt_chars), estimated=True)  # nothing relayed yet
        self._gw.record(self._call, 200 if self._completed else 499, usage)

    async def close(self) -> None:
        """The response ended: record (if the frames did not), then close every stage down to
        the upstream response, so neither the connection nor the reservation is left behind."""
        self._record()
        for stage in (self._outer, self._frames):
            closer = getattr(stage, "aclose", None)
            if closer is not None:
                with contextlib.suppress(Exception):
                    await closer()
        await self._result.close()


def guard_headers(action: str, rule_ids: list[str]) -> dict[str, str]:
    """``x-bastion-guardrails-warn|redact`` naming the input rules that acted."""
    if action in ("warn", "redact") and rule_ids:
        return {f"x-bastion-guardrails-{action}": ",".join(sorted(set(rule_ids)))}
    return {}
