"""Adversarial review of the audit trail (issue 13, branch h/audit): attacks that work, as failing
tests. Each test states the attack and the guarantee it breaks (docs/audit.md)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import msgspec
import pytest

from libs.audit import stored
from libs.audit.chain import Report
from libs.audit.record import link
from libs.db.pool import create_pool
from libs.stack import pg
from services.api import audit_store as api_audit
from services.api.audit_store import Filters
from services.audit import checkpoints, retention
from services.audit import store as audit_store
from tests.helpers import service_dsn
from tests.integration import test_audit_trail as base
from tests.integration.test_audit_trail import (
    DAY_MS,
    SIGNER,
    TRUSTED,
    _as_attacker,
    _event,
    _org,
    _verify,
)

pools = base.pools  # the (audit service, management API, superuser) pools fixture

pytestmark = pytest.mark.integration

Pools = tuple[asyncpg.Pool, asyncpg.Pool, asyncpg.Pool]


async def _rows(api: asyncpg.Pool, org: str) -> list[Any]:
    return list(await api_audit.page(api, org, Filters(), limit=1000, cursor=None, newest_first=False))


async def test_a_rewritten_tail_is_not_signed_over_by_the_checkpointer(pools: Pools, dsn: str) -> None:
    """The database superuser rewrites the rows after an older checkpoint (recomputing their hashes:
    the chain is unkeyed), deletes the newer checkpoints and moves ``audit.chains`` to the forged
    head. The checkpointer signs ``audit.chains.hash`` without checking that it descends from the
    last position it signed, so the next genuine event gets the forgery signed by the service
    itself: verify is ok, nothing is unsigned, and the earlier verify report (no hash, no signature
    in it) cannot show the difference. Issue 13: "rewriting … [is] detected"."""
    audit, api, _ = pools
    org = await _org(dsn, "revrewrite")
    await audit_store.append_batch(audit, [_event(org, i) for i in range(3)])
    await checkpoints.checkpoint(audit, SIGNER)  # head at 3
    await audit_store.append_batch(audit, [_event(org, i) for i in range(3, 7)])
    await checkpoints.checkpoint(audit, SIGNER)  # head at 7
    before = await _verify(api, org)
    assert (before.ok, before.last_checkpoint_seq) == (True, 7)

    rows = await _rows(api, org)
    prev = rows[2].hash
    for row in rows[3:]:  # rows 4..7: the failed refusals become successes
        forged = msgspec.structs.replace(row, prev_hash=prev, success=not row.success)
        digest = link(prev, forged)
        await _as_attacker(dsn, "UPDATE audit.events SET success = $3, prev_hash = $4, hash = $5"
                                " WHERE org_id = $1 AND chain_seq = $2", org, row.chain_seq, forged.success, prev,
                           digest)  # fmt: skip
        prev = digest
    await _as_attacker(dsn, "DELETE FROM audit.checkpoints WHERE org_id = $1 AND chain_seq > 3", org)
    await _as_attacker(dsn, "UPDATE audit.chains SET hash = $2, checkpoint_seq = 3 WHERE org_id = $1", org, prev)

    await audit_store.append(audit, _event(org, 7))  # life goes on
    await checkpoints.checkpoint(audit, SIGNER)
    after = await _verify(api, org)
    assert not after.ok, f"a rewritten tail verifies, re-signed by the audit service: {after}"


async def test_a_truncated_tail_with_its_checkpoints_is_not_papered_over_by_new_events(pools: Pools, dsn: str) -> None:
    """The superuser deletes rows 5..7 and the checkpoints that cover them, and moves the head back
    to row 4. The writer and the checkpointer carry on from the forged head, so once three more
    events arrive the chain is as long as before, fully signed, and verifies: the "shorter chain" the
    docs say a saved report would reveal is not even shorter. Issue 13: "truncating the tail [is]
    detected"."""
    audit, api, _ = pools
    org = await _org(dsn, "revtrunc")
    await audit_store.append_batch(audit, [_event(org, i) for i in range(3)])
    await checkpoints.checkpoint(audit, SIGNER)
    await audit_store.append_batch(audit, [_event(org, i) for i in range(3, 7)])
    await checkpoints.checkpoint(audit, SIGNER)
    before = await _verify(api, org)
    row4 = (await _rows(api, org))[3]
    await _as_attacker(dsn, "DELETE FROM audit.events WHERE org_id = $1 AND chain_seq > 4", org)
    await _as_attacker(dsn, "DELETE FROM audit.checkpoints WHERE org_id = $1 AND chain_seq > 3", org)
    await _as_attacker(dsn, "UPDATE audit.chains SET chain_seq = 4, hash = $2, checkpoint_seq = 3 WHERE org_id = $1",
                       org, row4.hash)  # fmt: skip
    await audit_store.append_batch(audit, [_event(org, i) for i in range(7, 10)])
    await checkpoints.checkpoint(audit, SIGNER)
    after = await _verify(api, org)
    assert (after.last_seq, after.last_checkpoint_seq, after.unsigned_tail) == (7, 7, 0)  # looks just like before
    assert before.last_seq == after.last_seq
    assert not after.ok, f"rows 5..7 were deleted and the chain verifies: {after}"


