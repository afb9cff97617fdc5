"""Per-client-IP rate limiting of the management API, with the standard RateLimit headers.

A fixed window per source (default 100 requests per 15 minutes): an IPv4 address, or an IPv6
/64 (:func:`libs.svc.sources.source_of`, as for the flood budgets), so rotating addresses inside
one subscriber's /64 is one client. Every response carries
``RateLimit-Limit``, ``RateLimit-Remaining``, ``RateLimit-Reset`` and ``RateLimit-Policy``; a
request over the limit gets 429 problem details with ``Retry-After``. State is per API process.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from libs.svc.sources import source_of

Clock = Callable[[], float]
EXEMPT = frozenset({"/healthz"})


class FixedWindow:
    """Counts per key in windows of ``window_s`` seconds."""

    def __init__(self, limit: int, window_s: float, clock: Clock = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._counts: dict[str, tuple[float, int]] = {}
        self._last_sweep = clock()

    def hit(self, key: str) -> tuple[bool, int, int]:
        """Count one request: (allowed, remaining, seconds until the window resets)."""
        now = self._clock()
        if now - self._last_sweep > self.window_s:
            self._counts = {k: v for k, v in self._counts.items() if now - v[0] < self.window_s}
            self._last_sweep = now
        start, count = self._counts.get(key, (now, 0))
        if now - start >= self.window_s:
            start, count = now, 0
        count += 1
        self._counts[key] = (start, count)
        reset = max(1, math.ceil(start + self.window_s - now))
        return count <= self.limit, max(0, self.limit - count), reset


def rate_limit_middleware(app: ASGIApp, limiter: FixedWindow) -> ASGIApp:
    """Wrap ``app`` with ``limiter``, keyed by the client address (``scope["client"]``, set by
    :mod:`libs.svc.clientaddr`: the peer unless a configured trusted proxy named another)."""
    policy = f"{limiter.limit};w={int(limiter.window_s)}".encode()

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in EXEMPT:  # type: ignore[comparison-overlap]
            await app(scope, receive, send)
            return
        client = scope.get("client")
        allowed, remaining, reset = limiter.hit(source_of(client[0]) if client else "unknown")
        headers = [
            (b"ratelimit-limit", str(limiter.limit).encode()),
            (b"ratelimit-remaining", str(remaining).encode()),
            (b"ratelimit-reset", str(reset).encode()),
            (b"ratelimit-policy", policy),
        ]
        if not allowed:
            body = json.dumps({
                "type": "https://bastion.dev/problems/too-many-requests", "title": "Too Many Requests",
                "status": 429, "detail": f"Rate limit of {limiter.limit} requests per {int(limiter.window_s)} s exceeded.",
                "instance": scope["path"],
            }).encode()  # fmt: skip
            start: Any = {"type": "http.response.start", "status": 429, "headers": [
                (b"content-type", b"application/problem+json"), (b"retry-after", str(reset).encode()), *headers]}  # fmt: skip
            await send(start)
            end: Any = {"type": "http.response.body", "body": body}
            await send(end)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


def strict_credentials(app: ASGIApp) -> ASGIApp:
    """Send ``Access-Control-Allow-Credentials`` only beside an allowed origin.

    Litestar's CORS middleware adds the credentials header to every CORS response; without a
    matching ``Access-Control-Allow-Origin`` a browser refuses anyway, but the allow-list should be
    explicit on the wire too.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]
            await app(scope, receive, send)
            return

        async def send_checked(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"access-control-allow-origin" for k, _ in headers):
                    headers = [(k, v) for k, v in headers if k.lower() != b"access-control-allow-credentials"]
                message["headers"] = headers
            await send(message)

        await app(scope, receive, send_checked)

    return middleware
