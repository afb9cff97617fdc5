"""A stand-in for the edge's upstream client (:class:`libs.svc.egress_http.GuardedClient`) in unit
tests: a handler gets each :class:`Request` and returns a :func:`canned` answer or raises what
the client would (aiohttp's errors)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from libs.svc.egress_http import Request, Response


@dataclass
class Canned:
    """An answer before it is tied to the request that gets it."""

    status: int
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def canned(status: int, *, json: Any = None, content: bytes = b"", headers: dict[str, str] | None = None) -> Canned:
    """An answer with a JSON or raw body."""
    body = msgspec.json.encode(json) if json is not None else content
    return Canned(status, body, dict(headers or {}))


def response(status: int, content: bytes = b"", headers: dict[str, str] | None = None) -> Response:
    """A response as the client hands it over (body already there), for tests without an adapter."""
    return Response(status, headers or {}, Request("http://up/", b"", {}, None), content=content)  # type: ignore[arg-type]


class FakeUpstream:
    """Answers each request with ``handler(request)``."""

    def __init__(self, handler: Callable[[Request], Any]) -> None:
        self.handler = handler
        self.seen: list[Request] = []

    async def open(self, request: Request) -> Response:
        self.seen.append(request)
        answer = self.handler(request)
        if inspect.isawaitable(answer):
            answer = await answer
        assert isinstance(answer, Canned)
        return Response(answer.status, answer.headers, request, content=answer.content)

    async def aclose(self) -> None:
        pass
