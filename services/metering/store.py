"""Metering's SQL: one row per request, idempotent by request id."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from libs.contracts.messages import UsageEvent
from libs.db.pool import tenant_tx

_INSERT = """
INSERT INTO metering.usage_events (
    request_id, ts, org_id, project_id, key_id, model, provider, status,
    prompt_tokens, completion_tokens, cached_tokens, estimated, latency_ms, stream)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
ON CONFLICT (request_id) DO NOTHING
"""


async def record(pool: asyncpg.Pool, event: UsageEvent) -> bool:
    """Insert ``event``; False if this request id was already recorded (a redelivery)."""
    async with tenant_tx(pool, event.org_id) as conn:
        status = await conn.execute(
            _INSERT,
            event.request_id,
            datetime.fromtimestamp(event.ts / 1000, tz=UTC),
            event.org_id,
            event.project_id,
            event.key_id,
            event.model,
            event.provider,
            event.status,
            event.prompt_tokens,
            event.completion_tokens,
            event.cached_tokens,
            event.estimated,
            event.latency_ms,
            event.stream,
        )
    return bool(status.endswith(" 1"))
