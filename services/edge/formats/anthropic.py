"""The Anthropic Messages API as a client format (``POST /v1/messages``).

A Messages request becomes an OpenAI chat request for the common pipeline (guardrails, limits,
routing, any upstream adapter); the OpenAI-format answer — JSON or chunk stream — becomes an
Anthropic message or Anthropic's event stream again. Anthropic-only fields with no OpenAI
counterpart (``top_k``, ``thinking``, …) ride along under ``_anthropic`` and reach an Anthropic
upstream unchanged; other upstreams ignore them.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from services.edge.formats.common import arguments_json, arguments_object, data_url, text_of
from services.edge.wire.anthropic import CountRequest, MessagesRequest

__all__ = ["CountRequest", "MessagesRequest", "StreamToAnthropic", "error_body", "request_to_openai",
           "response_from_openai"]  # fmt: skip

_PASS_THROUGH = ("top_k", "thinking", "service_tier", "container", "mcp_servers")
FINISH_TO_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use",
                  "function_call": "tool_use", "content_filter": "refusal"}  # fmt: skip
_OPENAI_ERROR_STATUS = {"invalid_request_error": 400, "permission_error": 403, "insufficient_quota": 402,
                        "rate_limit_error": 429}  # fmt: skip
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 402: "billing_error",
               403: "permission_error", 404: "not_found_error", 413: "request_too_large",
               429: "rate_limit_error", 504: "timeout_error", 529: "overloaded_error"}  # fmt: skip


def error_body(status: int, message: str) -> dict[str, Any]:
    """Anthropic's error shape."""
    kind = ERROR_TYPES.get(status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


def _image_part(block: dict[str, Any]) -> dict[str, Any] | None:
    source = block.get("source") or {}
    if source.get("type") == "base64" and isinstance(source.get("data"), str):
        return {"type": "image_url", "image_url": {"url": data_url(str(source.get("media_type")), source["data"])}}
    if source.get("type") == "url" and isinstance(source.get("url"), str):
        return {"type": "image_url", "image_url": {"url": source["url"]}}
    return None


def _user_messages(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A user turn: tool results become ``tool`` messages (first, as OpenAI expects them right
    after the assistant's calls), the rest one user message."""
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block in content:
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            parts.append({"type": "text", "text": block["text"]})
        elif kind == "image":
            part = _image_part(block)
            if part is not None:
                parts.append(part)
        elif kind == "tool_result":
            result = block.get("content")
            text = text_of(result) if not isinstance(result, str) else result
            if block.get("is_error"):
                text = f"[tool error] {text}"
            out.append({"role": "tool", "tool_call_id": str(block.get("tool_use_id") or ""), "content": text})
    if parts:
        out.append({"role": "user", "content": parts})
    return out


def _assistant_message(content: str | list[dict[str, Any]]) -> dict[str, Any]:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    text = [b["text"] for b in content if b.get("type") == "text" and isinstance(b.get("text"), str)]
    calls = [{"id": str(b.get("id") or ""), "type": "function",
              "function": {"name": str(b.get("name") or ""), "arguments": arguments_json(b.get("input"))}}
             for b in content if b.get("type") == "tool_use"]  # fmt: skip
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) if text or not calls else None}
    if calls:
        message["tool_calls"] = calls
    return message


def request_to_openai(raw: dict[str, Any], request: CountRequest) -> dict[str, Any]:
    """A Messages request (``raw``, validated as ``request``) as an OpenAI chat request."""
    messages: list[dict[str, Any]] = []
    if raw.get("system"):
        messages.append({"role": "system", "content": text_of(raw["system"])})
    for message in raw["messages"]:
        if message["role"] == "assistant":
            messages.append(_assistant_message(message["content"]))
        else:
            messages.extend(_user_messages(message["content"]))
    max_tokens = request.max_tokens if isinstance(request, MessagesRequest) else 1
    stream = request.stream if isinstance(request, MessagesRequest) else False
    out: dict[str, Any] = {"model": request.model, "messages": messages, "max_tokens": max_tokens,
                           "stream": stream}  # fmt: skip
    for name in ("temperature", "top_p"):
        if raw.get(name) is not None:
            out[name] = raw[name]
    if isinstance(raw.get("stop_sequences"), list):
        out["stop"] = raw["stop_sequences"]
    tools = [t for t in raw.get("tools") or [] if isinstance(t, dict) and t.get("name")]
    if tools:
        out["tools"] = [{"type": "function", "function": {"name": t["name"], "description": t.get("description", ""),
                                                          "parameters": t.get("input_schema") or {"type": "object"}}}
                        for t in tools]  # fmt: skip
        choice = raw.get("tool_choice")
        if isinstance(choice, dict):
            kind = choice.get("type")
            if kind in ("auto", "none"):
                out["tool_choice"] = kind
            elif kind == "any":
                out["tool_choice"] = "required"
            elif kind == "tool":
                out["tool_choice"] = {"type": "function", "function": {"name": choice.get("name")}}
            if choice.get("disable_parallel_tool_use"):
                out["parallel_tool_calls"] = False
    user = (raw.get("metadata") or {}).get("user_id") if isinstance(raw.get("metadata"), dict) else None
    if isinstance(user, str):
        out["user"] = user
    extra = {name: raw[name] for name in _PASS_THROUGH if name in raw}
    if extra:
        out["_anthropic"] = extra
    return out


def _message_id(chat_id: Any) -> str:
    if isinstance(chat_id, str) and chat_id.startswith("chatcmpl-msg_"):
        return chat_id.removeprefix("chatcmpl-")
    return "msg_" + secrets.token_hex(12)


def _usage(block: Any) -> dict[str, int]:
    """OpenAI usage as Anthropic's (whose ``input_tokens`` exclude cache reads)."""
    block = block if isinstance(block, dict) else {}
    details = block.get("prompt_tokens_details") or {}
    cached = int(details.get("cached_tokens") or 0) if isinstance(details, dict) else 0
    return {"input_tokens": max(0, int(block.get("prompt_tokens") or 0) - cached),
            "output_tokens": int(block.get("completion_tokens") or 0),
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": cached}  # fmt: skip


def response_from_openai(body: dict[str, Any], model: str) -> dict[str, Any]:
    """An OpenAI ``chat.completion`` (first choice) as an Anthropic message."""
    choices = body.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    if isinstance(message.get("content"), str) and message["content"]:
        content.append({"type": "text", "text": message["content"]})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        content.append({"type": "tool_use", "id": _tool_id(call.get("id")), "name": function.get("name"),
                        "input": arguments_object(function.get("arguments"))})  # fmt: skip
    return {
        "id": _message_id(body.get("id")),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": FINISH_TO_STOP.get(str(choice.get("finish_reason")), "end_turn"),
        "stop_sequence": None,
        "usage": _usage(body.get("usage")),
    }


def _tool_id(value: Any) -> str:
    return value if isinstance(value, str) and value else "toolu_" + secrets.token_hex(12)


def _event(kind: str, data: dict[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + msgspec.json.encode({"type": kind, **data}) + b"\n\n"


class StreamToAnthropic:
    """OpenAI chunk frames (after the output guardrails) → Anthropic's event stream.

    Text and each tool call become content blocks in order; ``message_delta`` carries the stop
    reason and the final usage (the usage chunk arrives after the last choice chunk).
    """

    def __init__(self, model: str, prompt_tokens_hint: int = 0) -> None:
        self.model = model
        self.hint = prompt_tokens_hint
        self.block = -1
        self.block_kind = ""
        self.tool_blocks: dict[int, int] = {}
        self.stop_reason = "end_turn"
        self.usage: dict[str, int] | None = None

    def _open(self, kind: str, block: dict[str, Any]) -> list[bytes]:
        out = self._close()
        self.block += 1
        self.block_kind = kind
        out.append(_event("content_block_start", {"index": self.block, "content_block": block}))
        return out

    def _close(self) -> list[bytes]:
        if self.block_kind:
            self.block_kind = ""
            return [_event("content_block_stop", {"index": self.block})]
        return []

    async def translate(self, frames: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """Relay ``frames`` in Anthropic's format."""
        message: dict[str, Any] = {"id": "msg_" + secrets.token_hex(12), "type": "message", "role": "assistant", "model": self.model,
                   "content": [], "stop_reason": None, "stop_sequence": None,
                   "usage": {"input_tokens": self.hint, "output_tokens": 0}}  # fmt: skip
        yield _event("message_start", {"message": message})
        async for frame in frames:
            data = frame[6:].strip() if frame.startswith(b"data: ") else b""
            if data == b"[DONE]":
                break
            try:
                chunk = msgspec.json.decode(data)
            except msgspec.DecodeError:
                continue
            if not isinstance(chunk, dict):
                continue
            if isinstance(chunk.get("error"), dict):
                err = chunk["error"]
                status = _OPENAI_ERROR_STATUS.get(str(err.get("type")), 500)
                for part in self._close():
                    yield part
                yield _event("error", {"error": error_body(status, str(err.get("message")))["error"]})
                return
            if isinstance(chunk.get("usage"), dict):
                self.usage = _usage(chunk["usage"])
            for out in self._choice(chunk):
                yield out
        for part in self._close():
            yield part
        usage = self.usage or {"output_tokens": 0}
        yield _event("message_delta", {"delta": {"stop_reason": self.stop_reason, "stop_sequence": None},
                                       "usage": usage})  # fmt: skip
        yield _event("message_stop", {})

    def _choice(self, chunk: dict[str, Any]) -> list[bytes]:
        out: list[bytes] = []
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue  # Anthropic has one candidate per message
            delta = choice.get("delta") or {}
            text = delta.get("content")
            if isinstance(text, str) and text:
                if self.block_kind != "text":
                    out += self._open("text", {"type": "text", "text": ""})
                out.append(_event("content_block_delta",
                                  {"index": self.block, "delta": {"type": "text_delta", "text": text}}))  # fmt: skip
            for call in delta.get("tool_calls") or []:
                index = int(call.get("index", 0))
                function = call.get("function") or {}
                if index not in self.tool_blocks:
                    out += self._open("tool_use", {"type": "tool_use", "id": _tool_id(call.get("id")),
                                                   "name": function.get("name") or "", "input": {}})  # fmt: skip
                    self.tool_blocks[index] = self.block
                fragment = function.get("arguments")
                if isinstance(fragment, str) and fragment:
                    out.append(_event("content_block_delta", {"index": self.tool_blocks[index],
                                      "delta": {"type": "input_json_delta", "partial_json": fragment}}))  # fmt: skip
            if choice.get("finish_reason"):
                self.stop_reason = FINISH_TO_STOP.get(str(choice["finish_reason"]), "end_turn")
        return out
