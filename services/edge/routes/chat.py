"""``POST /v1/chat/completions`` (JSON and SSE), OpenAI's format."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.response import Stream

from services.edge.closing import ClosingStream
from services.edge.errors import ApiError
from services.edge.gateway import Call
from services.edge.routes.common import begin_checked
from services.edge.routes.pipeline import SSE_HEADERS, Timing, handle, run_chat
from services.edge.schemas import ChatRequest, decode_object, validate


@post("/v1/chat/completions", status_code=200)
async def chat_completions(request: Request[Any, Any, Any]) -> Response[bytes] | Stream:
    """Authenticate, check, route and forward one chat completion."""

    async def run(call: Call) -> Response[bytes] | Stream:
        timing = Timing(route=call.action)
        auth = await begin_checked(request, call)
        timing.mark("auth")
        raw, chat = await _read_body(request)
        call.model = chat.model
        call.stream = chat.stream
        include_usage = bool(chat.stream_options and chat.stream_options.include_usage)
        answer = await run_chat(request, call, auth, raw, timing, include_usage)
        if answer.frames is not None:
            return ClosingStream(answer.frames, on_close=answer.stream_closed, media_type="text/event-stream",
                                 headers={**SSE_HEADERS, **answer.headers})  # fmt: skip
        return Response(answer.body, media_type="application/json", status_code=200, headers=answer.headers)

    return await handle(request, "chat.completion", run)


async def _read_body(request: Request[Any, Any, Any]) -> tuple[dict[str, Any], ChatRequest]:
    """The body as a dict (forwarded with unknown fields kept) and its validated view; 400 if bad."""
    try:
        raw = decode_object(await request.body())
        chat: ChatRequest = validate(raw, ChatRequest)
    except ValueError as exc:
        raise ApiError(400, str(exc), code="invalid_request_error") from None
    raw.pop("_anthropic", None)  # the edge's own carry-over field is not a client field
    return raw, chat
