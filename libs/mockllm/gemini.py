"""Google Gemini dialect (``v1beta``): generateContent, streamGenerateContent, embeddings, model list.

Gemini puts the method after a colon in the last path segment (``models/<model>:generateContent``), so
one handler takes the whole segment and splits it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Stream

from libs.mockllm import common

MODELS = ("mock-gemini-flash", "mock-gemini-pro")
EMBEDDING_MODELS = ("mock-gemini-embedding",)

_STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED",
           500: "INTERNAL", 503: "UNAVAILABLE"}  # fmt: skip


def _error(code: int, message: str, details: list[dict[str, Any]] | None = None,
           headers: dict[str, str] | None = None) -> Response[Any]:  # fmt: skip
    error: dict[str, Any] = {"code": code, "message": message, "status": _STATUS[code]}
    if details:
        error["details"] = details
    return Response({"error": error}, status_code=code, headers=headers)


def _key(request: Request[Any, Any, Any]) -> str:
    return request.headers.get("x-goog-api-key") or request.query_params.get("key") or ""


def _unauthenticated() -> Response[Any]:
    return _error(403, "Method doesn't allow unregistered callers (callers without established identity). "
                       "Please use API Key or other form of API consumer identity to call this API.")  # fmt: skip


def _parts_text(parts: Any) -> str:
    if not isinstance(parts, list):
        return ""
    return " ".join(p["text"] for p in parts if isinstance(p, dict) and isinstance(p.get("text"), str))


def _content_text(content: Any) -> str:
    return _parts_text(content.get("parts")) if isinstance(content, dict) else ""


def _first_function(tools: Any) -> str | None:
    for tool in tools if isinstance(tools, list) else []:
        declarations = (tool.get("functionDeclarations") or tool.get("function_declarations")) if isinstance(tool, dict) else None  # fmt: skip
        for declaration in declarations if isinstance(declarations, list) else []:
            if isinstance(declaration, dict) and isinstance(declaration.get("name"), str):
                return str(declaration["name"])
    return None


async def _failure(model: str) -> Response[Any] | None:
    match common.failure(model):
        case "429":
            details = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}]
            headers = {"retry-after": "7"} if "retry" in model else None
            return _error(429, "Resource has been exhausted (e.g. check quota).", details, headers)
        case "500":
            return _error(500, "An internal error has occurred. Please retry or report in "
                               "https://developers.generativeai.google/guide/troubleshooting")  # fmt: skip
        case "529":
            return _error(503, "The model is overloaded. Please try again later.")
        case _:
            await common.maybe_slow(model)
            return None


@post("/v1beta/models/{target:str}", status_code=200)
async def model_method(request: Request[Any, Any, Any], target: FromPath[str]) -> Response[Any] | Stream:
    """``models/<model>:<method>`` for generateContent, streamGenerateContent, embedContent, batchEmbedContents."""
    body = common.decode(await request.body())
    key = _key(request)
    common.record(request.url.path, body, key)
    if not key:
        return _unauthenticated()
    model, _, method = target.partition(":")
    if method not in ("generateContent", "streamGenerateContent", "embedContent", "batchEmbedContents", "countTokens"):
        return _error(404, f"Method not found: {method or target}.")
    if body is None:
        return _error(400, "Invalid JSON payload received.")
    failure = await _failure(model)
    if failure is not None:
        return failure
    if method == "countTokens":
        inner = body.get("generateContentRequest")
        counted: dict[str, Any] = inner if isinstance(inner, dict) else body
        texts = [_content_text(c) for c in counted.get("contents") or []]
        texts.append(_content_text(counted.get("systemInstruction")))
        return Response({"totalTokens": common.tokens(" ".join(texts))})
    if method == "embedContent":
        return _embed_one(body)
    if method == "batchEmbedContents":
        return _embed_batch(body)
    return _generate(
        body, model, stream=method == "streamGenerateContent", sse=request.query_params.get("alt") == "sse"
    )


def _values(request: Any) -> list[float] | None:
    if not isinstance(request, dict) or not isinstance(request.get("content"), dict):
        return None
    dims = request.get("outputDimensionality") or request.get("output_dimensionality")
    return common.embedding(_content_text(request["content"]), dims if isinstance(dims, int) and dims > 0 else common.DEFAULT_DIMS)  # fmt: skip


def _embed_one(body: dict[str, Any]) -> Response[Any]:
    values = _values(body)
    if values is None:
        return _error(400, "* EmbedContentRequest.content: content is required")
    return Response({"embedding": {"values": values}})


def _embed_batch(body: dict[str, Any]) -> Response[Any]:
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        return _error(400, "* BatchEmbedContentsRequest.requests: at least one request is required")
    vectors = [_values(r) for r in requests]
    if any(v is None for v in vectors):
        return _error(400, "* BatchEmbedContentsRequest.requests[].content: content is required")
    return Response({"embeddings": [{"values": v} for v in vectors]})


def _generate(body: dict[str, Any], model: str, *, stream: bool, sse: bool) -> Response[Any] | Stream:
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents or not all(isinstance(c, dict) for c in contents):
        return _error(400, "* GenerateContentRequest.contents: contents is not specified")
    users = [c for c in contents if c.get("role", "user") == "user"]
    last = _content_text(users[-1]) if users else ""
    last_is_user = contents[-1].get("role", "user") == "user"
    tools = body.get("tools")
    function = _first_function(tools) if common.wants_tool(tools, last, last_is_user) else None
    system = _content_text(body.get("systemInstruction") or body.get("system_instruction"))
    prompt = common.tokens(" ".join([system, *(_content_text(c) for c in contents)]))
    text = common.reply_text(last)
    args = common.tool_query(last)
    completion = common.tokens(msgspec.json.encode(args).decode() if function else text)
    usage: dict[str, Any] = {"promptTokenCount": prompt, "candidatesTokenCount": completion,
                             "totalTokenCount": prompt + completion}  # fmt: skip
    if "cached" in model:
        usage["cachedContentTokenCount"] = common.CACHED_TOKENS
    usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt}]
    response_id = f"mock{time.time_ns()}"

    def answer(parts: list[dict[str, Any]], last_piece: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
        out: dict[str, Any] = {"candidates": [candidate]}
        if last_piece:
            candidate["finishReason"] = "STOP"
            out["usageMetadata"] = usage
        return {**out, "modelVersion": model, "responseId": response_id}

    if function is not None:
        responses = [answer([{"functionCall": {"name": function, "args": args}}], True)]
    elif stream:
        split = common.pieces(text, model)
        responses = [answer([{"text": piece}], i == len(split) - 1) for i, piece in enumerate(split)]
    else:
        responses = [answer([{"text": text}], True)]
    if not stream:
        return Response(responses[0])
    if not sse:  # without alt=sse Gemini streams one JSON array
        return Response(responses)

    async def frames() -> AsyncIterator[bytes]:
        for response in responses:
            yield common.sse(response, newline=b"\r\n")

    return Stream(frames(), media_type="text/event-stream")


def _entry(name: str) -> dict[str, Any]:
    embedding = name in EMBEDDING_MODELS
    return {
        "name": f"models/{name}", "version": "001", "displayName": name.replace("-", " ").title(),
        "description": "Bastion mock model", "inputTokenLimit": 2048 if embedding else 1048576,
        "outputTokenLimit": 1 if embedding else 8192,
        "supportedGenerationMethods": ["embedContent"] if embedding else ["generateContent"],
    }  # fmt: skip


@get("/v1beta/models")
async def list_models(request: Request[Any, Any, Any]) -> Response[Any]:
    """Gemini model list."""
    if not _key(request):
        return _unauthenticated()
    return Response({"models": [_entry(m) for m in (*MODELS, *EMBEDDING_MODELS)]})


@get("/v1beta/models/{target:str}")
async def get_model(request: Request[Any, Any, Any], target: FromPath[str]) -> Response[Any]:
    """One Gemini model (any name is served)."""
    if not _key(request):
        return _unauthenticated()
    return Response(_entry(target))
