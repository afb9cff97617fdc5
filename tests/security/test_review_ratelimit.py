"""Adversarial review of the management API's per-IP limit (issue 10, items 3 and 6): an attacker
holding an IPv6 /64 — what one subscriber is routinely given — mints a fresh address per request."""

from __future__ import annotations

import asyncio
from typing import Any

from services.api.ratelimit import FixedWindow, rate_limit_middleware


async def _status(app: Any, client: str) -> int:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "path": "/v1/keys", "headers": [], "client": (client, 1234), "method": "GET"}
    await app(scope, receive, send)
    return int(next(m for m in sent if m["type"] == "http.response.start")["status"])


def test_rotating_addresses_within_one_ipv6_64_does_not_escape_the_limit() -> None:
    """Was a hole: the window was per full address, so every new address in the attacker's /64
    started a fresh window (and a new entry in memory)."""

    async def ok(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    app = rate_limit_middleware(ok, FixedWindow(limit=3, window_s=900))
    statuses = [asyncio.run(_status(app, f"2001:db8:1:2::{i:x}")) for i in range(1, 10)]
    assert statuses[:3] == [200, 200, 200]
    assert set(statuses[3:]) == {429}
    assert asyncio.run(_status(app, "2001:db8:1:3::1")) == 200  # the next /64 is someone else
    assert asyncio.run(_status(app, "198.51.100.7")) == 200
