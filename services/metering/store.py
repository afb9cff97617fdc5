"""Metering's SQL: one row per request (idempotent by request id) and the daily aggregate,
updated in the same transaction only when the row is new — a redelivered event changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from libs.contracts.messages import UsageEvent
from libs.db.pool import tenant_tx
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
