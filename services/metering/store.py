"""Metering's SQL: one row per request (idempotent by request id) and the daily aggregate,
updated in the same transaction only when the row is new — a redelivered event changes nothing.

:func:`record_batch` stores many events in one transaction with the same effect as
:func:`record` on each in turn: rows inserted together (``unnest``), the aggregate, reservations
and budgets updated once per batch for the rows that were new.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime

import asyncpg

from libs.contracts.messages import UsageEvent
from libs.db.pool import TENANT_SETTING, tenant_tx
from services.metering.limits import settle, settle_leased

_INSERT = """
INSERT INTO metering.usage_events (
    request_id, ts, org_id, project_id, key_id, model, provider, status,
    prompt_tokens, completion_tokens, cached_tokens, estimated, latency_ms, stream, cost_micros, priced,
    correlation_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
ON CONFLICT (request_id) DO NOTHING
"""

_AGGREGATE = """
INSERT INTO metering.daily AS d (org_id, project_id, key_id, model, day, requests, prompt_tokens,
    completion_tokens, cached_tokens, cost_micros)
VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9)
ON CONFLICT (org_id, project_id, key_id, model, day) DO UPDATE SET
    requests = d.requests + 1,
    prompt_tokens = d.prompt_tokens + excluded.prompt_tokens,
    completion_tokens = d.completion_tokens + excluded.completion_tokens,
    cached_tokens = d.cached_tokens + excluded.cached_tokens,
    cost_micros = d.cost_micros + excluded.cost_micros
"""


async def record(pool: asyncpg.Pool, event: UsageEvent, cost_micros: int = 0, priced: bool = False) -> bool:
    """Insert ``event`` and add it to its day; False if this request id was already recorded."""
    ts = datetime.fromtimestamp(event.ts / 1000, tz=UTC)
    async with tenant_tx(pool, event.org_id) as conn:
        status = await conn.execute(
            _INSERT, event.request_id, ts, event.org_id, event.project_id, event.key_id, event.model,
            event.provider, event.status, event.prompt_tokens, event.completion_tokens, event.cached_tokens,
            event.estimated, event.latency_ms, event.stream, cost_micros, priced, event.correlation_id,
        )  # fmt: skip
        if not status.endswith(" 1"):
            return False
        await conn.execute(
            _AGGREGATE, event.org_id, event.project_id, event.key_id, event.model, ts.date(),
            event.prompt_tokens, event.completion_tokens, event.cached_tokens, cost_micros,
        )  # fmt: skip
        await settle(conn, event.request_id, event.key_id, cost_micros)
        await settle_leased(conn, event.key_id, event.lease_id, event.held_micros)
        return True


Priced = tuple[UsageEvent, int, bool]
"""An event with its cost in micro-dollars and whether its model had a price."""

_INSERT_MANY = """
INSERT INTO metering.usage_events (
    request_id, ts, org_id, project_id, key_id, model, provider, status,
    prompt_tokens, completion_tokens, cached_tokens, estimated, latency_ms, stream, cost_micros, priced,
    correlation_id)
SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
    $8::int[], $9::int[], $10::int[], $11::int[], $12::bool[], $13::int[], $14::bool[], $15::bigint[], $16::bool[],
    $17::text[])
ON CONFLICT (request_id) DO NOTHING
RETURNING request_id
"""

_AGGREGATE_MANY = """
INSERT INTO metering.daily AS d (org_id, project_id, key_id, model, day, requests, prompt_tokens,
    completion_tokens, cached_tokens, cost_micros)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::date[], $6::bigint[], $7::bigint[],
    $8::bigint[], $9::bigint[], $10::bigint[])
ON CONFLICT (org_id, project_id, key_id, model, day) DO UPDATE SET
    requests = d.requests + excluded.requests,
    prompt_tokens = d.prompt_tokens + excluded.prompt_tokens,
    completion_tokens = d.completion_tokens + excluded.completion_tokens,
    cached_tokens = d.cached_tokens + excluded.cached_tokens,
    cost_micros = d.cost_micros + excluded.cost_micros
