"""One chat request through the gateway, whatever API format the client speaks.

Routes parse their format into an OpenAI-format chat request; :func:`run_chat` authenticates
nothing itself (the route did), checks limits ∥ guardrails ∥ vault, calls the adapter of the
resolved upstream, applies the output guardrails and hands back an OpenAI-format answer for
the route to translate. :func:`handle` wraps a route so every request leaves exactly one usage
and one audit event, however it ends.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from litestar import Request, Response
from litestar.response import Stream

from libs.contracts.messages import Principal
from services.edge.errors import ApiError, rate_headers
from services.edge.gateway import Call
from services.edge.inscan import scan_input
from services.edge.routes.common import gateway, start_call
from services.edge.routes.output import guard_json, guard_stream
from services.edge.upstream.base import Adapter

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


@dataclass
class Answer:
    """An OpenAI-format answer that passed the output guardrails: ``body`` (JSON) or ``frames`` (SSE)."""

    headers: dict[str, str]
    body: bytes = b""
    frames: AsyncIterator[bytes] | None = None
    prompt_tokens_hint: int = 0


@dataclass
class Timing:
    """Phase durations for the ``Server-Timing`` response header (durations only, no detail)."""

    last: float = field(default_factory=time.perf_counter)
    parts: list[str] = field(default_factory=list)

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        self.parts.append(f"{name};dur={(now - self.last) * 1000:.2f}")
        self.last = now

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
    except ApiError as exc:
        status = exc.status
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


async def run_chat(
    request: Request[Any, Any, Any],
    call: Call,
    principal: Principal,
    payload: dict[str, Any],
    timing: Timing,
    include_usage: bool,
) -> Answer:
    """Limits ∥ input guardrails ∥ routing, then the upstream and the output guardrails."""
    gw = gateway(request)
    texts = scan_input(payload)
    timing.mark("parse")
    max_tokens = payload.get("max_completion_tokens") or payload.get("max_tokens")
    target, verdict, limited = await gw.prepare(
        call, principal, texts.sent, max_tokens if isinstance(max_tokens, int) else None, texts.chars
    )
    timing.mark("checks")
    texts.apply(payload, verdict)
    headers = guard_headers(verdict.action, [f.rule_id for f in verdict.findings if not f.monitor])
    if limited is not None:
        headers.update(rate_headers(limited.rpm_limit, limited.remaining, limited.reset_s))
    adapter = adapter_for(request, target.adapter)
    prompt_chars = texts.chars
    if payload.get("stream"):
        result = await adapter.stream(target, payload, prompt_chars, include_usage)
        frames = guard_stream(gw, call, principal, result.frames)
        return Answer(headers=headers, frames=_recorded(request, call, result.usage, frames),
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


async def _recorded(
    request: Request[Any, Any, Any], call: Call, usage: Any, frames: AsyncIterator[bytes]
) -> AsyncIterator[bytes]:
    """Forward frames; the usage/audit events go out when the stream ends, however it ends."""
    try:
        async for frame in frames:
            if frame:
                yield frame
    finally:
        gateway(request).record(call, 200, usage)


def guard_headers(action: str, rule_ids: list[str]) -> dict[str, str]:
    """``x-bastion-guardrails-warn|redact`` naming the input rules that acted."""
    if action in ("warn", "redact") and rule_ids:
        return {f"x-bastion-guardrails-{action}": ",".join(sorted(set(rule_ids)))}
    return {}
