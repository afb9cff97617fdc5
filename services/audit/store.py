"""Audit's SQL: append events to their organisation's chain, idempotently, a batch in one
transaction (:func:`append_batch`; :func:`append` is a batch of one).

Each organisation has its own chain (``''``: events no organisation could be tied to). A batch
locks the heads of the chains it extends (``audit.chains``, in organisation order, so two
replicas never deadlock), skips events already stored, then inserts each organisation's rows
under its own tenant (row-level security checks every row) and moves the heads. Two replicas
extending one chain wait for each other on its head; ``UNIQUE (org_id, chain_seq)`` would refuse a
fork even if they did not.

A timestamp more than :data:`SKEW_MS` in the future is stored as now + that skew, the publisher's
own kept in ``metadata.published_ts``: retention removes a chain's expired prefix, so one row
dated years ahead would otherwise keep every later row of its organisation past the window.

A writer remembers the last head it wrote of each chain (outside the database): a head found
behind it, or at the same position with another hash, was moved by someone else (a truncated or
rewritten tail) — an alarm is logged, the events are still stored (losing them would be worse),
and the checkpointer refuses to sign that chain (``services/audit/checkpoints.py``).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence

import asyncpg
import msgspec

from libs.audit.record import AuditRecord, at_millis, link_values
from libs.contracts.messages import AuditEvent
from libs.db.pool import TENANT_SETTING
from libs.svc.consumers import Rejected
from services.audit import checkpoints

SKEW_MS = 5 * 60 * 1000
"""How far ahead of the audit service's clock a publisher's timestamp may be."""
UNAUTHENTICATED = "unknown"
"""The actor of a refused credential (no organisation; ``services/audit/claims.py``)."""

_INSERT_MANY = """
INSERT INTO audit.events (event_id, ts, user_id, org_id, action, resource_type, resource_id, metadata, ip_address,
    user_agent, success, actor_type, request_id, chain_seq, prev_hash, hash)
SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
    $8::jsonb[], $9::text[], $10::text[], $11::bool[], $12::text[], $13::text[], $14::bigint[], $15::bytea[],
    $16::bytea[])
