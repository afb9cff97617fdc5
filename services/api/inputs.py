"""Input no row can store is refused up front, as a client error.

PostgreSQL's ``text`` cannot hold NUL, and UTF-8 cannot hold a lone surrogate (JSON's
``"\\ud800"``); either reaching a query was a 500 (and, copied into an audit event, a poisoned
message). Request bodies check every string they decode to (:func:`check`, called by
``schemas.Body``); the path and query string are checked once, before routing, by
:func:`unstorable_input_middleware`. Both answer 400 problem details.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from litestar.types import ASGIApp, Receive, Scope, Send

from services.api.problems import PROBLEM_JSON


def storable(text: str) -> bool:
    """Whether PostgreSQL can store ``text`` (no NUL, valid UTF-8)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check(value: Any) -> None:
    """Raise ``ValueError`` if any string inside ``value`` cannot be stored."""
    if isinstance(value, str):
        if not storable(value):
            raise ValueError("strings must not contain NUL characters or unpaired surrogates")
    elif isinstance(value, dict):
        for key, item in value.items():
            check(key)
            check(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            check(item)


def _query_ok(raw: bytes) -> bool:
    try:
        pairs = urllib.parse.parse_qsl(raw.decode("latin-1"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return False
    return all(storable(k) and storable(v) for k, v in pairs)


def unstorable_input_middleware(app: ASGIApp) -> ASGIApp:
    """400 for a path or query string holding NUL or invalid UTF-8."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        kind: str = scope["type"]
        if kind == "http" and (not storable(scope["path"]) or not _query_ok(scope["query_string"])):
            body = json.dumps({
                "type": "https://bastion.dev/problems/bad-request", "title": "Bad Request", "status": 400,
                "detail": "The path or query string holds a NUL character or invalid UTF-8.",
            }).encode()  # fmt: skip
            start: Any = {"type": "http.response.start", "status": 400,
                          "headers": [(b"content-type", PROBLEM_JSON.encode())]}  # fmt: skip
            await send(start)
            end: Any = {"type": "http.response.body", "body": body}
            await send(end)
            return
        await app(scope, receive, send)

    return middleware
