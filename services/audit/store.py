"""Audit's SQL: append one event to the chain, idempotently."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from libs.contracts.messages import AuditEvent
from services.audit.chain import GENESIS, link

_CHAIN_LOCK = 0x61756474  # "audt": one writer extends the chain at a time, across replicas

_INSERT = """
INSERT INTO audit.events (event_id, ts, org_id, actor_type, actor_id, action, resource, success,
    request_id, ip, user_agent, status, detail, prev_hash, hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
"""


async def append(pool: asyncpg.Pool, event: AuditEvent) -> bool:
    """Chain and insert ``event``; False if it was already recorded (a redelivery)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _CHAIN_LOCK)
        if await conn.fetchval("SELECT 1 FROM audit.events WHERE event_id = $1", event.event_id):
            return False
        prev = await conn.fetchval("SELECT hash FROM audit.events ORDER BY seq DESC LIMIT 1")
        prev_hash = GENESIS if prev is None else bytes(prev)
        await conn.execute(
            _INSERT,
            event.event_id,
            datetime.fromtimestamp(event.ts / 1000, tz=UTC),
            event.org_id,
            event.actor_type,
            event.actor_id,
            event.action,
            event.resource,
            event.success,
            event.request_id,
            event.ip,
            event.user_agent,
            event.status,
            event.detail,
            prev_hash,
            link(prev_hash, event),
        )
        return True
