"""OpenAI and OpenAI-compatible upstreams (vLLM, Ollama, hosted compatibles, the mock).

``base_url`` includes the version (``https://api.openai.com/v1``); requests go to
``{base_url}/chat/completions`` and ``{base_url}/embeddings``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import msgspec

from libs.contracts.messages import Resolved
from libs.svc.egress_http import Response
from services.edge.upstream.base import (
    HttpAdapter,
    JsonResult,
    StreamResult,
    Usage,
    decode_json,
    error_message,
    estimate_tokens,
    relay_chunks,
    upstream_error,
    usage_from_openai,
)
from services.edge.upstream.sse import sse_events


def _headers(target: Resolved) -> dict[str, str]:
    return {"authorization": f"Bearer {target.api_key}"} if target.api_key else {}


def _native(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload without the edge's private carry-overs (``_anthropic`` etc.)."""
    return {k: v for k, v in payload.items() if not k.startswith("_")}


class OpenAIAdapter(HttpAdapter):
    """Speaks OpenAI's chat completions and embeddings."""

    def _url(self, target: Resolved, path: str) -> str:
        return target.base_url.rstrip("/") + path

    async def chat(self, target: Resolved, payload: dict[str, Any], prompt_chars: int) -> JsonResult:
        """A complete chat completion; the body is passed on as the upstream sent it."""
        payload = {**_native(payload), "model": target.upstream_model, "stream": False}
        payload.pop("stream_options", None)
        request = self._build(target, self._url(target, "/chat/completions"), payload, _headers(target))
        response = await self._read(request)
        if response.status_code != 200:
            raise upstream_error(response, error_message(response))
        parsed = decode_json(response.content)
        block = parsed.get("usage")
        usage = usage_from_openai(block) if isinstance(block, dict) else None
        if usage is None:
            usage = Usage(prompt_tokens=estimate_tokens(prompt_chars), estimated=True)
        return JsonResult(status=200, body=response.content, usage=usage)

    async def stream(
        self, target: Resolved, payload: dict[str, Any], prompt_chars: int, include_usage: bool
    ) -> StreamResult:
        """A streamed chat completion; usage is always requested upstream for metering and
        passed to the client only if it asked for it."""
        payload = {**_native(payload), "model": target.upstream_model, "stream": True,
                   "stream_options": {"include_usage": True}}  # fmt: skip
        request = self._build(target, self._url(target, "/chat/completions"), payload, _headers(target))
        response = await self._open_stream(request)
        usage = Usage()
        frames = relay_chunks(response, _chunks, usage, prompt_chars, include_usage)
        return StreamResult(frames=frames, usage=usage, response=response)

    async def embed(self, target: Resolved, payload: dict[str, Any], prompt_chars: int) -> JsonResult:
        """Embeddings, passed through (base64 or float, as the client asked)."""
        payload = {**_native(payload), "model": target.upstream_model}
        request = self._build(target, self._url(target, "/embeddings"), payload, _headers(target))
        parsed = await self._post_json(request)
        block = parsed.get("usage")
        if isinstance(block, dict) and block.get("prompt_tokens") is not None:
            usage = Usage(prompt_tokens=int(block.get("prompt_tokens") or 0))
        else:
            usage = Usage(prompt_tokens=estimate_tokens(prompt_chars), estimated=True)
        return JsonResult(status=200, body=msgspec.json.encode(parsed), usage=usage)

    async def count(self, target: Resolved, payload: dict[str, Any], prompt_chars: int) -> tuple[int, bool]:
        """OpenAI has no token-counting endpoint: an estimate (≈4 characters per token), marked so."""
        return estimate_tokens(prompt_chars), True


async def _chunks(response: Response) -> AsyncIterator[dict[str, Any]]:
    """OpenAI's stream as chunk objects, up to ``[DONE]``; unparseable frames are dropped. The body
    is read to its end, so the connection goes back to the pool instead of being closed."""
    done = False
    async for _, data in sse_events(response):
        if done:
            continue
        if data == "[DONE]":
            done = True
            continue
        try:
            chunk = msgspec.json.decode(data)
        except msgspec.DecodeError:
            continue
        if isinstance(chunk, dict):
            yield chunk