"""

# settle() for many requests: their reservations replaced by their real costs, once per key.
# (Subtracting the holds one by one, each clamped at 0, equals subtracting their sum clamped once.)
_SETTLE_MANY = """
WITH costs AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) AS c(request_id, key_id, cost)
), gone AS (
    DELETE FROM metering.reservations r USING costs c WHERE r.request_id = c.request_id
    RETURNING r.request_id, r.amount
), per_key AS (
    SELECT c.key_id, sum(c.cost) AS spent, coalesce(sum(g.amount), 0) AS held
    FROM costs c LEFT JOIN gone g USING (request_id) GROUP BY c.key_id
)
UPDATE metering.budgets b SET spent_micros = b.spent_micros + p.spent,
    reserved_micros = greatest(0, b.reserved_micros - p.held), updated_at = now()
FROM per_key p WHERE b.key_id = p.key_id
"""

# settle_leased() row by row, in order (a lease may be emptied and removed part-way).
_SETTLE_LEASED_MANY = """
SELECT metering.settle_leased(k, l, h)
FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY AS t(k, l, h, n) ORDER BY n
"""


async def record_batch(pool: asyncpg.Pool, items: Sequence[Priced]) -> list[bool]:
    """Store ``items`` in one transaction, as :func:`record` would one by one; per item whether it
    was new (False for a request id already recorded, or seen earlier in the batch)."""
    by_org: dict[str, list[Priced]] = defaultdict(list)
    for item in items:
        by_org[item[0].org_id].append(item)
    new: set[str] = set()
    async with pool.acquire() as conn, conn.transaction():
        for org in sorted(by_org):  # a fixed order: two replicas lock the same rows in the same order
            await conn.execute("SELECT set_config($1, $2, true)", TENANT_SETTING, org)
            new |= await _record_org(conn, by_org[org])
    seen: set[str] = set()
    flags = []
    for event, _, _ in items:
        flags.append(event.request_id in new and event.request_id not in seen)
        seen.add(event.request_id)
    return flags


async def _record_org(conn: asyncpg.Connection, items: list[Priced]) -> set[str]:
    first: dict[str, Priced] = {}
    for item in items:
        first.setdefault(item[0].request_id, item)
    unique = list(first.values())
    columns: list[list[object]] = [[] for _ in range(17)]
    for event, cost, priced in unique:
        row = (event.request_id, _ts(event), event.org_id, event.project_id, event.key_id, event.model, event.provider,
               event.status, event.prompt_tokens, event.completion_tokens, event.cached_tokens, event.estimated,
               event.latency_ms, event.stream, cost, priced, event.correlation_id)  # fmt: skip
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    new = {r["request_id"] for r in await conn.fetch(_INSERT_MANY, *columns)}
    fresh = [(event, cost) for event, cost, _ in unique if event.request_id in new]
    if not fresh:
        return new
    await conn.execute(_AGGREGATE_MANY, *_daily(fresh))
    await conn.execute(_SETTLE_MANY, [e.request_id for e, _ in fresh], [e.key_id for e, _ in fresh],
                       [cost for _, cost in fresh])  # fmt: skip
    leased = [e for e, _ in fresh if e.lease_id and e.held_micros > 0]
    if leased:
        await conn.execute(_SETTLE_LEASED_MANY, [e.key_id for e in leased], [e.lease_id for e in leased],
                           [e.held_micros for e in leased])  # fmt: skip
    return new


def _ts(event: UsageEvent) -> datetime:
    return datetime.fromtimestamp(event.ts / 1000, tz=UTC)


def _daily(fresh: list[tuple[UsageEvent, int]]) -> list[list[object]]:
    """The aggregate's increments, one row per (org, project, key, model, day), in key order."""
    sums: dict[tuple[str, str, str, str, date], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for event, cost in fresh:
        total = sums[(event.org_id, event.project_id, event.key_id, event.model, _ts(event).date())]
        increments = (1, event.prompt_tokens, event.completion_tokens, event.cached_tokens, cost)
        for i, increment in enumerate(increments):
            total[i] += increment
    columns: list[list[object]] = [[] for _ in range(10)]
    for key in sorted(sums):
        for column, value in zip(columns, (*key, *sums[key]), strict=True):
            column.append(value)
    return columns
