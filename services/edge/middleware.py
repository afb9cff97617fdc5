"""Every response carries ``x-request-id`` (the client's, if sane, else a new one)."""

from __future__ import annotations

import re
import secrets

from litestar.types import ASGIApp, Message, Receive, Scope, Send

_SANE = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")
HEADER = b"x-request-id"


def new_request_id() -> str:
    """A fresh request id."""
    return "req_" + secrets.token_hex(12)


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """ASGI middleware setting ``scope["state"]["request_id"]`` and the response header."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]  # lifespan scopes pass too
            await app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k == HEADER), b"")
        request_id = incoming.decode() if _SANE.match(incoming) else new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        raw_id = request_id.encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                headers.append((HEADER, raw_id))
                message["headers"] = headers
            await send(message)

        await app(scope, receive, send_with_id)

    return middleware
