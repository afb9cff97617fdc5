"""Audit's SQL: append events to the chain, idempotently: one at a time (:func:`append`) or a
batch in one transaction, the chain head locked and extended once (:func:`append_batch`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg

from libs.contracts.messages import AuditEvent
from libs.db.pool import TENANT_SETTING, tenant_tx
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


_FOREIGN_ACTORS = """
SELECT n FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS t(actor_type, actor_id, org_id, n)
WHERE actor_id <> $4 AND NOT audit.actor_belongs(actor_type, actor_id, org_id)
"""

_INSERT_MANY = """
INSERT INTO audit.events (seq, event_id, ts, org_id, actor_type, actor_id, action, resource, success,
    request_id, ip, user_agent, status, detail, prev_hash, hash)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[],
    $8::text[], $9::bool[], $10::text[], $11::text[], $12::text[], $13::int[], $14::jsonb[], $15::bytea[],
    $16::bytea[])
"""


async def append_batch(pool: asyncpg.Pool, events: Sequence[AuditEvent]) -> list[Rejected | None]:
    """Chain and insert ``events`` in one transaction, extending the chain once: the same rows
    and hashes as :func:`append` on each in turn. Per event ``None`` (stored, or already stored)
    or the :class:`Rejected` it was refused with (the others are stored all the same)."""
    outcomes: list[Rejected | None] = [None] * len(events)
    async with pool.acquire() as conn, conn.transaction():
        for n in await _foreign_actors(conn, events):
            outcomes[n] = Rejected("claims", "actor does not belong to the claimed organisation")
        head = await conn.fetchrow("SELECT hash FROM audit.chain_head FOR UPDATE")  # one writer at a time
        candidates = [e for e, outcome in zip(events, outcomes, strict=True) if outcome is None]
        known = await _known(conn, candidates)
        fresh: list[AuditEvent] = []
        for event in candidates:
            if event.event_id not in known:
                known.add(event.event_id)  # a second copy in the same batch is a redelivery too
                fresh.append(event)
        if not fresh:
            return outcomes
        seqs = sorted(r[0] for r in await conn.fetch(
            "SELECT nextval('audit.events_seq_seq') FROM generate_series(1, $1)", len(fresh)))  # fmt: skip
        prev_hash = GENESIS if head is None else bytes(head["hash"])
        rows: dict[str, list[tuple[object, ...]]] = defaultdict(list)
        for seq, event in zip(seqs, fresh, strict=True):
            digest = link(prev_hash, event)
            rows[event.org_id].append((seq, event, prev_hash, digest))
            prev_hash = digest
        for org, org_rows in rows.items():
            await _set_tenant(conn, org)
            await conn.execute(_INSERT_MANY, *_columns(org_rows))
        await conn.execute("UPDATE audit.chain_head SET seq = $1, hash = $2", seqs[-1], prev_hash)
    return outcomes


async def _foreign_actors(conn: asyncpg.Connection, events: Sequence[AuditEvent]) -> list[int]:
    """Indexes of events whose authenticated actor is not of the organisation they claim."""
    rows = await conn.fetch(_FOREIGN_ACTORS, [e.actor_type for e in events], [e.actor_id for e in events],
                            [e.org_id for e in events], UNAUTHENTICATED)  # fmt: skip
    return [int(r["n"]) - 1 for r in rows]


async def _known(conn: asyncpg.Connection, events: Sequence[AuditEvent]) -> set[str]:
    """The event ids already recorded (each organisation's looked up under its own tenant)."""
    by_org: dict[str, list[str]] = defaultdict(list)
    for event in events:
        by_org[event.org_id].append(event.event_id)
    known: set[str] = set()
    for org, ids in by_org.items():
        await _set_tenant(conn, org)
        rows = await conn.fetch("SELECT event_id FROM audit.events WHERE event_id = ANY($1::text[])", ids)
        known.update(r["event_id"] for r in rows)
    return known


async def _set_tenant(conn: asyncpg.Connection, org: str) -> None:
    await conn.execute("SELECT set_config($1, $2, true)", TENANT_SETTING, org)


def _columns(rows: list[tuple[object, ...]]) -> list[list[object]]:
    columns: list[list[object]] = [[] for _ in range(16)]
    for seq, event, prev_hash, digest in rows:
        assert isinstance(event, AuditEvent)
        values = (seq, event.event_id, datetime.fromtimestamp(event.ts / 1000, tz=UTC), event.org_id,
                  event.actor_type, event.actor_id, event.action, event.resource, event.success, event.request_id,
                  event.ip, event.user_agent, event.status, event.detail, prev_hash, digest)  # fmt: skip
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    return columns
