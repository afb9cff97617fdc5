"""``POST /v1/messages``: Anthropic's Messages API (JSON and SSE), any upstream behind it.

Errors here use Anthropic's shape (``{"type": "error", "error": {"type", "message"}}``) so the
official ``anthropic`` SDK raises its usual exception classes.
"""

from __future__ import annotations

import functools
from typing import Any

import msgspec
from litestar import Request, Response, post
from litestar.exceptions import HTTPException
from litestar.response import Stream

from libs.contracts.messages import Principal
from services.edge import errors
from services.edge.access import check_model
from services.edge.closing import ClosingStream
from services.edge.errors import ApiError
from services.edge.formats.anthropic import (
    CountRequest,
    MessagesRequest,
    StreamToAnthropic,
    error_body,
    request_to_openai,
    response_from_openai,
)
from services.edge.gateway import Call
from services.edge.inscan import scan_input
from services.edge.routes.common import begin_checked, gateway
from services.edge.routes.pipeline import SSE_HEADERS, Timing, adapter_for, handle, run_chat
from services.edge.schemas import decode_object, validate


def _api_error(request: Request[Any, Any, Any], exc: ApiError) -> Response[Any]:
    return Response(error_body(exc.status, exc.message), status_code=exc.status, headers=exc.headers)


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    generic = errors.handle_http_exception(request, exc)
    message = generic.content["error"]["message"] if isinstance(generic.content, dict) else "Request failed."
    return Response(error_body(exc.status_code, message), status_code=exc.status_code, headers=exc.headers or {})


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    errors.handle_unexpected(request, exc)  # logs the exception type
    return Response(error_body(500, "Internal server error."), status_code=500)


@post(
    "/v1/messages",
    status_code=200,
    exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _unexpected},
)
async def create_message(request: Request[Any, Any, Any]) -> Response[bytes] | Stream:
    """Authenticate, translate, check, route and forward one Messages request."""

    async def run(call: Call) -> Response[bytes] | Stream:
        timing = Timing(route=call.action)
        auth = await begin_checked(request, call)
        timing.mark("auth")
        raw, parsed = await _read_body(request)
        call.model = parsed.model
        call.stream = parsed.stream
        payload = request_to_openai(raw, parsed)
        answer = await run_chat(request, call, auth, payload, timing, include_usage=True)
        if answer.frames is not None:
            events = StreamToAnthropic(parsed.model, answer.prompt_tokens_hint).translate(answer.frames)
            return ClosingStream(events, on_close=answer.stream_closed, media_type="text/event-stream",
                                 headers={**SSE_HEADERS, **answer.headers})  # fmt: skip
        message = response_from_openai(msgspec.json.decode(answer.body), parsed.model)
        return Response(msgspec.json.encode(message), media_type="application/json", headers=answer.headers)

    return await handle(request, "messages.create", run)


async def _read_body(request: Request[Any, Any, Any]) -> tuple[dict[str, Any], MessagesRequest]:
    try:
        raw = decode_object(await request.body())
        parsed: MessagesRequest = validate(raw, MessagesRequest)
    except ValueError as exc:
        raise ApiError(400, str(exc), code="invalid_request_error") from None
    return raw, parsed


@post(
    "/v1/messages/count_tokens",
    status_code=200,
    exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _unexpected},
)
async def count_message_tokens(request: Request[Any, Any, Any]) -> Response[bytes] | Stream:
    """Anthropic's token counting, for any upstream: the provider's own count where it has one
    (Anthropic, Gemini), else an estimate (``x-bastion-estimated: true``). The request passes the
    same checks as a message — its content goes upstream."""

    async def run(call: Call) -> Response[bytes]:
        auth = await begin_checked(request, call)
        try:
            raw = decode_object(await request.body())
            parsed: CountRequest = validate(raw, CountRequest)
        except ValueError as exc:
            raise ApiError(400, str(exc), code="invalid_request_error") from None
        call.model = parsed.model
        vet = functools.partial(_vet_model, call)
        if auth.done:
            vet(await auth.principal())
        payload = request_to_openai(raw, parsed)
        payload.pop("max_tokens", None)
        texts = scan_input(payload)
        admitted = await gateway(request).prepare(call, auth, texts.sent, 0, prompt_chars=texts.chars, vet=vet)
        target, verdict = admitted.target, admitted.verdict
        texts.apply(payload, verdict)
        tokens, estimated = await adapter_for(request, target.adapter).count(target, payload, texts.chars)
        headers = {"x-bastion-estimated": "true"} if estimated else {}
        return Response(msgspec.json.encode({"input_tokens": tokens}), media_type="application/json", headers=headers)

    return await handle(request, "messages.count_tokens", run)


def _vet_model(call: Call, principal: Principal) -> None:
    check_model(principal.limits, call.model)
