"""The mock provider.

``POST /v1/chat/completions`` answers deterministically from the last user message, with a
``usage`` block; streams are real SSE with ``stream_options.include_usage`` honoured. Model names
steer failure cases for tests: ``*fail-429*`` (rate limited, with retry-after), ``*fail-500*``,
``*slow-<ms>*`` (delay before answering), ``*chunk-<n>*`` (stream in n-character pieces). ``GET /_mock/requests`` returns the bodies received
(newest last), so tests can check what the upstream saw.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, get, post
from litestar.response import Stream

MODELS = ("mock-gpt-4o-mini", "mock-gpt-4o")
_received: deque[dict[str, Any]] = deque(maxlen=200)
_SLOW = re.compile(r"slow-(\d+)")
_CHUNK = re.compile(r"chunk-(\d+)")


def _tokens(text: str) -> int:
    return max(1, len(text.split()))


def _prompt_text(body: dict[str, Any]) -> str:
    parts: list[str] = []
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(p.get("text", "") for p in content if isinstance(p, dict))
    return " ".join(parts)


def _answer(body: dict[str, Any]) -> str:
    last = ""
    for message in body.get("messages") or []:
        if isinstance(message, dict) and message.get("role") == "user" and isinstance(message.get("content"), str):
            last = message["content"]
    return f"Mock reply: {last[:200]}" if last else "Mock reply."


async def _failure(model: str) -> Response[Any] | None:
    if "fail-429" in model:
        return Response({"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit"}},
                        status_code=429, headers={"retry-after": "7"})  # fmt: skip
    if "fail-500" in model:
        return Response({"error": {"message": "upstream exploded", "type": "server_error"}}, status_code=500)
    slow = _SLOW.search(model)
    if slow:
        await asyncio.sleep(int(slow.group(1)) / 1000)
    return None


@post("/v1/chat/completions", status_code=200)
async def chat(request: Request[Any, Any, Any]) -> Response[Any] | Stream:
    """OpenAI chat completions."""
    body = msgspec.json.decode(await request.body())
    _received.append({"path": "/v1/chat/completions", "body": body, "auth": request.headers.get("authorization", "")})
    model = str(body.get("model", ""))
    failure = await _failure(model)
    if failure is not None:
        return failure
    text = _answer(body)
    prompt = _tokens(_prompt_text(body))
    completion = _tokens(text)
    created = int(time.time())
    cid = f"chatcmpl-mock{created}"
    usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    if not body.get("stream"):
        return Response({
            "id": cid, "object": "chat.completion", "created": created, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": usage,
        })  # fmt: skip
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    chunked = _CHUNK.search(model)
    chunk_chars = int(chunked.group(1)) if chunked else None

    async def frames() -> AsyncIterator[bytes]:
        base = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model}
        first = {
            **base,
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
        }
        yield _sse(first)
        pieces = [text[i : i + chunk_chars] for i in range(0, len(text), chunk_chars)] if chunk_chars else \
            re.findall(r"\S+\s*", text)  # fmt: skip
        for piece in pieces:
            yield _sse({**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
        yield _sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if include_usage:
            yield _sse({**base, "choices": [], "usage": usage})
        yield b"data: [DONE]\n\n"

    return Stream(frames(), media_type="text/event-stream")


def _sse(obj: dict[str, Any]) -> bytes:
    return b"data: " + msgspec.json.encode(obj) + b"\n\n"


@get("/v1/models")
async def models() -> dict[str, Any]:
    """OpenAI model list."""
    return {
        "object": "list",
        "data": [{"id": m, "object": "model", "created": 0, "owned_by": "mock"} for m in MODELS],
    }


@get("/_mock/requests")
async def received() -> list[dict[str, Any]]:
    """Bodies received so far."""
    return list(_received)


@post("/_mock/reset", status_code=204)
async def reset() -> None:
    """Forget received bodies."""
    _received.clear()


def create_app() -> Litestar:
    """The mock provider app."""
    return Litestar(route_handlers=[chat, models, received, reset], openapi_config=None)
