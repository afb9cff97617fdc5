"""Anthropic dialect: ``POST /v1/messages`` (JSON and named-event SSE, tool use, Anthropic error bodies)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from litestar import Request, Response, post
from litestar.response import Stream

from libs.mockllm import common

MODELS = ("mock-claude-sonnet", "mock-claude-haiku")
TOOL_USE_ID = "toolu_mock1"
TOOL_PREAMBLE = "Calling a tool."


def _error(status: int, kind: str, message: str) -> Response[Any]:
    headers = {"retry-after": "7"} if status == 429 else None
    return Response({"type": "error", "error": {"type": kind, "message": message}}, status_code=status, headers=headers)


def _text_of(content: Any) -> str:
    """Text of a string or of the text blocks in a block list (tool results included)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts: list[str] = []
    for block in content:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif block.get("type") == "tool_result":
            texts.append(_text_of(block.get("content")))
    return " ".join(t for t in texts if t)


def _user_text(content: Any) -> str:
    """The text blocks only (a turn made of tool results has no user text)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return " ".join(b["text"] for b in content if isinstance(b, dict) and b.get("type") == "text"
                    and isinstance(b.get("text"), str))  # fmt: skip


def _validate(body: dict[str, Any]) -> str | None:
    if not isinstance(body.get("model"), str):
        return "model: Field required"
    if not isinstance(body.get("max_tokens"), int):
        return "max_tokens: Field required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: Field required"
    if not all(isinstance(m, dict) and m.get("role") in ("user", "assistant") for m in messages):
        return "messages: each message needs a role of 'user' or 'assistant'"
    return None


async def _failure(model: str) -> Response[Any] | None:
    match common.failure(model):
        case "429":
            return _error(429, "rate_limit_error", "This request would exceed your organization's rate limit.")
        case "500":
            return _error(500, "api_error", "Internal server error")
        case "529":
            return _error(529, "overloaded_error", "Overloaded")
        case _:
            await common.maybe_slow(model)
            return None


@post("/v1/messages", status_code=200)
async def messages(request: Request[Any, Any, Any]) -> Response[Any] | Stream:
    """Anthropic Messages API."""
    body = common.decode(await request.body())
    # the API takes ``x-api-key``; the official SDK (v2) sends ``Authorization: Bearer <key>``
    key = request.headers.get("x-api-key") or request.headers.get("authorization") or ""
    common.record("/v1/messages", body, key)
    if not key:
        return _error(401, "authentication_error", "x-api-key header is required")
    if body is None:
        return _error(400, "invalid_request_error", "The request body is not valid JSON.")
    invalid = _validate(body)
    if invalid:
        return _error(400, "invalid_request_error", invalid)
    model = str(body["model"])
    failure = await _failure(model)
    if failure is not None:
        return failure
    conversation: list[dict[str, Any]] = body["messages"]
    users = [m for m in conversation if m.get("role") == "user"]
    last = _user_text(users[-1].get("content")) if users else ""
    tools: Any = body.get("tools")
    tool = common.wants_tool(tools, last, conversation[-1].get("role") == "user")
    arguments = common.tool_arguments(last) if tool else ""
    text = TOOL_PREAMBLE if tool else common.reply_text(last)
    system = _text_of(body.get("system"))
    input_tokens = common.tokens(" ".join([system, *(_text_of(m.get("content")) for m in conversation)]))
    usage = {"input_tokens": input_tokens, "output_tokens": common.tokens(f"{text} {arguments}"),
             "cache_creation_input_tokens": 0,
             "cache_read_input_tokens": common.CACHED_TOKENS if "cached" in model else 0}  # fmt: skip
    content: list[dict[str, Any]] = [{"type": "text", "text": text}]
    if tool:
        name = str(tools[0].get("name", "tool")) if isinstance(tools[0], dict) else "tool"
        content.append({"type": "tool_use", "id": TOOL_USE_ID, "name": name, "input": common.tool_query(last)})
    message = {"id": f"msg_mock{time.time_ns()}", "type": "message", "role": "assistant", "model": model,
               "content": content, "stop_reason": "tool_use" if tool else "end_turn", "stop_sequence": None,
               "usage": usage}  # fmt: skip
    headers = {"request-id": f"req_mock{time.time_ns()}"}
    if not body.get("stream"):
        return Response(message, headers=headers)
    return Stream(_frames(message, arguments), media_type="text/event-stream", headers=headers)


def _event(kind: str, **fields: Any) -> bytes:
    return common.sse({"type": kind, **fields}, event=kind)


async def _frames(message: dict[str, Any], arguments: str) -> AsyncIterator[bytes]:
    """The named-event stream that rebuilds ``message`` (a text block, then maybe one tool_use block)."""
    model: str = message["model"]
    usage: dict[str, int] = message["usage"]
    blocks: list[dict[str, Any]] = message["content"]
    start = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    yield _event("message_start", message=start)
    yield _event("content_block_start", index=0, content_block={"type": "text", "text": ""})
    yield _event("ping")
    text_pieces = common.pieces(blocks[0]["text"], model)
    if "midstream-error" in model:
        for piece in text_pieces[: max(1, len(text_pieces) // 2)]:
            yield _event("content_block_delta", index=0, delta={"type": "text_delta", "text": piece})
        yield _event("error", error={"type": "overloaded_error", "message": "Overloaded"})
        return
    for piece in text_pieces:
        yield _event("content_block_delta", index=0, delta={"type": "text_delta", "text": piece})
    yield _event("content_block_stop", index=0)
    for index, block in enumerate(blocks[1:], start=1):
        yield _event("content_block_start", index=index, content_block={**block, "input": {}})
        for fragment in common.fragments(arguments):
            yield _event(
                "content_block_delta", index=index, delta={"type": "input_json_delta", "partial_json": fragment}
            )
        yield _event("content_block_stop", index=index)
    yield _event("message_delta", delta={"stop_reason": message["stop_reason"], "stop_sequence": None},
                 usage={"output_tokens": usage["output_tokens"]})  # fmt: skip
    yield _event("message_stop")


@post("/v1/messages/count_tokens", status_code=200)
async def count_tokens(request: Request[Any, Any, Any]) -> Response[Any]:
    """Anthropic token counting: ``{"input_tokens": n}`` (words of the system prompt and messages)."""
    body = common.decode(await request.body())
    key = request.headers.get("x-api-key") or request.headers.get("authorization") or ""
    common.record("/v1/messages/count_tokens", body, key)
    if not key:
        return _error(401, "authentication_error", "x-api-key header is required")
    if body is None or not isinstance(body.get("messages"), list) or not isinstance(body.get("model"), str):
        return _error(400, "invalid_request_error", "model and messages are required")
    texts = [
        _text_of(body.get("system")),
        *(_text_of(m.get("content")) for m in body["messages"] if isinstance(m, dict)),
    ]
    return Response({"input_tokens": common.tokens(" ".join(texts))})
