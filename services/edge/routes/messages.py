"""``POST /v1/messages``: Anthropic's Messages API (JSON and SSE), any upstream behind it.

Errors here use Anthropic's shape (``{"type": "error", "error": {"type", "message"}}``) so the
official ``anthropic`` SDK raises its usual exception classes.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, post
from litestar.exceptions import HTTPException
from litestar.response import Stream

from services.edge import errors
from services.edge.access import check_model
from services.edge.errors import ApiError
from services.edge.formats.anthropic import (
    MessagesRequest,
    StreamToAnthropic,
    error_body,
    request_to_openai,
    response_from_openai,
)
from services.edge.gateway import Call
from services.edge.routes.common import authenticate
from services.edge.routes.pipeline import SSE_HEADERS, Timing, handle, run_chat
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
        timing = Timing()
        principal = await authenticate(request, call)
        timing.mark("auth")
        raw, parsed = await _read_body(request)
        call.model = parsed.model
        call.stream = parsed.stream
        check_model(principal.limits, parsed.model)
        payload = request_to_openai(raw, parsed)
        answer = await run_chat(request, call, principal, payload, timing, include_usage=True)
        if answer.frames is not None:
            events = StreamToAnthropic(parsed.model, answer.prompt_tokens_hint).translate(answer.frames)
            return Stream(events, media_type="text/event-stream", headers={**SSE_HEADERS, **answer.headers})
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
