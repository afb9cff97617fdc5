"""``POST /v1/embeddings``, OpenAI's format, through the same checks as chat."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.response import Stream

from libs.contracts.messages import Principal
from services.edge.access import check_model
from services.edge.errors import ApiError, rate_headers
from services.edge.gateway import Call
from services.edge.inscan import scan_input
from services.edge.routes.common import begin_checked, gateway
from services.edge.routes.pipeline import adapter_for, guard_headers, handle
from services.edge.schemas import EmbeddingsRequest, decode_object, validate


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
        auth = await begin_checked(request, call)
        try:
            raw = decode_object(await request.body())
            parsed: EmbeddingsRequest = validate(raw, EmbeddingsRequest)
        except ValueError as exc:
            raise ApiError(400, str(exc), code="invalid_request_error") from None
        call.model = parsed.model

        def vet(principal: Principal) -> None:
            check_model(principal.limits, parsed.model)

        if auth.done:
            vet(await auth.principal())
        _texts(parsed.input)
        raw.pop("_anthropic", None)
        texts = scan_input(raw, EmbeddingsRequest)
        admitted = await gateway(request).prepare(call, auth, texts.sent, 1, prompt_chars=texts.chars, vet=vet)
        target, verdict, limited = admitted.target, admitted.verdict, admitted.limited
        texts.apply(raw, verdict)
        headers = guard_headers(verdict.action, [f.rule_id for f in verdict.findings if not f.monitor])
        if limited is not None:
            headers.update(rate_headers(limited.rpm_limit, limited.remaining, limited.reset_s))
        answer = await adapter_for(request, target.adapter).embed(target, raw, texts.chars)
        call.usage = answer.usage
        return Response(answer.body, media_type="application/json", headers=headers)

    return await handle(request, "embeddings.create", run)
