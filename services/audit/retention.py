"""Retention per plan (issue 13): free 30 days, pro 90, enterprise its own setting (default 365).

One run at a time across replicas (a session advisory lock; a replica that does not get it skips
the run). For each chain, the run first signs a ``prune`` checkpoint at the last position whose
rows — and every row before it — are past the organisation's window, then removes them through
``audit.prune`` in batches (the function itself refuses rows that are not expired or not covered
by a prune checkpoint). A verifier then accepts the chain starting right after (or, if a run
stopped half-way, inside) the signed prune point, and nowhere later; head checkpoints survive
unless every row they pin is gone.
Each run is recorded in ``audit.retention_runs`` with its progress.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import asyncpg

from libs.audit.signing import Signer
from libs.db.pool import TENANT_SETTING
from services.audit.checkpoints import sign

log = logging.getLogger("bastion.audit")

LOCK_ID = 0x61756469_7472_6574  # "auditret"; one retention run at a time
_EXPIRED_THROUGH = """
SELECT coalesce(
    (SELECT min(chain_seq) FROM audit.events
     WHERE org_id = $1 AND ts >= now() - make_interval(days => audit.retention_days($1))) - 1,
    (SELECT max(chain_seq) FROM audit.events WHERE org_id = $1))
"""
_PRUNED_THROUGH = "SELECT coalesce(max(chain_seq), 0) FROM audit.checkpoints WHERE org_id = $1 AND kind = 'prune'"


@dataclass(frozen=True)
class Run:
    """What one retention run did."""

    run_id: int
    chains: int
    deleted: int


async def run(pool: asyncpg.Pool, signer: Signer, *, batch: int = 1000, instance: str = "") -> Run | None:
    """One retention run; None if another replica is running one."""
    async with pool.acquire() as conn:
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_ID):
            return None
        try:
            run_id = await conn.fetchval("INSERT INTO audit.retention_runs (instance) VALUES ($1) RETURNING id",
                                         instance)  # fmt: skip
            chains = deleted = 0
            try:
                for org in [r["org_id"] for r in await conn.fetch("SELECT org_id FROM audit.chains ORDER BY org_id")]:
                    await _mark(conn, signer, org)
                    while True:
                        removed = await conn.fetchval("SELECT audit.prune($1, $2)", org, batch)
                        deleted += removed
                        if removed:
                            await conn.execute("UPDATE audit.retention_runs SET deleted = $2 WHERE id = $1",
                                               run_id, deleted)  # fmt: skip
                        if removed < batch:
                            break
                    chains += 1
            except BaseException:
                await conn.execute("UPDATE audit.retention_runs SET status = 'failed', finished_at = now(),"
                                   " chains = $2, deleted = $3 WHERE id = $1", run_id, chains, deleted)  # fmt: skip
                raise
            await conn.execute("UPDATE audit.retention_runs SET status = 'done', finished_at = now(), chains = $2,"
                               " deleted = $3 WHERE id = $1", run_id, chains, deleted)  # fmt: skip
            if deleted:
                log.info("audit retention run", extra={"chains": chains, "deleted": deleted})
            return Run(run_id, chains, deleted)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_ID)


async def _mark(conn: asyncpg.Connection, signer: Signer, org: str) -> None:
    """Sign the chain's new prune point, if its expired prefix grew."""
    async with conn.transaction():
        await conn.execute("SELECT set_config($1, $2, true)", TENANT_SETTING, org)
        through = await conn.fetchval(_EXPIRED_THROUGH, org)
        if not through or through <= await conn.fetchval(_PRUNED_THROUGH, org):
            return
        digest = await conn.fetchval("SELECT hash FROM audit.events WHERE org_id = $1 AND chain_seq = $2", org, through)
        if digest is not None:
            await sign(conn, signer, "prune", [(org, through, bytes(digest))])
