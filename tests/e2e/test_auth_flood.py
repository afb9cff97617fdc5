"""Unauthenticated floods: random well-formed keys (the checksum is public, so they cost nothing
to mint) must neither starve real keys nor flood the audit trail.

The stack runs with a small global miss backstop (``BASTION_MISS_RATE_PER_S=50`` per auth
replica) and a 2 s failed-auth window (``BASTION_AUTH_FAIL_WINDOW_S``), see conftest. Sources are
loopback addresses the client binds (127.0.0.2, 127.0.1.x): distinct client IPs to the edge.
A real key's cached principal is dropped by updating the key (every auth replica drops it at
once), which is what an expired cache entry looks like to the verifier.
"""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest

from libs.crypto import apikeys
from tests.loadgen import Conn, Tally, flood, paced, random_key_request, sources
from tests.stack import Stack

pytestmark = pytest.mark.e2e
CHAT = json.dumps({"model": "mock-gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}).encode()


@pytest.fixture(scope="module")
def known_key(stack: Stack) -> dict[str, str]:
    """A fresh key that has verified on every auth replica (requests are spread over them)."""
    with stack.admin() as http:
        created = http.post("/v1/keys/", json={"project_id": stack.env["BASTION_DEMO_PROJECT"], "name": "flood"})
    assert created.status_code == 201, created.text
    key = created.json()
    stack.created_secrets.append(key["key"])
    with httpx.Client(base_url=stack.base_url, headers={"authorization": f"Bearer {key['key']}"}) as http:
        for i in range(24):
            if i % 4 == 0:
                drop_cached(stack, key["id"])
            assert http.get("/models").status_code == 200
    return {"id": key["id"], "key": key["key"]}


def drop_cached(stack: Stack, key_id: str) -> None:
    """Every auth replica forgets the key's verified principal (as when its TTL runs out)."""
    with stack.admin() as http:
        assert http.patch(f"/v1/keys/{key_id}", json={"name": f"flood {time.time_ns()}"}).status_code == 200


def edge_addr(stack: Stack) -> tuple[str, int]:
    url = urlsplit(stack.edge)
    assert url.hostname
    assert url.port
    return url.hostname, url.port


async def legit(stack: Stack, key: dict[str, str], ip: str, rate: float, seconds: float, drop_every_s: float) -> Tally:
    """Chat completions with ``key`` from ``ip`` while its cache entry is dropped every few seconds."""
    host, port = edge_addr(stack)
    tally = Tally(started=time.monotonic())
    until = tally.started + seconds
    headers = {"authorization": f"Bearer {key['key']}", "content-type": "application/json"}

    async def dropper() -> None:
        while time.monotonic() + drop_every_s < until:
            await asyncio.sleep(drop_every_s)
            await asyncio.to_thread(drop_cached, stack, key["id"])

    conns = [Conn(host, port, ip) for _ in range(4)]
    await asyncio.gather(dropper(), *(paced(c, rate / 4, until, tally, lambda: ("POST", "/v1/chat/completions",
                                                                                headers, CHAT)) for c in conns))  # fmt: skip
    for c in conns:
        c.close()
    tally.ended = time.monotonic()
    return tally


def test_flood_from_one_source_does_not_starve_known_keys(stack: Stack, known_key: dict[str, str]) -> None:
    """600+ random keys from 127.0.0.2: that source gets 429s (never 503), while the real key —
    its cache entry dropped again and again — answers 200 from another address and from the
    flooding address itself."""
    host, port = edge_addr(stack)

    async def run() -> tuple[Tally, Tally, Tally]:
        return await asyncio.gather(
            flood(host, port, ["127.0.0.2"], rate=200, seconds=3.0, conns_per_source=16),
            legit(stack, known_key, "127.0.0.1", rate=10, seconds=3.0, drop_every_s=0.5),
            legit(stack, known_key, "127.0.0.2", rate=6, seconds=3.0, drop_every_s=0.7),
        )

    flooded, elsewhere, same_source = asyncio.run(run())
    print(f"\nflood {flooded.rate:.0f}/s {dict(flooded.statuses)} errors={flooded.errors}; "
          f"key elsewhere {dict(elsewhere.statuses)}; key on the flooding address {dict(same_source.statuses)}")  # fmt: skip
    assert flooded.sent >= 300
    assert flooded.statuses[429] > flooded.statuses[401] > 0, flooded.statuses
    assert not [s for s in flooded.statuses if s >= 500], flooded.statuses
    assert elsewhere.statuses == {200: elsewhere.sent}
    assert same_source.statuses == {200: same_source.sent}


def test_throttled_answer_is_openai_shaped(stack: Stack) -> None:
    async def hammer() -> list[httpx.Response]:
        transport = httpx.AsyncHTTPTransport(local_address="127.0.0.4")
        async with httpx.AsyncClient(base_url=stack.base_url, transport=transport, timeout=10) as http:

            async def one() -> httpx.Response:
                return await http.get("/models", headers=random_key_request()[2])

            return list(await asyncio.gather(*(one() for _ in range(200))))

    answers = asyncio.run(hammer())
    throttled = [r for r in answers if r.status_code == 429]
    assert throttled, [r.status_code for r in answers]
    error = throttled[0].json()["error"]
    assert error["type"] == "rate_limit_error"
    assert error["code"] == "rate_limit_exceeded"
    assert throttled[0].headers["retry-after"] == "1"
    assert {r.status_code for r in answers} <= {401, 429}


async def _failed_auth_rows(stack: Stack, ip: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(stack.superuser_dsn)
    try:
        return list(
            await conn.fetch("SELECT action, user_id, success, metadata FROM audit.events WHERE ip_address = $1", ip)
        )
    finally:
        await conn.close()


def test_failed_auth_is_audited_in_aggregate(stack: Stack) -> None:
    """200 refused requests from one address are a handful of ``auth.failed`` rows whose counts
    add up to 200 — not 200 rows through the chain-head lock."""
    host, port = edge_addr(stack)

    async def send() -> Tally:
        return await flood(host, port, ["127.0.0.3"], rate=100, seconds=2.0, conns_per_source=4)

    sent = asyncio.run(send())
    total = sent.sent - sent.errors
    assert total >= 150, sent
    deadline = time.monotonic() + 20
    rows: list[asyncpg.Record] = []
    counted = 0
    while time.monotonic() < deadline:
        rows = asyncio.run(_failed_auth_rows(stack, "127.0.0.3"))
        counted = sum(int(json.loads(r["metadata"]).get("count", 1)) for r in rows)
        if counted >= total and len(rows) >= 1:
            break
        time.sleep(0.5)
    print(f"\n{total} refusals → {len(rows)} audit rows, counts summing to {counted}")
    assert counted == total
    assert len(rows) <= 16, len(rows)
    assert {r["action"] for r in rows} == {"auth.failed"}
    assert all(r["user_id"] == "unknown" and not r["success"] for r in rows)
    details = [json.loads(r["metadata"]) for r in rows]
    assert {d["reason"] for d in details} <= {"auth.key_invalid", "auth.throttled"}
    assert all(d["key_prefix"].startswith("sk-proj_prjflood01_") and len(d["key_prefix"]) < 30 for d in details)


def test_load_legitimate_key_keeps_99_percent_under_random_key_flood(stack: Stack, known_key: dict[str, str]) -> None:
    """The load test: 500 random keys/s (asked) from 20 addresses for 6 s while the real key makes
    chat completions, its cache entry dropped every second; ≥ 99 % of them succeed. The achieved
    rates are printed (this 2-core machine runs the client and the whole stack)."""
    host, port = edge_addr(stack)

    async def run() -> tuple[Tally, Tally]:
        return await asyncio.gather(
            flood(host, port, sources(20), rate=500, seconds=6.0, conns_per_source=4),
            legit(stack, known_key, "127.0.0.1", rate=20, seconds=6.0, drop_every_s=1.0),
        )

    flooded, real = asyncio.run(run())
    print(f"\nflood asked 500/s from 20 sources, achieved {flooded.rate:.0f}/s {dict(flooded.statuses)} "
          f"errors={flooded.errors} p50={flooded.p(0.5) * 1000:.0f}ms p99={flooded.p(0.99) * 1000:.0f}ms; "
          f"legitimate {real.rate:.1f}/s {dict(real.statuses)} errors={real.errors} "
          f"ok={real.ok_share():.2%} p50={real.p(0.5) * 1000:.0f}ms p99={real.p(0.99) * 1000:.0f}ms")  # fmt: skip
    assert real.sent >= 20  # fewer only if the machine is starved of CPU: then nothing was shown
    assert real.ok_share() >= 0.99, real.statuses
    assert not [s for s in flooded.statuses if s >= 500], flooded.statuses


def test_rejected_management_tokens_are_audited_in_aggregate(stack: Stack) -> None:
    """The management API counts rejected tokens the same way (``actor_type`` management_token)."""
    time.sleep(1.0)  # budgets spent by an earlier flood refill (per source and the global backstop)
    transport = httpx.HTTPTransport(local_address="127.0.0.5")
    with httpx.Client(base_url=stack.api, transport=transport, timeout=10) as http:
        statuses = [http.get("/v1/keys/", headers={"authorization": f"Bearer {apikeys.generate_admin_token()}"})
                    .status_code for _ in range(50)]  # fmt: skip
    refused = statuses.count(401) + statuses.count(429)
    assert refused == 50, statuses
    assert statuses.count(401) >= 40, statuses  # the source's burst, then 429s
    deadline = time.monotonic() + 20
    rows: list[asyncpg.Record] = []
    while time.monotonic() < deadline:
        rows = asyncio.run(_failed_auth_rows(stack, "127.0.0.5"))
        if sum(int(json.loads(r["metadata"]).get("count", 1)) for r in rows) >= refused:
            break
        time.sleep(0.5)
    assert sum(int(json.loads(r["metadata"]).get("count", 1)) for r in rows) == refused
    assert len(rows) <= 6, len(rows)
    assert {(r["action"], r["user_id"], r["success"]) for r in rows} == {("auth.failed", "unknown", False)}
