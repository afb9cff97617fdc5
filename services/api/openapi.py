"""What the OpenAPI document says about errors: every one is RFC 9457 problem details.

Litestar documents its own validation answer as ``application/json`` and nothing else; the API
answers every error (400, 401, 403, 404, 409, 413, 429, 503, …) as ``application/problem+json``.
This makes the document say so — a shared ``Problem`` schema, each documented error status
pointing at it, and a ``default`` response for the statuses an operation may give besides the
documented ones — so generated clients and the schema-driven tests agree with the wire.
"""

from __future__ import annotations

from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Reference,
    Schema,
)

from services.api.problems import PROBLEM_JSON

_PROBLEM = Schema(
    type=OpenAPIType.OBJECT,
    required=["type", "title", "status", "detail"],
    properties={
        "type": Schema(type=OpenAPIType.STRING, description="A URI naming the kind of problem"),
        "title": Schema(type=OpenAPIType.STRING),
        "status": Schema(type=OpenAPIType.INTEGER),
        "detail": Schema(type=OpenAPIType.STRING, description="What went wrong, safe to show"),
        "instance": Schema(type=OpenAPIType.STRING, description="The request path"),
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(type=OpenAPIType.OBJECT),
            description="Which fields failed validation (400 only)",
        ),
    },
    description="RFC 9457 problem details",
)
_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
# extra media types of successful answers that a handler builds itself
_TEXT = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))
_EXTRA_CONTENT = {
    "exportUsage": {"text/csv": _TEXT},
    # streamed: JSON lines or CSV (export), one JSON report or progress lines then it (verify)
    "exportAuditEvents": {"application/x-ndjson": _TEXT, "text/csv": _TEXT},
    "verifyAuditChain": {
        "application/x-ndjson": _TEXT,
        "application/json": OpenAPIMediaType(schema=Schema(type=OpenAPIType.OBJECT)),
    },
}


def document_problems(document: OpenAPI) -> OpenAPI:
    """Point every error response of ``document`` at the problem-details schema (in place)."""
    document.components = document.components or Components()
    schemas = dict(document.components.schemas or {})
    schemas["Problem"] = _PROBLEM
    document.components.schemas = schemas
    problem = OpenAPIResponse(
        description="Problem details (RFC 9457)",
        content={PROBLEM_JSON: OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))},
    )
    for item in (document.paths or {}).values():
        for method in _METHODS:
            operation = getattr(item, method, None)
            if operation is None:
                continue
            responses = dict(operation.responses or {})
            for status in list(responses):
                if status.isdigit() and int(status) >= 400:
                    responses[status] = problem
            responses["default"] = problem
            for media, content in _EXTRA_CONTENT.get(operation.operation_id or "", {}).items():
                ok = responses.get("200")
                if isinstance(ok, OpenAPIResponse):
                    ok.content = {**(ok.content or {}), media: content}
            operation.responses = responses
    return document
