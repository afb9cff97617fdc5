"""Per-key limits that cannot be overrun: requests per minute and USD budgets, fail closed."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter

import asyncpg
import httpx
import pytest

from tests.stack import Stack

BODY = {"model": "mock-gpt-4o", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}


def key(stack: Stack, **limits: object) -> dict:
    with stack.admin() as http:
        project = http.post("/v1/projects/", json={"name": f"lim-{time.time_ns()}"}).json()["id"]
        created = http.post("/v1/keys/", json={"project_id": project, **limits}).json()
    stack.created_secrets.append(created["key"])
    return created


def test_requests_per_minute_with_openai_headers(stack: Stack) -> None:
    if time.time() % 60 > 45:  # keep the burst inside one fixed minute
        time.sleep(61 - time.time() % 60)
    created = key(stack, rate_limit_rpm=5)
    headers = {"authorization": f"Bearer {created['key']}"}
    responses = [httpx.post(f"{stack.base_url}/chat/completions", json=BODY, headers=headers) for _ in range(7)]
    assert [r.status_code for r in responses] == [200] * 5 + [429] * 2
    assert [r.headers["x-ratelimit-remaining-requests"] for r in responses[:5]] == ["4", "3", "2", "1", "0"]
    assert responses[0].headers["x-ratelimit-limit-requests"] == "5"
    assert responses[0].headers["x-ratelimit-reset-requests"].endswith("s")
    refused = responses[5]
    assert int(refused.headers["retry-after"]) > 0
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"


def test_200_concurrent_requests_cannot_overspend(stack: Stack) -> None:
    # mock-gpt-4o with "hi": 1 prompt + 3 completion tokens = ceil(2.5 + 30) = 33 µ$ each; 50 fit in 1650 µ$.
    limit_micros = 1650
    created = key(stack, usage_limit_usd=limit_micros / 1_000_000)
    headers = {"authorization": f"Bearer {created['key']}"}

    async def fire() -> list[int]:
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=200)) as client:

            async def one() -> tuple[int, str]:
                r = await client.post(f"{stack.base_url}/chat/completions", json=BODY, headers=headers)
                return r.status_code, r.text[:120]

            return list(await asyncio.gather(*(one() for _ in range(200))))

    results = asyncio.run(fire())
    codes = [c for c, _ in results]
    assert 503 not in codes, [t for c, t in results if c == 503][:3]
    ok = codes.count(200)
    assert 0 < ok <= 50, codes
    assert set(codes) <= {200, 429}

    async def spend() -> tuple[int, int]:
        conn = await asyncpg.connect(stack.superuser_dsn)
        try:
            for _ in range(100):
                row = await conn.fetchrow("SELECT spent_micros, reserved_micros FROM metering.budgets WHERE key_id = $1",
                                          created["id"])  # fmt: skip
                if row is not None and row["reserved_micros"] == 0:
                    return int(row["spent_micros"]), int(row["reserved_micros"])
                await asyncio.sleep(0.2)
            return int(row["spent_micros"]), int(row["reserved_micros"])
        finally:
            await conn.close()

    spent, reserved = asyncio.run(spend())
    assert reserved == 0  # every reservation was settled by its usage event
    assert spent == ok * 33
    assert spent <= limit_micros
    # Spend the rest one by one: the key stops exactly where the next worst case no longer fits.
    last = None
    for _ in range(60):
        last = httpx.post(f"{stack.base_url}/chat/completions", json=BODY, headers=headers)
        if last.status_code != 200:
            break
        ok += 1
    assert last is not None
    assert last.status_code == 429
    assert last.json()["error"]["code"] == "insufficient_quota"
    assert "usage_limit_usd" in last.json()["error"]["message"]
    assert ok <= 50
    final, _ = asyncio.run(spend())
    assert final <= limit_micros


def test_limit_check_fails_closed_when_metering_is_down(stack: Stack) -> None:
    created = key(stack, rate_limit_rpm=1000)
    headers = {"authorization": f"Bearer {created['key']}"}
    assert httpx.post(f"{stack.base_url}/chat/completions", json=BODY, headers=headers).status_code == 200
    pids = [stack.pid("metering"), stack.pid("metering-2")]  # every replica: one left would answer
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        response = httpx.post(f"{stack.base_url}/chat/completions", json=BODY, headers=headers, timeout=10)
        assert response.status_code == 503
        assert time.monotonic() - started < 2.0
        assert "metering" in response.json()["error"]["message"]
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if httpx.post(f"{stack.base_url}/chat/completions", json=BODY, headers=headers).status_code == 200:
            return
        time.sleep(0.2)
    pytest.fail("metering did not come back")


def test_rpm_is_exact_across_two_edge_workers_and_two_metering_replicas(stack: Stack) -> None:
    assert stack.pid("metering") != stack.pid("metering-2")
    if time.time() % 60 > 40:  # the burst must fit in one fixed minute
        time.sleep(61 - time.time() % 60)
    created = key(stack, rate_limit_rpm=60)
    headers = {"authorization": f"Bearer {created['key']}"}

    async def burst() -> list[int]:
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=40)) as client:

            async def one() -> int:
                return (await client.post(f"{stack.base_url}/chat/completions", json=BODY, headers=headers)).status_code

            return list(await asyncio.gather(*(one() for _ in range(90))))

    codes = asyncio.run(burst())
    assert codes.count(200) == 60, Counter(codes)
    assert codes.count(429) == 30


def test_kill_9_of_metering_loses_and_double_counts_nothing(stack: Stack) -> None:
    created = key(stack)  # no limits: metering is not on this key's request path
    headers = {"authorization": f"Bearer {created['key']}"}
    pids = [stack.pid("metering"), stack.pid("metering-2")]

    async def load() -> list[int]:
        async with httpx.AsyncClient(timeout=30) as client:
            codes: list[int] = []

            async def worker() -> None:
                for _ in range(25):
                    r = await client.post(f"{stack.base_url}/chat/completions", json=BODY, headers=headers)
                    codes.append(r.status_code)

            async def killer() -> None:
                await asyncio.sleep(0.7)
                for pid in pids:
                    os.kill(pid, signal.SIGKILL)

            await asyncio.gather(*(worker() for _ in range(8)), killer())
            return codes

    codes = asyncio.run(load())
    ok = codes.count(200)
    assert ok == len(codes) == 200

    async def recorded() -> int:
        conn = await asyncpg.connect(stack.superuser_dsn)
        try:
            n = 0
            for _ in range(150):
                n = int(
                    await conn.fetchval("SELECT count(*) FROM metering.usage_events WHERE key_id = $1", created["id"])
                )
                daily = await conn.fetchval("SELECT sum(requests) FROM metering.daily WHERE key_id = $1", created["id"])
                if n >= ok and int(daily or 0) == n:
                    await asyncio.sleep(1.0)  # a double count would show now
                    return int(await conn.fetchval("SELECT sum(requests) FROM metering.daily WHERE key_id = $1",
                                                   created["id"]))  # fmt: skip
                await asyncio.sleep(0.2)
            return n
        finally:
            await conn.close()

    assert asyncio.run(recorded()) == ok
    assert stack.pid("metering") not in pids  # the supervisor restarted it
