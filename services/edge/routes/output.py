"""Output guardrails wired into chat responses (JSON and SSE)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec

from libs.contracts.messages import Denied, GuardVerdict, Principal
from libs.svc.bus import Unavailable
from services.edge import errors
from services.edge.errors import ApiError
from services.edge.gateway import Call, Gateway
from services.edge.outscan import OutputBlocked, StreamGuard, apply_redactions

_DONE = b"data: [DONE]\n\n"


def _contents(body: dict[str, Any]) -> list[tuple[dict[str, Any], str, str]]:
    """Every text the model produced: message content and tool-call arguments, with where it sits."""
    out: list[tuple[dict[str, Any], str, str]] = []
    for choice in body.get("choices") or []:
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            continue
        if isinstance(message.get("content"), str):
            out.append((message, "content", message["content"]))
        for call in message.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                out.append((function, "arguments", function["arguments"]))
    return out


async def guard_json(gw: Gateway, call: Call, principal: Principal, raw: bytes) -> tuple[bytes, list[str]]:
    """Scan a complete answer: redact in place, raise on block; returns body and warned rule ids."""
    try:
        body = msgspec.json.decode(raw)
    except msgspec.DecodeError:  # never pass on what could not be scanned
        raise ApiError(502, "The upstream provider sent an invalid response.", code="upstream_error") from None
    parts = _contents(body) if isinstance(body, dict) else []
    if not parts:
        return raw, []
    try:
        verdict = await gw.check_output(call, principal, [text for _, _, text in parts])
    except Unavailable as exc:
        raise errors.unavailable(exc.service) from None
    if isinstance(verdict, Denied):
        raise ApiError(400, verdict.reason, code="content_policy_violation")
    assert isinstance(verdict, GuardVerdict)
    warned = sorted({f.rule_id for f in verdict.findings if f.action == "warn" and not f.monitor})
    if verdict.action != "redact":
        return raw, warned
    for index, (container, field, text) in enumerate(parts):
        container[field] = apply_redactions(text, [f for f in verdict.findings if f.text_index == index])
    return msgspec.json.encode(body), warned


def _frame(chunk: dict[str, Any]) -> bytes:
    return b"data: " + msgspec.json.encode(chunk) + b"\n\n"


def _error_frame(status: int, message: str, code: str) -> bytes:
    return b"data: " + msgspec.json.encode(errors.body(status, message, code)) + b"\n\n"


async def guard_stream(
    gw: Gateway, call: Call, principal: Principal, frames: AsyncIterator[bytes]
) -> AsyncIterator[bytes]:
    """Relay SSE frames, scanning each choice's content incrementally; a block ends the stream
    with an error event."""
    guards: dict[int, StreamGuard] = {}
    tool_guards: dict[tuple[int, int], StreamGuard] = {}
    template: dict[str, Any] = {}

    def new_guard() -> StreamGuard:
        return StreamGuard(check=lambda texts: gw.check_output(call, principal, texts))

    def guard(index: int) -> StreamGuard:
        if index not in guards:
            guards[index] = new_guard()
        return guards[index]

    async def flush(index: int) -> bytes:
        held = await guard(index).finish()
        if not held or not template:
            return b""
        return _frame({**template, "choices": [{"index": index, "delta": {"content": held}, "finish_reason": None}]})

    try:
        async for frame in frames:
            if frame == _DONE:
                for index in list(guards):
                    yield await flush(index)
                yield frame
                continue
            try:
                chunk = msgspec.json.decode(frame[6:].strip())
            except msgspec.DecodeError:
                yield frame
                continue
            if not isinstance(chunk, dict) or "choices" not in chunk:
                yield frame  # error events and usage-only chunks pass as they are
                continue
            template = {k: v for k, v in chunk.items() if k not in ("choices", "usage")}
            for choice in chunk.get("choices") or []:
                index = int(choice.get("index", 0))
                if not isinstance(choice.get("delta"), dict):
                    choice["delta"] = {}
                delta = choice["delta"]
                if isinstance(delta.get("content"), str):
                    delta["content"] = await guard(index).feed(delta["content"])
                await _guard_tool_args(delta, index, tool_guards, new_guard)
                if choice.get("finish_reason") is not None:
                    if index in guards:
                        held = await guards[index].finish()
                        if held:
                            delta["content"] = (delta.get("content") or "") + held
                    await _flush_tool_args(delta, index, tool_guards)
            yield _frame(chunk)
    except OutputBlocked as exc:
        yield _error_frame(400, exc.reason, "content_policy_violation")
    except Unavailable as exc:
        err = errors.unavailable(exc.service)
        yield _error_frame(503, err.message, "service_unavailable")


async def _guard_tool_args(
    delta: dict[str, Any], index: int, guards: dict[tuple[int, int], StreamGuard], new: Any
) -> None:
    """Tool-call argument fragments are scanned like content, one hold-back per tool call."""
    for call in delta.get("tool_calls") or []:
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict) and isinstance(function.get("arguments"), str):
            key = (index, int(call.get("index", 0)))
            if key not in guards:
                guards[key] = new()
            function["arguments"] = await guards[key].feed(function["arguments"])


async def _flush_tool_args(delta: dict[str, Any], index: int, guards: dict[tuple[int, int], StreamGuard]) -> None:
    """At a choice's end, release what each of its tool calls still holds."""
    held_calls = []
    for (choice_index, tool_index), guard in sorted(guards.items()):
        if choice_index != index:
            continue
        held = await guard.finish()
        if held:
            held_calls.append({"index": tool_index, "function": {"arguments": held}})
    if held_calls:
        delta["tool_calls"] = [*(delta.get("tool_calls") or []), *held_calls]
