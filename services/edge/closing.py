"""A streamed response that runs a hook when it ends, however it ends: finished, failed, or the
client gone (Litestar then cancels the body's task, and the iterator may never be closed)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from anyio import CancelScope
from litestar.response import Stream
from litestar.response.base import ASGIResponse
from litestar.types import Receive, Scope, Send

OnClose = Callable[[], Awaitable[None]]


class ClosingStream(Stream):
    """``Stream`` whose ``on_close`` is awaited after the last byte was sent or the client left."""

    __slots__ = ("on_close",)

    def __init__(self, content: Any, *, on_close: OnClose, **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self.on_close = on_close

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> ASGIResponse:
        inner = super().to_asgi_response(*args, **kwargs)
        return cast("ASGIResponse", _Closing(inner, self.on_close))


class _Closing:
    """The ASGI response, then the hook, shielded from the cancellation that ended the body."""

    def __init__(self, inner: ASGIResponse, on_close: OnClose) -> None:
        self._inner = inner
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self._inner(scope, receive, send)
        finally:
            with CancelScope(shield=True):
                await self._on_close()
