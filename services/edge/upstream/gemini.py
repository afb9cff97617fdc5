"""Google Gemini (Generative Language API) as an upstream.

``base_url`` includes the version (``https://generativelanguage.googleapis.com/v1beta``); chat
goes to ``{base_url}/models/{model}:generateContent`` (``:streamGenerateContent?alt=sse`` when
streaming) with ``x-goog-api-key``, embeddings to ``:batchEmbedContents``. OpenAI-format
requests are translated on the way in (system instruction, image parts, function calls and
responses, generation config, tool config) and answers back into OpenAI's format.
"""

from __future__ import annotations

import base64
import struct
import time
import urllib.parse
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from libs.contracts.messages import Resolved
from libs.svc.egress_http import Response
from services.edge.errors import ApiError
from services.edge.errors import body as error_body
from services.edge.formats.common import (
    add_turn,
    arguments_json,
    arguments_object,
    call_id,
    image_url,
    parse_data_url,
    stop_list,
    text_of,
)
from services.edge.upstream.base import (
    HttpAdapter,
    JsonResult,
    StreamResult,
    Usage,
    estimate_tokens,
    relay_chunks,
)
from services.edge.upstream.sse import sse_events

FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "MALFORMED_FUNCTION_CALL": "stop",
}
_SCHEMA_DROP = frozenset({"$schema", "additionalProperties", "$id", "$defs", "definitions", "strict"})


def _schema(value: Any) -> Any:
    """A JSON schema without the keywords Gemini's function declarations reject."""
    if isinstance(value, dict):
        return {k: _schema(v) for k, v in value.items() if k not in _SCHEMA_DROP}
    if isinstance(value, list):
        return [_schema(v) for v in value]
    return value


def _parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[dict[str, Any]] = []
    for part in content or []:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text" and isinstance(part.get("text"), str):
            parts.append({"text": part["text"]})
        elif part.get("type") == "image_url":
            url = image_url(part)
            if url is None:
                continue
            parsed = parse_data_url(url)
            if parsed is not None:
                parts.append({"inlineData": {"mimeType": parsed[0], "data": parsed[1]}})
            else:
                parts.append({"fileData": {"fileUri": url}})
    return parts