"""
_MAKE_HEADS = "INSERT INTO audit.chains (org_id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING"
_HEADS = "SELECT org_id, chain_seq, hash FROM audit.chains WHERE org_id = ANY($1::text[]) ORDER BY org_id FOR UPDATE"
_MOVE_HEADS = """
UPDATE audit.chains c SET chain_seq = h.seq, hash = h.hash, updated_at = now()
FROM unnest($1::text[], $2::bigint[], $3::bytea[]) AS h(org_id, seq, hash) WHERE c.org_id = h.org_id
"""
_FOREIGN_ACTORS = """
SELECT n FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS t(actor_type, actor_id, org_id, n)
WHERE actor_id <> $4 AND NOT audit.actor_belongs(actor_type, actor_id, org_id)
"""


async def append(pool: asyncpg.Pool, event: AuditEvent) -> bool:
    """Chain and insert ``event``; False if it was already recorded (a redelivery).

    Raises :class:`Rejected` (the consumer dead-letters it) if an authenticated actor does not
    belong to the organisation the event claims.
    """
    outcome = (await _append(pool, [event]))[0]
    if isinstance(outcome, Rejected):
        raise outcome
    return outcome


async def append_batch(pool: asyncpg.Pool, events: Sequence[AuditEvent]) -> list[Rejected | None]:
    """Chain and insert ``events`` in one transaction, in their order within each chain. Per event
    ``None`` (stored, or already stored) or the :class:`Rejected` it was refused with (the others
    are stored all the same)."""
    return [None if isinstance(o, bool) else o for o in await _append(pool, events)]


async def _append(pool: asyncpg.Pool, events: Sequence[AuditEvent]) -> list[Rejected | bool]:
    outcomes: list[Rejected | bool] = [False] * len(events)
    async with pool.acquire() as conn, conn.transaction():
        for n in await _foreign_actors(conn, events):
            outcomes[n] = Rejected("claims", "actor does not belong to the claimed organisation")
        candidates = [(i, e) for i, e in enumerate(events) if outcomes[i] is False]
        if not candidates:
            return outcomes
        orgs = sorted({e.org_id for _, e in candidates})
        heads = {r["org_id"]: (r["chain_seq"], bytes(r["hash"])) for r in await conn.fetch(_HEADS, orgs)}
        if len(heads) < len(orgs):  # a chain's first event: make its head, then lock them all in order
            await conn.execute(_MAKE_HEADS, orgs)
            heads = {r["org_id"]: (r["chain_seq"], bytes(r["hash"])) for r in await conn.fetch(_HEADS, orgs)}
        _check_heads(heads)
        found = dict(heads)
        known = await _known(conn, [e for _, e in candidates])  # after the lock: a sibling's commit is seen
        by_org: dict[str, list[AuditRecord]] = defaultdict(list)
        latest = int(time.time() * 1000) + SKEW_MS
        for i, event in candidates:
            if event.event_id in known:
                continue
            known.add(event.event_id)  # a second copy in the same batch is a redelivery too
            seq, prev = heads[event.org_id]
            record = _record(event if event.ts <= latest else _clamped(event, latest), seq + 1, prev)
            by_org[event.org_id].append(record)
            heads[event.org_id] = (seq + 1, record.hash)
            outcomes[i] = True
        for org, records in by_org.items():
            await _set_tenant(conn, org)
            await conn.execute(_INSERT_MANY, *_columns(records))
        if by_org:
            moved = list(by_org)
            await conn.execute(_MOVE_HEADS, moved, [heads[o][0] for o in moved], [heads[o][1] for o in moved])
    for org in by_org:  # committed: remember the heads written
        checkpoints.wrote(org, found[org], heads[org])
    return outcomes


def _check_heads(heads: dict[str, tuple[int, bytes]]) -> None:
    """Alarm on a head this process wrote further, or differently, than the database now says."""
    for org, (seq, digest) in heads.items():
        mine = checkpoints.runs.get(org)
        if mine is not None and (seq < mine.to_seq or (seq == mine.to_seq and digest != mine.to_hash)):
            checkpoints.alarm(org, seq, "the chain head was moved back or rewritten since this writer last extended it")


def _record(event: AuditEvent, chain_seq: int, prev_hash: bytes) -> AuditRecord:
    ts = at_millis(event.ts)
    digest = link_values(prev_hash, [chain_seq, event.org_id, event.event_id, event.ts * 1000, event.actor_type,
                                     event.actor_id, event.action, event.resource_type, event.resource_id,
                                     event.success, event.request_id, event.ip, event.user_agent, event.metadata])  # fmt: skip
    return AuditRecord(
        id=event.event_id, timestamp=ts, user_id=event.actor_id, organization_id=event.org_id,
        action=event.action, resource_type=event.resource_type, resource_id=event.resource_id,
        metadata=event.metadata, ip_address=event.ip, user_agent=event.user_agent, success=event.success,
        actor_type=event.actor_type, request_id=event.request_id, chain_seq=chain_seq, prev_hash=prev_hash,
        hash=digest,
    )  # fmt: skip


def _clamped(event: AuditEvent, latest: int) -> AuditEvent:
    return msgspec.structs.replace(event, ts=latest, metadata={**event.metadata, "published_ts": event.ts})


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


def _columns(records: list[AuditRecord]) -> list[list[object]]:
    return [
        [r.id for r in records], [r.timestamp for r in records], [r.user_id for r in records],
        [r.organization_id for r in records], [r.action for r in records], [r.resource_type for r in records],
        [r.resource_id for r in records], [r.metadata for r in records], [r.ip_address for r in records],
        [r.user_agent for r in records], [r.success for r in records], [r.actor_type for r in records],
        [r.request_id for r in records], [r.chain_seq for r in records], [r.prev_hash for r in records],
        [r.hash for r in records],
    ]  # fmt: skip
