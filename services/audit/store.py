"""Audit's SQL: append one event to the chain, idempotently."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from libs.contracts.messages import AuditEvent
from libs.db.pool import tenant_tx
from libs.svc.consumers import Rejected
from services.audit.chain import GENESIS, link

UNAUTHENTICATED = "unknown"
"""The actor of a refused credential (no organisation; ``services/audit/claims.py``)."""

_INSERT = """
INSERT INTO audit.events (event_id, ts, org_id, actor_type, actor_id, action, resource, success,
    request_id, ip, user_agent, status, detail, prev_hash, hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
RETURNING seq
"""


async def append(pool: asyncpg.Pool, event: AuditEvent) -> bool:
    """Chain and insert ``event``; False if it was already recorded (a redelivery).

    Raises :class:`Rejected` (the consumer dead-letters it) if an authenticated actor does not
    belong to the organisation the event claims.
    """
    async with tenant_tx(pool, event.org_id) as conn:
        if event.actor_id != UNAUTHENTICATED and not await conn.fetchval(
            "SELECT audit.actor_belongs($1, $2, $3)", event.actor_type, event.actor_id, event.org_id
        ):
            raise Rejected("claims", "actor does not belong to the claimed organisation")
        # Row lock on the chain head: one writer extends the chain at a time, across replicas.
        head = await conn.fetchrow("SELECT hash FROM audit.chain_head FOR UPDATE")
        if await conn.fetchval("SELECT 1 FROM audit.events WHERE event_id = $1", event.event_id):
            return False
        prev_hash = GENESIS if head is None else bytes(head["hash"])
        digest = link(prev_hash, event)
        seq = await conn.fetchval(
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
            digest,
        )
        await conn.execute("UPDATE audit.chain_head SET seq = $1, hash = $2", seq, digest)
        return True
