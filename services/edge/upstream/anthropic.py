"""Anthropic's Messages API as an upstream.

``base_url`` includes the version (``https://api.anthropic.com/v1``); chat goes to
``{base_url}/messages`` with ``x-api-key`` and ``anthropic-version``. The OpenAI-format request is
translated on the way in (system prompt, image parts, tool calls and tool results, stop
sequences, tool choice) and the answer — JSON or the event stream — back into OpenAI's format.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from libs.contracts.messages import Resolved
from libs.svc.egress_http import Request, Response
from libs.svc.logs import scrub
from services.edge.errors import ApiError
from services.edge.errors import body as error_body
from services.edge.formats.common import (
    add_turn,
    arguments_json,
    arguments_object,
    image_url,
    max_tokens,
    parse_data_url,
    stop_list,
    text_of,
)
from services.edge.upstream.base import (
    HttpAdapter,
    JsonResult,
    StreamResult,
    Usage,
    relay_chunks,
)
from services.edge.upstream.sse import sse_events

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
"""Anthropic requires ``max_tokens``; OpenAI-format requests often leave it out."""

_COUNTED = frozenset({"model", "messages", "system", "tools", "tool_choice", "thinking"})
"""What ``/messages/count_tokens`` accepts of a Messages request."""

STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "pause_turn": "stop",
}


def _image_block(part: dict[str, Any]) -> dict[str, Any] | None:
    url = image_url(part)
    if url is None:
        return None
    parsed = parse_data_url(url)
    if parsed is not None:
        return {"type": "image", "source": {"type": "base64", "media_type": parsed[0], "data": parsed[1]}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _blocks(content: Any) -> list[dict[str, Any]]:
    """OpenAI content (string or parts) as Anthropic content blocks."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content or []:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text" and isinstance(part.get("text"), str):
            blocks.append({"type": "text", "text": part["text"]})
        elif part.get("type") == "image_url":
            block = _image_block(part)
            if block is not None:
                blocks.append(block)
    return blocks


def to_anthropic(payload: dict[str, Any], model: str) -> dict[str, Any]:
    """An OpenAI chat request as an Anthropic Messages request."""
    system: list[str] = []
    messages: list[dict[str, Any]] = []

    def add(role: str, blocks: list[dict[str, Any]]) -> None:
        add_turn(messages, role, blocks, "content")

    for message in payload.get("messages") or []:
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            system.append(text_of(content))
        elif role == "assistant":
            blocks = _blocks(content)
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                blocks.append({"type": "tool_use", "id": call.get("id") or "", "name": function.get("name") or "",
                               "input": arguments_object(function.get("arguments"))})  # fmt: skip
            add("assistant", blocks)
        elif role == "tool":
            add("user", [{"type": "tool_result", "tool_use_id": message.get("tool_call_id") or "",
                          "content": text_of(content)}])  # fmt: skip
        else:
            add("user", _blocks(content))

    out: dict[str, Any] = {"model": model, "messages": messages, "max_tokens": max_tokens(payload, DEFAULT_MAX_TOKENS)}
    if system:
        out["system"] = "\n\n".join(s for s in system if s)
    for name in ("temperature", "top_p"):
        if payload.get(name) is not None:
            out[name] = payload[name]
    stops = stop_list(payload.get("stop"))
    if stops:
        out["stop_sequences"] = stops
    tools = [
        t["function"] for t in payload.get("tools") or [] if isinstance(t, dict) and isinstance(t.get("function"), dict)
    ]
    if tools:
        out["tools"] = [{"name": f.get("name"), "description": f.get("description") or "",
                         "input_schema": f.get("parameters") or {"type": "object", "properties": {}}}
                        for f in tools]  # fmt: skip
        choice = _tool_choice(payload.get("tool_choice"), payload.get("parallel_tool_calls"))
        if choice is not None:
            out["tool_choice"] = choice
    if isinstance(payload.get("user"), str):
        out["metadata"] = {"user_id": payload["user"]}
    extra = payload.get("_anthropic")
    if isinstance(extra, dict):  # Anthropic-only fields a /v1/messages client sent (top_k, thinking, …)
        out.update(extra)
    return out


def _tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    out: dict[str, Any] | None = None
    if choice == "auto":
        out = {"type": "auto"}
    elif choice == "required":
        out = {"type": "any"}
    elif choice == "none":
        out = {"type": "none"}
    elif isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        out = {"type": "tool", "name": choice["function"].get("name")}
    if parallel is False:
        out = {**(out or {"type": "auto"}), "disable_parallel_tool_use": True}
    return out


def usage_of(block: Any) -> Usage:
    """Anthropic's usage block; its ``input_tokens`` exclude cache reads and writes, OpenAI's
    ``prompt_tokens`` include them."""
    if not isinstance(block, dict):
        return Usage()
    read = int(block.get("cache_read_input_tokens") or 0)
    written = int(block.get("cache_creation_input_tokens") or 0)
    return Usage(
        prompt_tokens=int(block.get("input_tokens") or 0) + read + written,
        completion_tokens=int(block.get("output_tokens") or 0),
        cached_tokens=read,
    )


def from_anthropic(body: dict[str, Any], model: str) -> tuple[dict[str, Any], Usage]:
    """An Anthropic message as an OpenAI ``chat.completion``."""
    text: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in body.get("content") or []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            text.append(str(block.get("text") or ""))
        elif block.get("type") == "tool_use":
            calls.append({"id": block.get("id"), "type": "function",
                          "function": {"name": block.get("name"), "arguments": arguments_json(block.get("input"))}})  # fmt: skip
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) if text or not calls else None}
    if calls:
        message["tool_calls"] = calls
    usage = usage_of(body.get("usage"))
    return {
        "id": _chat_id(body.get("id")),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": STOP_REASONS.get(str(body.get("stop_reason")), "stop"),
            }
        ],
        "usage": usage.openai(),
    }, usage


