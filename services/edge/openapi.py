"""An OpenAPI document of the data plane, generated from the wire Structs the edge validates with.

The edge speaks other vendors' APIs, so it serves no document of its own; this one exists for
clients that want to check what the gateway accepts and for the schema-driven security tests
(``tests/security``). Request bodies are exactly ``services/edge/wire``; answers are documented
by their envelope (the fields the gateway itself guarantees), errors by their vendor's shape.
"""

from __future__ import annotations

from typing import Any

import msgspec

from services.edge.wire.anthropic import CountRequest, MessagesRequest
from services.edge.wire.openai import ChatRequest, EmbeddingsRequest

_OPENAI_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "code": {"type": ["string", "null"]},
                "param": {"type": ["string", "null"]},
            },
        }
    },
}
_ANTHROPIC_ERROR = {
    "type": "object",
    "required": ["type", "error"],
    "properties": {
        "type": {"const": "error"},
        "error": {
            "type": "object",
            "required": ["type", "message"],
            "properties": {"type": {"type": "string"}, "message": {"type": "string"}},
        },
    },
}
_COMPLETION = {"type": "object", "required": ["id", "object", "choices"],
               "properties": {"object": {"const": "chat.completion"}, "choices": {"type": "array"}}}  # fmt: skip
_EMBEDDINGS = {"type": "object", "required": ["object", "data"],
               "properties": {"object": {"const": "list"}, "data": {"type": "array"}}}  # fmt: skip
_MESSAGE = {"type": "object", "required": ["id", "type", "content"],
            "properties": {"type": {"const": "message"}, "content": {"type": "array"}}}  # fmt: skip
_COUNT = {"type": "object", "required": ["input_tokens"], "properties": {"input_tokens": {"type": "integer"}}}
_MODELS = {"type": "object", "required": ["object", "data"],
           "properties": {"object": {"const": "list"}, "data": {"type": "array"}}}  # fmt: skip
_SSE: dict[str, Any] = {"text/event-stream": {}}  # frames in the vendor's event format
_BEARER: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}]


def _ok(schema: dict[str, Any], stream: bool = False) -> dict[str, Any]:
    content: dict[str, Any] = {"application/json": {"schema": schema}}
    if stream:
        content.update(_SSE)
    return {"description": "The answer", "content": content}


def _errors(shape: dict[str, Any]) -> dict[str, Any]:
    return {"default": {"description": "An error in the vendor's format",
                        "content": {"application/json": {"schema": shape}}}}  # fmt: skip


def _operation(op_id: str, body: str | None, ok: dict[str, Any], error: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": op_id, "security": _BEARER, "responses": {"200": ok, **_errors(error)}}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}}}  # fmt: skip
    return operation


def document() -> dict[str, Any]:
    """The data plane's OpenAPI 3.1 document."""
    (chat, embeddings, messages, count), components = msgspec.json.schema_components(
        [ChatRequest, EmbeddingsRequest, MessagesRequest, CountRequest], ref_template="#/components/schemas/{name}"
    )
    names = {s["$ref"].rsplit("/", 1)[1] for s in (chat, embeddings, messages, count)}
    assert len(names) == 4
    name = {key: ref["$ref"].rsplit("/", 1)[1] for key, ref in
            (("chat", chat), ("embeddings", embeddings), ("messages", messages), ("count", count))}  # fmt: skip
    return {
        "openapi": "3.1.0",
        "info": {"title": "Bastion data plane (OpenAI and Anthropic formats)", "version": "1.0.0"},
        "paths": {
            "/v1/chat/completions": {
                "post": _operation("createChatCompletion", name["chat"], _ok(_COMPLETION, stream=True), _OPENAI_ERROR)
            },
            "/v1/embeddings": {
                "post": _operation("createEmbedding", name["embeddings"], _ok(_EMBEDDINGS), _OPENAI_ERROR)
            },
            "/v1/messages": {
                "post": _operation("createMessage", name["messages"], _ok(_MESSAGE, stream=True), _ANTHROPIC_ERROR)
            },
            "/v1/messages/count_tokens": {
                "post": _operation("countMessageTokens", name["count"], _ok(_COUNT), _ANTHROPIC_ERROR)
            },
            "/v1/models": {"get": _operation("listModels", None, _ok(_MODELS), _OPENAI_ERROR)},
        },
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            },
        },
    }
