"""OpenAI dialect: ``POST /v1/chat/completions`` (JSON, SSE, tool calls) and ``POST /v1/embeddings``."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from typing import Any

from litestar import Request, Response, post
from litestar.response import Stream

from libs.mockllm import common

MODELS = ("mock-gpt-4o-mini", "mock-gpt-4o")
TOOL_CALL_ID = "call_mock1"


def _error(status: int, message: str, kind: str, code: str | None = None) -> Response[Any]:
    headers = {"retry-after": "7"} if status == 429 else None
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return Response(body, status_code=status, headers=headers)


async def _failure(model: str) -> Response[Any] | None:
    match common.failure(model):
        case "429":
            return _error(429, "Rate limit reached", "requests", "rate_limit")
        case "500":
            return _error(500, "upstream exploded", "server_error")
        case _:
            await common.maybe_slow(model)
            return None


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _prompt_text(body: dict[str, Any]) -> str:
    return " ".join(_text_of(m.get("content")) for m in body.get("messages") or [] if isinstance(m, dict))


def _last_user(body: dict[str, Any]) -> tuple[str, bool]:
    """The last user message's text, and whether the conversation ends with it."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    users = [m for m in messages if m.get("role") == "user"]
    last = _text_of(users[-1].get("content")) if users else ""
    return last, bool(messages) and messages[-1].get("role") == "user"


def _first_tool_name(tools: Any) -> str:
    function = tools[0].get("function") if isinstance(tools[0], dict) else None
    return str(function.get("name", "tool")) if isinstance(function, dict) else "tool"


@post("/v1/chat/completions", status_code=200)
async def chat(request: Request[Any, Any, Any]) -> Response[Any] | Stream:
    """OpenAI chat completions."""
    body = common.decode(await request.body())
    auth = request.headers.get("authorization", "")
    common.record("/v1/chat/completions", body, auth)
    if body is None:
        return _error(400, "We could not parse the JSON body of your request.", "invalid_request_error")
    model = str(body.get("model", ""))
    if "echo-key" in model:  # an upstream that quotes the caller's key back in an error
        return _error(400, f"Invalid API key provided: {auth.removeprefix('Bearer ')}.", "invalid_request_error")
    failure = await _failure(model)
    if failure is not None:
        return failure
    last, last_is_user = _last_user(body)
    tools = body.get("tools")
    tool = common.wants_tool(tools, last, last_is_user)
    tool_name = _first_tool_name(tools) if tool else ""
    arguments = common.tool_arguments(last) if tool else ""
    text = "" if tool else common.repeated(common.reply_text(last), model)
    prompt = common.tokens(_prompt_text(body))
    completion = common.tokens(arguments or text)
    created = int(time.time())
    cid = f"chatcmpl-mock{created}"
    usage: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if "cached" in model:
        usage["prompt_tokens_details"] = {"cached_tokens": common.CACHED_TOKENS}
    finish = "tool_calls" if tool else "stop"
    if not body.get("stream"):
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if tool:
            message = {"role": "assistant", "content": None, "tool_calls": [{
                "id": TOOL_CALL_ID, "type": "function", "function": {"name": tool_name, "arguments": arguments}}]}  # fmt: skip
        return Response({
            "id": cid, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": usage,
        })  # fmt: skip
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    base = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model}

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        return common.sse({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]})

    async def frames() -> AsyncIterator[bytes]:
        if tool:
            yield chunk({"role": "assistant", "content": None, "tool_calls": [{
                "index": 0, "id": TOOL_CALL_ID, "type": "function", "function": {"name": tool_name, "arguments": ""}}]})  # fmt: skip
            for fragment in common.fragments(arguments):
                yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]})
        else:
            yield chunk({"role": "assistant", "content": ""})
            for piece in common.pieces(text, model):
                await common.drip(model)
                yield chunk({"content": piece})
        yield chunk({}, finish)
        if include_usage:
            yield common.sse({**base, "choices": [], "usage": usage})
        yield b"data: [DONE]\n\n"

    return Stream(frames(), media_type="text/event-stream")


def _inputs(value: Any) -> list[str] | None:
    """``input`` as texts: a string, a list of strings, a token list, or a list of token lists."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not value:
        return None
    if all(isinstance(v, int) for v in value):
        return [str(value)]
    if all(isinstance(v, str) or (isinstance(v, list) and all(isinstance(t, int) for t in v)) for v in value):
        return [v if isinstance(v, str) else str(v) for v in value]
    return None


@post("/v1/embeddings", status_code=200)
async def embeddings(request: Request[Any, Any, Any]) -> Response[Any]:
    """OpenAI embeddings: deterministic unit vectors, ``float`` or little-endian float32 ``base64``."""
    body = common.decode(await request.body())
    common.record("/v1/embeddings", body, request.headers.get("authorization", ""))
    if body is None:
        return _error(400, "We could not parse the JSON body of your request.", "invalid_request_error")
    model = str(body.get("model", ""))
    failure = await _failure(model)
    if failure is not None:
        return failure
    texts = _inputs(body.get("input"))
    if texts is None:
        return _error(400, "'input' must be a non-empty string or array.", "invalid_request_error")
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        return _error(400, f"Invalid encoding_format: {encoding!r}.", "invalid_request_error")
    dims = body.get("dimensions")
    if isinstance(dims, int) and dims > common.MAX_DIMS:
        return _error(400, f"'dimensions' must be at most {common.MAX_DIMS}.", "invalid_request_error")
    dims = dims if isinstance(dims, int) and dims > 0 else common.DEFAULT_DIMS
    data: list[dict[str, Any]] = []
    for index, text in enumerate(texts):
        vector = common.embedding(text, dims)
        value: Any = base64.b64encode(common.float32_le(vector)).decode() if encoding == "base64" else vector
        data.append({"object": "embedding", "index": index, "embedding": value})
    used = sum(common.tokens(t) for t in texts)
    return Response({"object": "list", "data": data, "model": model,
                     "usage": {"prompt_tokens": used, "total_tokens": used}})  # fmt: skip
