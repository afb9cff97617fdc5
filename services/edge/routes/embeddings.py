"""``POST /v1/embeddings``, OpenAI's format, through the same checks as chat."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, post
from litestar.response import Stream

from services.edge.access import check_model
from services.edge.errors import ApiError, rate_headers
from services.edge.gateway import Call
from services.edge.routes.common import authenticate, gateway
from services.edge.routes.pipeline import adapter_for, guard_headers, handle
from services.edge.schemas import ModelName, decode_object, validate

MAX_INPUTS = 2048


class EmbeddingsRequest(msgspec.Struct, kw_only=True):
    """What the edge validates of an embeddings request."""

    model: ModelName
    input: str | Annotated[list[Any], msgspec.Meta(min_length=1, max_length=MAX_INPUTS)]
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: Annotated[int, msgspec.Meta(ge=1)] | None = None


def _texts(value: str | list[Any]) -> list[str]:
    """The inputs as text; token arrays are refused, since guardrails cannot read them."""
    items = [value] if isinstance(value, str) else value
    if not all(isinstance(item, str) for item in items):
        raise ApiError(400, "Invalid request: `input` must be a string or a list of strings (token arrays are "
                       "not accepted, because the guardrails cannot check them).", code="invalid_request_error",
                       param="input")  # fmt: skip
    return [str(item) for item in items]


@post("/v1/embeddings", status_code=200)
async def create_embeddings(request: Request[Any, Any, Any]) -> Response[bytes] | Stream:
    """Authenticate, check, route and forward one embeddings request."""

    async def run(call: Call) -> Response[bytes]:
        principal = await authenticate(request, call)
        try:
            raw = decode_object(await request.body())
            parsed: EmbeddingsRequest = validate(raw, EmbeddingsRequest)
        except ValueError as exc:
            raise ApiError(400, str(exc), code="invalid_request_error") from None
        call.model = parsed.model
        check_model(principal.limits, parsed.model)
        texts = _texts(parsed.input)
        target, verdict, limited = await gateway(request).prepare(call, principal, texts, 1)
        if verdict.texts is not None:
            texts = verdict.texts
            raw["input"] = texts[0] if isinstance(parsed.input, str) else texts
        headers = guard_headers(verdict.action, [f.rule_id for f in verdict.findings if not f.monitor])
        if limited is not None:
            headers.update(rate_headers(limited.rpm_limit, limited.remaining, limited.reset_s))
        raw.pop("_anthropic", None)
        answer = await adapter_for(request, target.adapter).embed(target, raw, sum(len(t) for t in texts))
        call.usage = answer.usage
        return Response(answer.body, media_type="application/json", headers=headers)

    return await handle(request, "embeddings.create", run)
