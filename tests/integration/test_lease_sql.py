"""metering.grant_lease / settle_leased on a real PostgreSQL, as the metering role: concurrent
grants never add up past a limit, give-backs return what was not used, settlements empty a lease."""

from __future__ import annotations

import asyncio
import secrets

import asyncpg

from libs.contracts.messages import LeaseGrant, LeaseRequest, LimitDenied
from libs.db.pool import create_pool, tenant_tx
from libs.pricing import Price
from libs.stack import pg
from services.metering import limits
from tests.helpers import service_dsn

PRICE = Price(input=1_000_000, output=1_000_000, cached_input=1_000_000)


def lease_request(key: str, **fields: object) -> LeaseRequest:
    return LeaseRequest(request_id="r", org_id="org-lease", key_id=key, model="m",
                        lease_id=f"lse_{secrets.token_hex(8)}", **fields)  # type: ignore[arg-type]  # fmt: skip


async def _grant_all(pool: asyncpg.Pool, requests: list[LeaseRequest]) -> list[LeaseGrant | LimitDenied]:
    return list(await asyncio.gather(*(limits.grant(pool, r, PRICE, 100) for r in requests)))


def test_concurrent_grants_never_exceed_the_rpm_limit(cluster: pg.Cluster) -> None:
    async def run() -> tuple[int, int]:
        pool = await create_pool(service_dsn(cluster, "metering"), max_size=10)
        key = f"key-{secrets.token_hex(4)}"
        try:
            granted = 0
            while True:
                replies = await _grant_all(pool, [lease_request(key, rpm_limit=60, want_units=8) for _ in range(10)])
                units = sum(r.units for r in replies if isinstance(r, LeaseGrant))
                assert all(r.units <= 8 for r in replies if isinstance(r, LeaseGrant))
                granted += units
                if units == 0:
                    break
            async with tenant_tx(pool, "org-lease") as conn:
                counted = await conn.fetchval("SELECT max(count) FROM metering.rpm WHERE key_id = $1", key)
            return granted, int(counted)
        finally:
            await pool.close()

    granted, counted = asyncio.run(run())
    assert granted == 60  # exactly the limit, handed out in blocks
    assert counted == 60


def test_unused_units_and_micros_go_back_and_settlements_empty_the_lease(cluster: pg.Cluster) -> None:
    async def run() -> None:
        pool = await create_pool(service_dsn(cluster, "metering"), max_size=10)
        key = f"key-{secrets.token_hex(4)}"
        try:
            first = await limits.grant(pool, lease_request(key, rpm_limit=10, want_units=2, usd_limit_micros=10_000,
                                                          want_micros=2_000, need_micros=500), PRICE, 100)  # fmt: skip
            assert isinstance(first, LeaseGrant)
            assert (first.units, first.micros, first.remaining) == (2, 2_000, 8)
            # one request used 500 µ$ and one unit; the rest goes back with the next (give-back only) call
            back = await limits.grant(pool, lease_request(key, rpm_limit=10, usd_limit_micros=10_000,
                                                         return_lease_id=first.lease_id, return_window=first.window,
                                                         return_units=1, return_micros=1_500), PRICE, 100)  # fmt: skip
            assert isinstance(back, LeaseGrant)
            async with tenant_tx(pool, "org-lease") as conn:
                assert await conn.fetchval("SELECT max(count) FROM metering.rpm WHERE key_id = $1", key) == 1
                assert await conn.fetchval("SELECT reserved_micros FROM metering.budgets WHERE key_id = $1", key) == 500
                await limits.settle_leased(conn, key, first.lease_id, 500)
                assert await conn.fetchval("SELECT reserved_micros FROM metering.budgets WHERE key_id = $1", key) == 0
                assert await conn.fetchval("SELECT count(*) FROM metering.reservations WHERE request_id = $1",
                                           first.lease_id) == 0  # fmt: skip
        finally:
            await pool.close()

    asyncio.run(run())


def test_concurrent_budget_grants_never_exceed_the_limit(cluster: pg.Cluster) -> None:
    async def run() -> tuple[int, int]:
        pool = await create_pool(service_dsn(cluster, "metering"), max_size=10)
        key = f"key-{secrets.token_hex(4)}"
        try:
            total = 0
            for _ in range(20):
                replies = await _grant_all(pool, [lease_request(key, usd_limit_micros=10_000, want_units=4,
                                                               want_micros=3_000, need_micros=100)
                                                  for _ in range(10)])  # fmt: skip
                total += sum(r.micros for r in replies if isinstance(r, LeaseGrant))
                assert all(r.micros >= 100 for r in replies if isinstance(r, LeaseGrant))
                if all(isinstance(r, LimitDenied) for r in replies):
                    break
            async with tenant_tx(pool, "org-lease") as conn:
                reserved = await conn.fetchval("SELECT reserved_micros FROM metering.budgets WHERE key_id = $1", key)
            return total, int(reserved)
        finally:
            await pool.close()

    total, reserved = asyncio.run(run())
    assert total <= 10_000
    assert total > 10_000 - 100  # everything that could hold one more request was handed out
    assert reserved == total
