"""OpenAI and OpenAI-compatible upstreams (vLLM, Ollama, hosted compatibles, the mock)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec

from libs.contracts.messages import Resolved
from services.edge.errors import ApiError
from services.edge.errors import body as error_body
from services.edge.upstream.base import (
    JsonResult,
    StreamResult,
    Usage,
    estimate_tokens,
    transport_error,
    upstream_error,
)

_DONE = b"data: [DONE]\n\n"


def _usage(block: Any) -> Usage | None:
    if not isinstance(block, dict):
        return None
    details = block.get("prompt_tokens_details") or {}
    return Usage(
        prompt_tokens=int(block.get("prompt_tokens") or 0),
        completion_tokens=int(block.get("completion_tokens") or 0),
        cached_tokens=int(details.get("cached_tokens") or 0) if isinstance(details, dict) else 0,
    )


def _error_message(response: httpx.Response) -> str | None:
    try:
        err = msgspec.json.decode(response.content).get("error")
        return str(err.get("message"))[:500] if isinstance(err, dict) else None
    except (msgspec.DecodeError, AttributeError):
        return None


class OpenAIAdapter:
    """Speaks ``POST {base_url}/chat/completions``."""

    def __init__(self, client: httpx.AsyncClient, connect_timeout_s: float) -> None:
        self._client = client
        self._connect = connect_timeout_s

    def _request(self, target: Resolved, payload: dict[str, Any]) -> httpx.Request:
        headers = {"content-type": "application/json", "accept": "application/json"}
        if target.api_key:
            headers["authorization"] = f"Bearer {target.api_key}"
        return self._client.build_request(
            "POST",
            target.base_url.rstrip("/") + "/chat/completions",
            content=msgspec.json.encode(payload),
            headers=headers,
            timeout=httpx.Timeout(target.timeout_s, connect=self._connect),
        )

    async def _send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        """Send once more if a pooled connection turned out closed before any response came:
        the upstream did not see the request (the same rule the official SDKs retry by)."""
        try:
            return await self._client.send(request, stream=stream)
        except httpx.RemoteProtocolError as exc:
            if "without sending" not in str(exc):
                raise transport_error(exc) from None
        except httpx.HTTPError as exc:
            raise transport_error(exc) from None
        try:
            return await self._client.send(request, stream=stream)
        except httpx.HTTPError as exc:
            raise transport_error(exc) from None

    async def chat(self, target: Resolved, payload: dict[str, Any], prompt_chars: int) -> JsonResult:
        """A complete chat completion."""
        payload = {**payload, "model": target.upstream_model, "stream": False}
        payload.pop("stream_options", None)
        response = await self._send(self._request(target, payload))
        if response.status_code != 200:
            raise upstream_error(response, _error_message(response))
        try:
            parsed = msgspec.json.decode(response.content)
        except msgspec.DecodeError:
            raise ApiError(502, "The upstream provider sent an invalid response.", code="upstream_error") from None
        usage = _usage(parsed.get("usage") if isinstance(parsed, dict) else None)
        if usage is None:
            usage = Usage(prompt_tokens=estimate_tokens(prompt_chars), estimated=True)
        return JsonResult(status=200, body=response.content, usage=usage)

    async def stream(
        self, target: Resolved, payload: dict[str, Any], prompt_chars: int, include_usage: bool
    ) -> StreamResult:
        """A streamed chat completion; usage is always requested upstream for metering and
        passed to the client only if it asked for it."""
        payload = {**payload, "model": target.upstream_model, "stream": True,
                   "stream_options": {"include_usage": True}}  # fmt: skip
        response = await self._send(self._request(target, payload), stream=True)
        if response.status_code != 200:
            await response.aread()
            await response.aclose()
            raise upstream_error(response, _error_message(response))
        usage = Usage()
        return StreamResult(frames=self._frames(response, usage, prompt_chars, include_usage), usage=usage)

    async def _frames(
        self, response: httpx.Response, usage_out: Usage, prompt_chars: int, include_usage: bool
    ) -> AsyncIterator[bytes]:
        completion_chars = 0
        got_usage = False
        try:
            async for line in response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                try:
                    chunk = msgspec.json.decode(data)
                except msgspec.DecodeError:
                    continue
                usage = _usage(chunk.get("usage")) if isinstance(chunk, dict) else None
                if usage is not None:
                    vars(usage_out).update(vars(usage))
                    got_usage = True
                    if not include_usage:
                        if not chunk.get("choices"):
                            continue
                        chunk.pop("usage", None)
                        data = msgspec.json.encode(chunk).decode()
                completion_chars += _delta_chars(chunk)
                yield b"data: " + data.encode() + b"\n\n"
            yield _DONE
        except httpx.HTTPError as exc:
            err = transport_error(exc)
            yield b"data: " + msgspec.json.encode(error_body(err.status, err.message, err.code)) + b"\n\n"
        finally:
            await response.aclose()
            if not got_usage:
                usage_out.prompt_tokens = estimate_tokens(prompt_chars)
                usage_out.completion_tokens = estimate_tokens(completion_chars) if completion_chars else 0
                usage_out.estimated = True


def _delta_chars(chunk: Any) -> int:
    if not isinstance(chunk, dict):
        return 0
    total = 0
    for choice in chunk.get("choices") or []:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if isinstance(delta, dict) and isinstance(delta.get("content"), str):
            total += len(delta["content"])
    return total
