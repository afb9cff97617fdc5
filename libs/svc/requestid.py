"""Request ids for the HTTP services (edge and management API).

Every request gets an id **the gateway generates** (``x-request-id`` on every response); it is
what events are deduplicated by, what usage rows are keyed by and what ``?request_id=`` finds.
A client's own id (``x-client-request-id``, else ``x-request-id``) is never used for that: two
requests that send the same value are still two requests, in one tenant or across tenants. A
sane client id is kept as the *correlation id*: echoed in ``x-client-request-id`` and stored
beside the request (usage rows, audit detail) so a client can find its requests by its own id.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable

from litestar.types import ASGIApp, Message, Receive, Scope, Send

_SANE = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")
HEADER = b"x-request-id"
CLIENT_HEADER = b"x-client-request-id"
PREFIX = "req_"


def new_request_id() -> str:
    """``req_`` + 12 hex digits of unix milliseconds + 80 random bits: unique, and sorted by time,
    so paging by id pages by time."""
    return f"{PREFIX}{int(time.time() * 1000):012x}{os.urandom(10).hex()}"


def correlation_id(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The client's own request id, if it sent a sane one (else ``""``)."""
    ids = {k: v for k, v in headers if k in (HEADER, CLIENT_HEADER)}
    incoming = ids.get(CLIENT_HEADER) or ids.get(HEADER) or b""
    return incoming.decode() if _SANE.match(incoming) else ""


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """ASGI middleware setting ``scope["state"]["request_id"]`` (always new) and
    ``scope["state"]["correlation_id"]`` (the client's, or ``""``), and the response headers."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]  # lifespan scopes pass too
            await app(scope, receive, send)
            return
        request_id = new_request_id()
        client_id = correlation_id(scope["headers"])
        state = scope.setdefault("state", {})
        state["request_id"], state["correlation_id"] = request_id, client_id
        extra = [(HEADER, request_id.encode())]
        if client_id:
            extra.append((CLIENT_HEADER, client_id.encode()))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in (HEADER, CLIENT_HEADER)]
                message["headers"] = headers + extra
            await send(message)

        await app(scope, receive, send_with_id)

    return middleware
