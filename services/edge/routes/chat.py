"""``POST /v1/chat/completions`` (JSON and SSE)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from litestar import Request, Response, post
from litestar.response import Stream

from services.edge import textparts
from services.edge.access import check_model
from services.edge.errors import ApiError, rate_headers
from services.edge.gateway import Call
from services.edge.routes.common import authenticate, gateway, start_call
from services.edge.routes.output import guard_json, guard_stream
from services.edge.schemas import ChatRequest, decode_object, validate
from services.edge.upstream.base import StreamResult

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


@post("/v1/chat/completions", status_code=200)
async def chat_completions(request: Request[Any, Any, Any]) -> Response[bytes] | Stream:
    """Authenticate, check, route and forward one chat completion."""
    call = start_call(request, "chat.completion")
    status = 500
    streaming = False
    timing = Timing()
    try:
        principal = await authenticate(request, call)
        timing.mark("auth")
        raw, chat = await _read_body(request)
        call.model = chat.model
        call.stream = chat.stream
        check_model(principal.limits, chat.model)
        texts, paths = textparts.collect(raw["messages"])
        timing.mark("parse")
        limited = await gateway(request).limit(call, principal, sum(len(t) for t in texts),
                                               chat.max_completion_tokens or chat.max_tokens)  # fmt: skip
        target, verdict = await gateway(request).prepare(call, principal, texts)
        timing.mark("guard_vault")
        if verdict.texts is not None:
            textparts.replace(raw["messages"], paths, verdict.texts)
            texts = verdict.texts
        headers = _guard_headers(verdict.action, [f.rule_id for f in verdict.findings if not f.monitor])
        if limited is not None:
            headers.update(rate_headers(limited.rpm_limit, limited.remaining, limited.reset_s))
        adapter = request.app.state.adapters[target.adapter]
        prompt_chars = sum(len(t) for t in texts)
        if chat.stream:
            include_usage = bool(chat.stream_options and chat.stream_options.include_usage)
            result = await adapter.stream(target, raw, prompt_chars, include_usage)
            streaming = True
            return _stream_response(request, call, principal, result, headers)
        answer = await adapter.chat(target, raw, prompt_chars)
        timing.mark("upstream")
        call.usage = answer.usage
        body, warned = await guard_json(gateway(request), call, principal, answer.body)
        timing.mark("output_guard")
        headers["server-timing"] = timing.header()
        if warned:
            headers["x-bastion-guardrails-output-warn"] = ",".join(warned)
        status = answer.status
        gateway(request).record(call, status, answer.usage)
        return Response(body, media_type="application/json", status_code=status, headers=headers)
    except ApiError as exc:
        status = exc.status
        raise
    finally:
        if status >= 400 and not streaming:
            gateway(request).record(call, status, call.usage)


async def _read_body(request: Request[Any, Any, Any]) -> tuple[dict[str, Any], ChatRequest]:
    """The body as a dict (forwarded with unknown fields kept) and its validated view; 400 if bad."""
    try:
        raw = decode_object(await request.body())
        chat: ChatRequest = validate(raw, ChatRequest)
    except ValueError as exc:
        raise ApiError(400, str(exc), code="invalid_request_error") from None
    return raw, chat


def _stream_response(
    request: Request[Any, Any, Any], call: Call, principal: Any, result: StreamResult, headers: dict[str, str]
) -> Stream:
    frames = guard_stream(gateway(request), call, principal, result.frames)
    return Stream(_relay(request, call, result, frames), media_type="text/event-stream",
                  headers={**SSE_HEADERS, **headers})  # fmt: skip


async def _relay(
    request: Request[Any, Any, Any], call: Call, result: StreamResult, frames: AsyncIterator[bytes]
) -> AsyncIterator[bytes]:
    """Forward frames; the usage/audit events go out when the stream ends, however it ends."""
    try:
        async for frame in frames:
            if frame:
                yield frame
    finally:
        gateway(request).record(call, 200, result.usage)


class Timing:
    """Phase durations for the ``Server-Timing`` response header (durations only, no detail)."""

    def __init__(self) -> None:
        self._last = time.perf_counter()
        self._parts: list[str] = []

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        self._parts.append(f"{name};dur={(now - self._last) * 1000:.2f}")
        self._last = now

    def header(self) -> str:
        return ", ".join(self._parts)


def _guard_headers(action: str, rule_ids: list[str]) -> dict[str, str]:
    if action in ("warn", "redact") and rule_ids:
        return {f"x-bastion-guardrails-{action}": ",".join(sorted(set(rule_ids)))}
    return {}
