"""Signed checkpoints of the chains that grew (issue 13): off the event path, about once a second.

A head is signed only once it is shown to follow from the last position this service signed:
either this process's writer reached it by rows it wrote one after another from that checkpoint
(:data:`runs`; the hash signed is the writer's own), or the checkpointer re-hashes the stored rows
from the latest signed checkpoint to the head (each link, each checkpoint in between). A database superuser can recompute an unkeyed chain
and delete checkpoints, so the checkpointer also keeps the latest checkpoint it signed or checked
of every chain in memory, outside the database: if that one is missing or altered, it is written
back (verify then reports the rows that no longer match it), the chain is not signed, and an alarm
is logged (``audit chain tampered``: organisation, position, reason — never a key). A replica that
starts trusts the database's latest checkpoint (after its signature) until it has signed its own.

Heads are read without a lock (a writer holding a head while it appends does not stop a busy
chain from being signed); one replica checkpoints at a time (a transaction advisory lock; the
others skip the tick). A position is signed at most once per kind (primary key).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from libs.audit.record import COLUMNS, GENESIS, from_row, link
from libs.audit.signing import Signer, TrustedKeys, message
from libs.db.pool import TENANT_SETTING

log = logging.getLogger("bastion.audit")

LOCK_ID = 0x61756469_745F_6370  # "audit_cp"; one checkpointer at a time
_GROWN = """
SELECT c.org_id, c.chain_seq, c.hash FROM audit.chains c
WHERE c.chain_seq > coalesce((SELECT max(k.chain_seq) FROM audit.checkpoints k
                              WHERE k.org_id = c.org_id AND k.kind = 'head'), 0)
ORDER BY c.org_id
"""
_LATEST = """
SELECT k.* FROM unnest($1::text[]) AS o(org_id) CROSS JOIN unnest(ARRAY['head', 'prune']) AS t(kind)
CROSS JOIN LATERAL (SELECT c.org_id, c.kind, c.chain_seq, c.hash, c.signed_at, c.key_id, c.signature
                    FROM audit.checkpoints c WHERE c.org_id = o.org_id AND c.kind = t.kind
                    ORDER BY c.chain_seq DESC LIMIT 1) AS k
"""
_SIGNED = """
INSERT INTO audit.checkpoints (org_id, kind, chain_seq, hash, signed_at, key_id, signature)
SELECT o, $2::text, s, h, $3::timestamptz, $4::text, g FROM unnest($1::text[], $5::bigint[], $6::bytea[], $7::bytea[]) AS t(o, s, h, g)
ON CONFLICT DO NOTHING
"""
_RESTORE = """
INSERT INTO audit.checkpoints (org_id, kind, chain_seq, hash, signed_at, key_id, signature)
VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING
"""
_ROWS = (
    f"SELECT {', '.join(COLUMNS)} FROM audit.events"  # noqa: S608 - fixed column names
    " WHERE org_id = $1 AND chain_seq > $2 AND chain_seq <= $3 ORDER BY chain_seq LIMIT $4"
)
PAGE = 5000
_PINS = """
SELECT chain_seq, hash FROM audit.checkpoints
WHERE org_id = $1 AND kind IN ('head', 'prune') AND chain_seq > $2 AND chain_seq <= $3
"""


@dataclass(frozen=True)
class Signed:
    """A checkpoint as stored (what the checkpointer remembers of each chain)."""

    org_id: str
    kind: str
    chain_seq: int
    hash: bytes
    signed_at: datetime
    key_id: str
    signature: bytes


_remembered: dict[tuple[str, str], Signed] = {}
"""(key id, organisation) → the latest checkpoint this process signed or checked: kept outside
the database, so deleting or replacing it there is noticed."""


class Run:
    """Rows this process wrote one after another on a chain: from ``(from_seq, from_hash)`` (the
    head it found) to ``(to_seq, to_hash)`` (the head it left)."""

    __slots__ = ("from_hash", "from_seq", "to_hash", "to_seq")

    def __init__(self, from_seq: int, from_hash: bytes, to_seq: int, to_hash: bytes) -> None:
        self.from_seq, self.from_hash, self.to_seq, self.to_hash = from_seq, from_hash, to_seq, to_hash


runs: dict[str, Run] = {}
"""organisation → the run of rows this process's writer last appended (``services/audit/store.py``).
A head that this writer reached, by rows it wrote itself, from the very checkpoint the chain was
last signed at, is signed without a re-hash: its hash is the one the writer computed, not one read
back, so a row changed since in between breaks a link that verify checks against the signed head."""


def wrote(org: str, before: tuple[int, bytes], after: tuple[int, bytes]) -> None:
    """Note (after commit) that this process moved ``org``'s head from ``before`` to ``after``."""
    run = runs.get(org)
    if run is not None and (run.to_seq, run.to_hash) == before:
        run.to_seq, run.to_hash = after
    elif run is None or after[0] > run.to_seq:
        runs[org] = Run(*before, *after)


def remembered(signer: Signer, org_id: str) -> Signed | None:
    """The latest checkpoint of ``org_id`` this process vouches for."""
    return _remembered.get((signer.key_id, org_id))


def _remember(signer: Signer, cp: Signed) -> None:
    known = _remembered.get((signer.key_id, cp.org_id))
    if known is None or cp.chain_seq >= known.chain_seq:
        _remembered[(signer.key_id, cp.org_id)] = cp


def alarm(org_id: str, seq: int, reason: str) -> None:
    """Log that a chain was changed behind the audit service's back (no secret in it)."""
    log.error("audit chain tampered", extra={"org_id": org_id, "chain_seq": seq, "reason": reason})