class _Reads:
    """A connection that runs a retention run right after its first ``fetch`` (verify's read of
    the checkpoints) returns, before the rows are read, whether or not both are in one transaction."""

    def __init__(self, conn: asyncpg.Connection, audit: asyncpg.Pool) -> None:
        self._conn, self._audit, self._fetches = conn, audit, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    async def fetch(self, *args: Any) -> Any:
        rows = await self._conn.fetch(*args)
        self._fetches += 1
        if self._fetches == 1:
            await retention.run(self._audit, SIGNER, batch=1000)
        return rows


class _RetentionBetweenReads:
    """A pool that runs a retention run right after verify has read the checkpoints: what happens
    when a tenant verifies while the hourly run on an audit replica prunes. (Review fix: it used
    to run the retention at the second ``acquire``, which tests only verify's old shape of one
    transaction per read and cannot fire once verify reads in one transaction.)"""

    def __init__(self, pool: asyncpg.Pool, audit: asyncpg.Pool) -> None:
        self._pool, self._audit = pool, audit

    @asynccontextmanager
    async def _acquire(self) -> AsyncIterator[Any]:
        async with self._pool.acquire() as conn:
            yield _Reads(conn, self._audit)

    def acquire(self) -> Any:
        return self._acquire()


async def test_verify_during_a_retention_run_does_not_report_a_pruned_chain_as_tampered(pools: Pools, dsn: str) -> None:
    """``stored.verify`` reads the checkpoints in one transaction and the rows in later ones; a
    retention run that signs a new prune point and deletes rows in between makes an untouched chain
    report "rows … missing (not pruned)": a false tamper alarm (and an alarm that fires now and then
    is one people learn to ignore)."""
    audit, api, _ = pools
    org = await _org(dsn, "revrace")  # free plan: 30 days
    await audit_store.append_batch(audit, [_event(org, i, days_ago=40) for i in range(3)]
                                   + [_event(org, i, days_ago=1) for i in range(3, 6)])  # fmt: skip
    await checkpoints.checkpoint(audit, SIGNER)
    report = None
    async for step in stored.verify(_RetentionBetweenReads(api, audit), org, TRUSTED):
        if isinstance(step, Report):
            report = step
    assert report is not None
    assert len(await _rows(api, org)) == 3  # the run did prune in between
    assert report.ok, f"an untouched chain reported broken while it was pruned: {report}"


async def test_a_future_dated_event_does_not_stop_retention_of_its_chain(pools: Pools, dsn: str) -> None:
    """The publisher's ``ts`` was stored as given (only clamped to year 9999). Retention prunes the
    longest prefix of expired rows, so one event dated in the future — a publisher's clock, or a
    compromised edge — kept every later row of that organisation for as long, past its plan's
    window (issue 13: free 30 days). Stored, it is dated at most ``SKEW_MS`` ahead (the publisher's
    time kept in ``metadata.published_ts``), so it expires with its window and frees what follows.
    (Review fix: the test asserted that rows 45-50 days old stored *after* it go at once, which no
    prefix-pruned chain can do while a present-dated row precedes them; the bound is its window.)"""
    audit, api, _ = pools
    org = await _org(dsn, "revfuture")  # free plan: 30 days
    future = int(time.time() * 1000) + 3650 * DAY_MS
    await audit_store.append_batch(audit, [_event(org, 0, days_ago=60), _event(org, 1, ts=future),
                                           _event(org, 2, days_ago=50), _event(org, 3, days_ago=45)])  # fmt: skip
    await checkpoints.checkpoint(audit, SIGNER)
    await retention.run(audit, SIGNER)
    kept = {r.id: r for r in await _rows(api, org)}
    assert f"evt-{org}-0" not in kept
    dated = kept[f"evt-{org}-1"]
    assert dated.timestamp.timestamp() * 1000 <= time.time() * 1000 + audit_store.SKEW_MS, (
        f"stored {dated.timestamp}: it holds back every later row of the chain until then"
    )
    assert dated.metadata["published_ts"] == future
    assert (await _verify(api, org)).ok


