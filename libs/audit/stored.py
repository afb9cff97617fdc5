"""Verify a chain from the database: its rows and checkpoints read in the organisation's own
transaction (row-level security applies: a tenant verifies its own chain; ``''`` is the chain of
rows no organisation could be tied to, which a transaction without a tenant sees).

Checkpoints and rows are read in one read-only ``REPEATABLE READ`` transaction — one snapshot —
so a retention run that signs a prune point and removes rows meanwhile is not seen half-way (a
false "rows missing")."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg

from libs.audit.chain import Checkpoint, Report, Verifier
from libs.audit.record import COLUMNS, from_row
from libs.audit.signing import TrustedKeys
from libs.db.pool import TENANT_SETTING

_SELECT = f"SELECT {', '.join(COLUMNS)} FROM audit.events"  # noqa: S608 - fixed column names
VERIFY_PAGE = 5000


async def verify(pool: asyncpg.Pool, org_id: str, trusted: TrustedKeys) -> AsyncIterator[int | Report]:
    """Verify the organisation's chain from its own rows: the number of rows checked after each
    page (progress), then the :class:`Report`."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        await conn.execute("SELECT set_config($1, $2, true)", TENANT_SETTING, org_id)
        checkpoints = [Checkpoint(kind=r["kind"], org_id=r["org_id"], chain_seq=r["chain_seq"], hash=bytes(r["hash"]),
                                  signed_at=r["signed_at"], key_id=r["key_id"], signature=bytes(r["signature"]))
                       for r in await conn.fetch("SELECT * FROM audit.checkpoints WHERE org_id = $1", org_id)]  # fmt: skip
        verifier = Verifier(org_id, checkpoints, trusted)
        after, checked = 0, 0
        while True:
            rows = await conn.fetch(f"{_SELECT} WHERE org_id = $1 AND chain_seq > $2 ORDER BY chain_seq LIMIT $3",
                                    org_id, after, VERIFY_PAGE)  # fmt: skip
            for row in rows:
                verifier.feed(from_row(row))
            checked += len(rows)
            if len(rows) < VERIFY_PAGE:
                break
            after = rows[-1]["chain_seq"]
            yield checked
    yield verifier.finish()