async def sign(conn: asyncpg.Connection, signer: Signer, kind: str, heads: list[tuple[str, int, bytes]],
               signed_at: datetime | None = None) -> list[Signed]:  # fmt: skip
    """Insert a signed checkpoint of ``kind`` for each (organisation, chain_seq, hash); what was signed."""
    at = signed_at or datetime.now(UTC)
    signatures = [signer.sign(kind, org, seq, digest, at) for org, seq, digest in heads]
    await conn.execute(_SIGNED, [h[0] for h in heads], kind, at, signer.key_id, [h[1] for h in heads],
                       [h[2] for h in heads], signatures)  # fmt: skip
    return [Signed(org, kind, seq, digest, at, signer.key_id, g) for (org, seq, digest), g in zip(heads, signatures,
                                                                                                   strict=True)]  # fmt: skip


def _genuine(trusted: TrustedKeys, r: asyncpg.Record) -> Signed | None:
    """A stored checkpoint, if a trusted key (this service's, or an older one) signed it."""
    cp = Signed(r["org_id"], r["kind"], r["chain_seq"], bytes(r["hash"]), r["signed_at"], r["key_id"],
                bytes(r["signature"]))  # fmt: skip
    signed = message(cp.kind, cp.org_id, cp.chain_seq, cp.hash, cp.signed_at)
    return cp if trusted.verify(cp.key_id, cp.signature, signed) else None


async def follows(conn: asyncpg.Connection, org: str, base_seq: int, base_hash: bytes, head_seq: int,
                  head_hash: bytes) -> tuple[int, str] | None:  # fmt: skip
    """None if the stored rows after ``base_seq`` re-hash, link by link and matching every
    checkpoint on the way, from ``base_hash`` to ``head_hash`` at ``head_seq``; else (position, why)."""
    await conn.execute("SELECT set_config($1, $2, true)", TENANT_SETTING, org)
    pins = {r["chain_seq"]: bytes(r["hash"]) for r in await conn.fetch(_PINS, org, base_seq, head_seq)}
    seq, prev = base_seq, base_hash
    while rows := await conn.fetch(_ROWS, org, seq, head_seq, PAGE):
        for row in rows:
            record = from_row(row)
            if record.chain_seq != seq + 1:
                return seq + 1, "rows missing after the last signed checkpoint"
            if record.prev_hash != prev or link(prev, record) != record.hash:
                return record.chain_seq, "the chain does not follow from the last signed checkpoint"
            if pins.get(record.chain_seq, record.hash) != record.hash:
                return record.chain_seq, "a row differs from its signed checkpoint"
            seq, prev = record.chain_seq, record.hash
        if len(rows) < PAGE:
            break
    if seq != head_seq or prev != head_hash:
        return seq + 1, "the chain head is not the last stored row"
    return None


async def checkpoint(pool: asyncpg.Pool, signer: Signer, trusted: TrustedKeys | None = None) -> int:
    """Sign every grown chain head that follows from its last signed checkpoint; how many were
    signed. ``trusted``: the keys whose checkpoints a chain may continue from (default: the
    signer's; after a rotation, list the old public key too)."""
    trusted = trusted or TrustedKeys({signer.key_id: signer.public})
    async with pool.acquire() as conn, conn.transaction():
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", LOCK_ID):
            return 0
        rows = await conn.fetch(_GROWN)
        if not rows:
            return 0
        latest: dict[str, asyncpg.Record] = {}
        for cp in await conn.fetch(_LATEST, [r["org_id"] for r in rows]):  # the later of the head and prune
            if cp["org_id"] not in latest or cp["chain_seq"] > latest[cp["org_id"]]["chain_seq"]:
                latest[cp["org_id"]] = cp
        heads: list[tuple[str, int, bytes]] = []
        checked: list[Signed] = []
        reached: dict[str, tuple[Run, int, bytes]] = {}
        for r in rows:
            org, head_seq, head_hash = r["org_id"], r["chain_seq"], bytes(r["hash"])
            stored = latest.get(org)
            base = _genuine(trusted, stored) if stored is not None else None
            known = remembered(signer, org)
            if known is not None and (base is None or base.chain_seq < known.chain_seq
                                      or (base.chain_seq == known.chain_seq and base.hash != known.hash)):  # fmt: skip
                await conn.execute(_RESTORE, known.org_id, known.kind, known.chain_seq, known.hash, known.signed_at,
                                   known.key_id, known.signature)  # fmt: skip
                alarm(org, known.chain_seq, "the latest signed checkpoint was deleted or replaced; written back")
                continue
            if stored is not None and base is None:
                alarm(org, stored["chain_seq"], "the latest checkpoint is not signed by a trusted key")
                continue
            base_seq, base_hash = (base.chain_seq, base.hash) if base is not None else (0, GENESIS)
            run = runs.get(org)
            if run is not None and (run.from_seq, run.from_hash) == (base_seq, base_hash) and run.to_seq >= head_seq:
                head_seq, head_hash = run.to_seq, run.to_hash  # written here from that checkpoint: no re-hash
            elif broken := await follows(conn, org, base_seq, base_hash, head_seq, head_hash):
                alarm(org, broken[0], broken[1])
                continue
            if base is not None:
                checked.append(base)
            heads.append((org, head_seq, head_hash))
            if run is not None and (run.to_seq, run.to_hash) == (head_seq, head_hash):
                reached[org] = (run, head_seq, head_hash)
        if heads:
            checked += await sign(conn, signer, "head", heads)
    for cp in checked:  # committed: remembered
        _remember(signer, cp)
    for org, (run, seq, digest) in reached.items():  # the same run still: it goes on from the signed head
        if runs.get(org) is run:
            run.from_seq, run.from_hash = seq, digest
    return len(heads)