def _chat_id(upstream: Any) -> str:
    return f"chatcmpl-{upstream}" if isinstance(upstream, str) and upstream else "chatcmpl-anthropic"


class AnthropicAdapter(HttpAdapter):
    """Speaks ``POST {base_url}/messages``."""

    def _headers(self, target: Resolved) -> dict[str, str]:
        headers = {"anthropic-version": API_VERSION}
        if target.api_key:
            headers["x-api-key"] = target.api_key
        return headers

    def _request(self, target: Resolved, body: dict[str, Any]) -> Request:
        return self._build(target, target.base_url.rstrip("/") + "/messages", body, self._headers(target))

    async def chat(self, target: Resolved, payload: dict[str, Any], prompt_chars: int) -> JsonResult:
        """A complete answer, translated to OpenAI's format."""
        body = to_anthropic(payload, target.upstream_model)
        parsed = await self._post_json(self._request(target, body))
        if parsed.get("type") != "message":
            raise ApiError(502, "The upstream provider sent an invalid response.", code="upstream_error")
        completion, usage = from_anthropic(parsed, str(payload.get("model") or target.upstream_model))
        return JsonResult(status=200, body=msgspec.json.encode(completion), usage=usage)

    async def stream(
        self, target: Resolved, payload: dict[str, Any], prompt_chars: int, include_usage: bool
    ) -> StreamResult:
        """Anthropic's event stream as OpenAI chunks."""
        body = {**to_anthropic(payload, target.upstream_model), "stream": True}
        response = await self._open_stream(self._request(target, body))
        usage = Usage()
        model = str(payload.get("model") or target.upstream_model)
        chunks = _StreamToOpenAI(model)
        frames = relay_chunks(response, chunks, usage, prompt_chars, include_usage)
        return StreamResult(frames=frames, usage=usage, response=response)

    async def count(self, target: Resolved, payload: dict[str, Any], prompt_chars: int) -> tuple[int, bool]:
        """``POST {base_url}/messages/count_tokens`` with the fields it takes."""
        body = {k: v for k, v in to_anthropic(payload, target.upstream_model).items() if k in _COUNTED}
        url = target.base_url.rstrip("/") + "/messages/count_tokens"
        parsed = await self._post_json(self._build(target, url, body, self._headers(target)))
        if not isinstance(parsed.get("input_tokens"), int):
            raise ApiError(502, "The upstream provider sent an invalid response.", code="upstream_error")
        return int(parsed["input_tokens"]), False

    async def embed(self, target: Resolved, payload: dict[str, Any], prompt_chars: int) -> JsonResult:
        """Anthropic has no embeddings endpoint."""
        raise ApiError(400, f"The model `{payload.get('model')}` does not support embeddings.",
                       code="unsupported_model", param="model")  # fmt: skip


class _StreamToOpenAI:
    """Anthropic stream events → OpenAI ``chat.completion.chunk`` objects."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.created = int(time.time())
        self.id = "chatcmpl-anthropic"
        self.usage = Usage()
        self.tools: dict[int, int] = {}  # Anthropic block index → OpenAI tool-call index
        self.finished = False

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}  # fmt: skip

    async def __call__(self, response: Response) -> AsyncIterator[dict[str, Any]]:
        async for event, data in sse_events(response):
            try:
                payload = msgspec.json.decode(data)
            except msgspec.DecodeError:
                continue
            if not isinstance(payload, dict):
                continue
            kind = payload.get("type") or event
            if self.finished:
                continue  # read the body to its end: the connection goes back to the pool
            for chunk in self._translate(kind, payload):
                yield chunk
            self.finished = kind in ("message_stop", "error")

    def _translate(self, kind: str, event: dict[str, Any]) -> list[dict[str, Any]]:
        if kind == "message_start":
            message = event.get("message") or {}
            self.id = _chat_id(message.get("id"))
            self.usage = usage_of(message.get("usage"))
            return [self._chunk({"role": "assistant", "content": ""})]
        if kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") == "tool_use":
                index = self.tools.setdefault(int(event.get("index", 0)), len(self.tools))
                return [self._chunk({"tool_calls": [{"index": index, "id": block.get("id"), "type": "function",
                                                     "function": {"name": block.get("name"), "arguments": ""}}]})]  # fmt: skip
            if block.get("type") == "text" and block.get("text"):
                return [self._chunk({"content": block["text"]})]
            return []
        if kind == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta":
                return [self._chunk({"content": str(delta.get("text") or "")})]
            if delta.get("type") == "input_json_delta":
                index = self.tools.get(int(event.get("index", 0)), 0)
                return [self._chunk({"tool_calls": [{"index": index,
                                                     "function": {"arguments": str(delta.get("partial_json") or "")}}]})]  # fmt: skip
            return []
        if kind == "message_delta":
            final = event.get("usage") or {}
            if final.get("input_tokens") is not None:  # newer API versions repeat the full, final counts
                self.usage = usage_of(final)
            elif final.get("output_tokens") is not None:
                self.usage.completion_tokens = int(final["output_tokens"])
            reason = STOP_REASONS.get(str((event.get("delta") or {}).get("stop_reason")), "stop")
            return [self._chunk({}, reason)]
        if kind == "message_stop":
            return [{"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                     "choices": [], "usage": self.usage.openai()}]  # fmt: skip
        if kind == "error":
            err = event.get("error") or {}
            status = 429 if err.get("type") == "rate_limit_error" else 502
            message = (
                "The upstream provider returned an error." if status == 502 else scrub(str(err.get("message"))[:500])
            )
            return [error_body(status, message, "upstream_error")]
        return []