async def test_an_owner_cannot_erase_the_audit_history_by_shortening_retention(pools: Pools, dsn: str) -> None:
    """``PATCH /v1/org {"audit_retention_days": 1}`` (an enterprise owner, or a stolen owner token;
    ``services/api/controllers/tenancy.py``) applies at once to every row already stored: the next
    hourly run signs a prune point and removes everything older than a day — the trail of what the
    owner did last week, and a day later the ``org.updated`` record of the change itself — and the
    chain still verifies, so nothing shows that history was cut. A shortened window should not reach
    rows recorded under the longer one (or retention needs a floor no tenant can lower)."""
    audit, api, admin = pools
    org = await _org(dsn, "reverase", plan="enterprise")  # 365 days
    await audit_store.append_batch(audit, [_event(org, i, days_ago=10 - i) for i in range(5)])  # 10..6 days old
    await checkpoints.checkpoint(audit, SIGNER)
    await admin.execute("UPDATE auth.orgs SET audit_retention_days = 1 WHERE id = $1", org)  # what the PATCH runs
    await retention.run(audit, SIGNER)
    kept = await _rows(api, org)
    report = await _verify(api, org)
    assert report.ok  # nothing looks wrong
    assert len(kept) == 5, f"{5 - len(kept)} rows recorded under a 365-day window erased by the owner's PATCH"


async def test_a_verify_report_holds_the_signed_checkpoint_a_tenant_is_told_to_keep(pools: Pools, dsn: str) -> None:
    """docs/audit.md answers the tail-and-checkpoints deletion with "keep the latest checkpoint from
    a verify report outside the database", but the report holds only its position and time — not
    the signed hash, not the signature — and no endpoint lists checkpoints: a tenant can keep
    nothing it could check a later chain against, and cannot verify its export offline either. So
    every verify is the operator's own server vouching for the operator's own database."""
    audit, api, _ = pools
    org = await _org(dsn, "revkeep")
    await audit_store.append_batch(audit, [_event(org, i) for i in range(3)])
    await checkpoints.checkpoint(audit, SIGNER)
    shown = msgspec.to_builtins(await _verify(api, org))
    assert any("signature" in k for k in shown), f"nothing signed to keep in the report: {sorted(shown)}"
    assert any(k.endswith("hash") for k in shown), f"no checkpoint hash in the report: {sorted(shown)}"


async def test_a_busy_chain_is_still_checkpointed_about_once_a_second(
    cluster: pg.Cluster, pools: Pools, dsn: str
) -> None:
    """The checkpointer skips every head a writer holds (``FOR UPDATE SKIP LOCKED``), and two audit
    replicas appending to one busy chain hand its head lock to each other back to back: the chain is
    almost never free when the checkpointer ticks, so it goes unsigned for as long as the load lasts,
    and its rows stay rewritable without trace (docs/audit.md: "about once a second", "under a
    second's worth" unsigned). Seen: 1 checkpoint in 25 ticks over 5 s, 6900 rows unsigned."""
    audit, api, _ = pools
    org = await _org(dsn, "revbusy")
    other = await create_pool(service_dsn(cluster, "audit"))  # a second replica
    stop = asyncio.Event()

    async def writer(pool: asyncpg.Pool, w: int) -> None:
        b = 0
        while not stop.is_set():
            await audit_store.append_batch(pool, [_event(org, w * 10**6 + b * 100 + i) for i in range(100)])
            b += 1

    writers = [asyncio.create_task(writer(p, w)) for w, p in enumerate((audit, other))]
    try:
        await asyncio.sleep(0.5)
        for _ in range(25):  # 5 s of checkpointer ticks, 5 a second (the service ticks once a second)
            await asyncio.sleep(0.2)
            await checkpoints.checkpoint(audit, SIGNER)
    finally:
        stop.set()
        await asyncio.gather(*writers)
        await other.close()
    async with audit.acquire() as conn:
        signed = await conn.fetchval("SELECT count(*) FROM audit.checkpoints WHERE org_id = $1 AND kind = 'head'", org)
    report = await _verify(api, org)
    assert signed >= 5, (
        f"{signed} checkpoints in 5 s of load; {report.unsigned_tail} of {report.last_seq} rows unsigned"
    )


async def test_a_tenant_does_not_learn_how_much_other_tenants_do(pools: Pools, dsn: str) -> None:
    """Every record the API shows carries ``seq`` — the global insertion order across all
    organisations — and ``next_cursor`` is one. The gap between two of a tenant's own records is the
    number of audit records every other organisation made in between: polling its own trail, a
    tenant reads a competitor's activity (requests, key operations, refused logins) minute by minute.
    The chain's own ``chain_seq`` would page as well without saying anything about anyone else."""
    audit, api, _ = pools
    me, them = await _org(dsn, "revme"), await _org(dsn, "revthem")
    await audit_store.append(audit, _event(me, 0))
    await audit_store.append_batch(audit, [_event(them, i) for i in range(7)])
    await audit_store.append(audit, _event(me, 1))
    newer, older = (msgspec.to_builtins(r) for r in await api_audit.page(api, me, Filters(), limit=2, cursor=None))
    leaked = [k for k in newer if isinstance(newer[k], int) and newer[k] - older[k] == 8]
    assert leaked == [], f"{leaked}: the other organisation's 7 records show as a gap in mine"