def to_gemini(payload: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI chat request as a Gemini ``GenerateContentRequest``."""
    system: list[str] = []
    contents: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # tool_call_id → function name (Gemini answers by name)

    def add(role: str, parts: list[dict[str, Any]]) -> None:
        add_turn(contents, role, parts, "parts")

    for message in payload.get("messages") or []:
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            system.append(text_of(content))
        elif role == "assistant":
            parts = _parts(content)
            for call in message.get("tool_calls") or []:
                function = call.get("function") or {}
                names[str(call.get("id"))] = str(function.get("name") or "")
                parts.append({"functionCall": {"name": function.get("name") or "",
                                               "args": arguments_object(function.get("arguments"))}})  # fmt: skip
            add("model", parts)
        elif role == "tool":
            text = text_of(content)
            result = arguments_object(text) if text.lstrip().startswith("{") else {}
            response = result or {"content": text}
            name = names.get(str(message.get("tool_call_id")), str(message.get("name") or "tool"))
            add("user", [{"functionResponse": {"name": name, "response": response}}])
        else:
            add("user", _parts(content))

    out: dict[str, Any] = {"contents": contents}
    if any(system):
        out["systemInstruction"] = {"parts": [{"text": "\n\n".join(s for s in system if s)}]}
    config = _generation_config(payload)
    if config:
        out["generationConfig"] = config
    tools = [
        t["function"] for t in payload.get("tools") or [] if isinstance(t, dict) and isinstance(t.get("function"), dict)
    ]
    if tools:
        declarations = []
        for f in tools:
            declaration = {"name": f.get("name"), "description": f.get("description") or ""}
            if f.get("parameters"):
                declaration["parameters"] = _schema(f["parameters"])
            declarations.append(declaration)
        out["tools"] = [{"functionDeclarations": declarations}]
        mode = _tool_mode(payload.get("tool_choice"))
        if mode is not None:
            out["toolConfig"] = {"functionCallingConfig": mode}
    return out


def _generation_config(payload: dict[str, Any]) -> dict[str, Any]:
    """OpenAI's sampling and output options as Gemini's ``generationConfig``."""
    config: dict[str, Any] = {}
    for ours, theirs in (("temperature", "temperature"), ("top_p", "topP"), ("n", "candidateCount"),
                         ("seed", "seed"), ("presence_penalty", "presencePenalty"),
                         ("frequency_penalty", "frequencyPenalty")):  # fmt: skip
        if payload.get(ours) is not None:
            config[theirs] = payload[ours]
    limit = payload.get("max_completion_tokens") or payload.get("max_tokens")
    if isinstance(limit, int):
        config["maxOutputTokens"] = limit
    stops = stop_list(payload.get("stop"))
    if stops:
        config["stopSequences"] = stops
    response_format = payload.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") in ("json_object", "json_schema"):
        config["responseMimeType"] = "application/json"
        schema = (response_format.get("json_schema") or {}).get("schema")
        if isinstance(schema, dict):
            config["responseSchema"] = _schema(schema)
    return config


def _tool_mode(choice: Any) -> dict[str, Any] | None:
    if choice == "auto":
        return {"mode": "AUTO"}
    if choice == "required":
        return {"mode": "ANY"}
    if choice == "none":
        return {"mode": "NONE"}
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        return {"mode": "ANY", "allowedFunctionNames": [choice["function"].get("name")]}
    return None


def usage_of(block: Any) -> Usage | None:
    """Gemini's ``usageMetadata`` (thinking tokens count as output)."""
    if not isinstance(block, dict) or block.get("promptTokenCount") is None:
        return None
    return Usage(
        prompt_tokens=int(block.get("promptTokenCount") or 0),
        completion_tokens=int(block.get("candidatesTokenCount") or 0) + int(block.get("thoughtsTokenCount") or 0),
        cached_tokens=int(block.get("cachedContentTokenCount") or 0),
    )


def _candidate_delta(candidate: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    text: list[str] = []
    calls: list[dict[str, Any]] = []
    for part in (candidate.get("content") or {}).get("parts") or []:
        if not isinstance(part, dict) or part.get("thought"):
            continue
        if isinstance(part.get("text"), str):
            text.append(part["text"])
        elif isinstance(part.get("functionCall"), dict):
            fc = part["functionCall"]
            calls.append({"id": call_id(), "type": "function",
                          "function": {"name": fc.get("name"), "arguments": arguments_json(fc.get("args"))}})  # fmt: skip
    return "".join(text), calls


def _finish(candidate: dict[str, Any], has_calls: bool) -> str | None:
    reason = candidate.get("finishReason")
    if reason is None:
        return None
    if has_calls and reason == "STOP":
        return "tool_calls"
    return FINISH_REASONS.get(str(reason), "stop")


def _blocked(body: dict[str, Any]) -> None:
    """A prompt Gemini refused outright comes back with no candidates and a block reason."""
    if not body.get("candidates") and (body.get("promptFeedback") or {}).get("blockReason"):
        raise ApiError(400, "The upstream provider refused the prompt (safety filter).",
                       code="content_policy_violation")  # fmt: skip


def from_gemini(body: dict[str, Any], model: str) -> tuple[dict[str, Any], Usage | None]:
    """A ``GenerateContentResponse`` as an OpenAI ``chat.completion``."""
    _blocked(body)
    choices = []
    for position, candidate in enumerate(body.get("candidates") or []):
        text, calls = _candidate_delta(candidate)
        message: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None}
        if calls:
            message["tool_calls"] = calls
        choices.append({"index": int(candidate.get("index", position)), "message": message, "logprobs": None,
                        "finish_reason": _finish(candidate, bool(calls)) or "stop"})  # fmt: skip
    usage = usage_of(body.get("usageMetadata"))
    completion: dict[str, Any] = {
        "id": f"chatcmpl-{body.get('responseId') or call_id('')}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
    }
    if usage is not None:
        completion["usage"] = usage.openai()
    return completion, usage


class GeminiAdapter(HttpAdapter):
    """Speaks ``{base_url}/models/{model}:generateContent`` and friends."""

    def _url(self, target: Resolved, method: str) -> str:
        # the model name can come from a client (a catch-all route): one path segment, escaped, so
        # `../`, `?`, `#` or `@` in it cannot move the request elsewhere
        model = urllib.parse.quote(target.upstream_model.removeprefix("models/"), safe="")
        return f"{target.base_url.rstrip('/')}/models/{model}:{method}"

    def _headers(self, target: Resolved) -> dict[str, str]:
        return {"x-goog-api-key": target.api_key} if target.api_key else {}

    async def chat(self, target: Resolved, payload: dict[str, Any], prompt_chars: int) -> JsonResult:
        """A complete answer, translated to OpenAI's format."""
        request = self._build(target, self._url(target, "generateContent"), to_gemini(payload), self._headers(target))
        parsed = await self._post_json(request)
        completion, usage = from_gemini(parsed, str(payload.get("model") or target.upstream_model))
        if usage is None:
            usage = Usage(prompt_tokens=estimate_tokens(prompt_chars), estimated=True)
        return JsonResult(status=200, body=msgspec.json.encode(completion), usage=usage)

    async def stream(
        self, target: Resolved, payload: dict[str, Any], prompt_chars: int, include_usage: bool
    ) -> StreamResult:
        """Gemini's SSE stream as OpenAI chunks."""
        url = self._url(target, "streamGenerateContent") + "?alt=sse"
        response = await self._open_stream(self._build(target, url, to_gemini(payload), self._headers(target)))
        usage = Usage()
        chunks = _StreamToOpenAI(str(payload.get("model") or target.upstream_model))
        frames = relay_chunks(response, chunks, usage, prompt_chars, include_usage)
        return StreamResult(frames=frames, usage=usage, response=response)

    async def count(self, target: Resolved, payload: dict[str, Any], prompt_chars: int) -> tuple[int, bool]:
        """``:countTokens`` over the whole request (system instruction and tools included)."""
        model = "models/" + target.upstream_model.removeprefix("models/")
        body = {"generateContentRequest": {"model": model, **to_gemini(payload)}}
        url = self._url(target, "countTokens")
        parsed = await self._post_json(self._build(target, url, body, self._headers(target)))
        if not isinstance(parsed.get("totalTokens"), int):
            raise ApiError(502, "The upstream provider sent an invalid response.", code="upstream_error")
        return int(parsed["totalTokens"]), False

    async def embed(self, target: Resolved, payload: dict[str, Any], prompt_chars: int) -> JsonResult:
        """OpenAI embeddings through ``:batchEmbedContents``."""
        inputs = payload.get("input")
        texts = [inputs] if isinstance(inputs, str) else inputs
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise ApiError(400, "This model takes text input only.", code="invalid_request_error", param="input")
        model = "models/" + target.upstream_model.removeprefix("models/")
        requests = []
        for text in texts:
            item: dict[str, Any] = {"model": model, "content": {"parts": [{"text": text}]}}
            if isinstance(payload.get("dimensions"), int):
                item["outputDimensionality"] = payload["dimensions"]
            requests.append(item)
        url = self._url(target, "batchEmbedContents")
        parsed = await self._post_json(self._build(target, url, {"requests": requests}, self._headers(target)))
        vectors = [e.get("values") or [] for e in parsed.get("embeddings") or [] if isinstance(e, dict)]
        if len(vectors) != len(texts):
            raise ApiError(502, "The upstream provider sent an invalid response.", code="upstream_error")
        as_base64 = payload.get("encoding_format") == "base64"
        tokens = estimate_tokens(prompt_chars)
        body = {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": _encode(v, as_base64)} for i, v in enumerate(vectors)
            ],
            "model": str(payload.get("model") or target.upstream_model),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return JsonResult(status=200, body=msgspec.json.encode(body), usage=Usage(prompt_tokens=tokens, estimated=True))


def _encode(vector: list[float], as_base64: bool) -> list[float] | str:
    """OpenAI's ``encoding_format``: floats, or little-endian float32 in base64."""
    if not as_base64:
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


class _StreamToOpenAI:
    """Gemini stream responses → OpenAI ``chat.completion.chunk`` objects."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.created = int(time.time())
        self.id = "chatcmpl-gemini"
        self.started = False
        self.tool_index = 0

    def _chunk(self, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": choices}  # fmt: skip

    async def __call__(self, response: Response) -> AsyncIterator[dict[str, Any]]:
        usage: Usage | None = None
        async for _, data in sse_events(response):
            try:
                body = msgspec.json.decode(data)
            except msgspec.DecodeError:
                continue
            if not isinstance(body, dict):
                continue
            if isinstance(body.get("error"), dict):
                status = 429 if body["error"].get("code") == 429 else 502
                yield error_body(status, "The upstream provider returned an error.", "upstream_error")
                return
            _blocked(body)
            if body.get("responseId"):
                self.id = f"chatcmpl-{body['responseId']}"
            if not self.started:
                self.started = True
                yield self._chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
            usage = usage_of(body.get("usageMetadata")) or usage
            choices = []
            for position, candidate in enumerate(body.get("candidates") or []):
                text, calls = _candidate_delta(candidate)
                delta: dict[str, Any] = {}
                if text:
                    delta["content"] = text
                if calls:
                    delta["tool_calls"] = [{"index": self.tool_index + i, **c} for i, c in enumerate(calls)]
                    self.tool_index += len(calls)
                finish = _finish(candidate, self.tool_index > 0)
                if delta or finish:
                    choices.append({"index": int(candidate.get("index", position)), "delta": delta,
                                    "finish_reason": finish})  # fmt: skip
            if choices:
                yield self._chunk(choices)
        if usage is not None:
            yield {**self._chunk([]), "usage": usage.openai()}
