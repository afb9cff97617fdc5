"""Signed checkpoints of the chains that grew (issue 13): off the event path, about once a second.

Each tick signs the head of every chain that moved since its last checkpoint (``head`` kind) in
one transaction, skipping heads a writer holds at that moment (``SKIP LOCKED``: the next tick
takes them). Replicas may tick at the same time; a position is signed at most once per kind
(primary key), so two replicas never disagree.
"""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from libs.audit.signing import Signer

_GROWN = """
SELECT org_id, chain_seq, hash FROM audit.chains WHERE chain_seq > checkpoint_seq ORDER BY org_id
FOR UPDATE SKIP LOCKED
"""
_SIGNED = """
INSERT INTO audit.checkpoints (org_id, kind, chain_seq, hash, signed_at, key_id, signature)
SELECT o, $2::text, s, h, $3::timestamptz, $4::text, g FROM unnest($1::text[], $5::bigint[], $6::bytea[], $7::bytea[]) AS t(o, s, h, g)
ON CONFLICT DO NOTHING
"""
_MARK = """
UPDATE audit.chains c SET checkpoint_seq = t.s FROM unnest($1::text[], $2::bigint[]) AS t(o, s)
WHERE c.org_id = t.o AND c.checkpoint_seq < t.s
"""


async def sign(conn: asyncpg.Connection, signer: Signer, kind: str, heads: list[tuple[str, int, bytes]],
               signed_at: datetime | None = None) -> None:  # fmt: skip
    """Insert a signed checkpoint of ``kind`` for each (organisation, chain_seq, hash)."""
    at = signed_at or datetime.now(UTC)
    signatures = [signer.sign(kind, org, seq, digest, at) for org, seq, digest in heads]
    await conn.execute(_SIGNED, [h[0] for h in heads], kind, at, signer.key_id, [h[1] for h in heads],
                       [h[2] for h in heads], signatures)  # fmt: skip


async def checkpoint(pool: asyncpg.Pool, signer: Signer) -> int:
    """Sign every grown chain head; how many were signed."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(_GROWN)
        if not rows:
            return 0
        heads = [(r["org_id"], r["chain_seq"], bytes(r["hash"])) for r in rows]
        await sign(conn, signer, "head", heads)
        await conn.execute(_MARK, [h[0] for h in heads], [h[1] for h in heads])
    return len(heads)
