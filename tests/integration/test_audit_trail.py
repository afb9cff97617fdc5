"""The audit trail on a real PostgreSQL (issue 13): the record, per-organisation chains that a
tenant verifies under row-level security, the three tamper cases as the database superuser,
two replicas appending to one chain, retention per plan, and the migration of existing rows."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import msgspec
import pytest

from libs.audit import stored
from libs.audit.chain import Report
from libs.audit.signing import Signer, TrustedKeys, generate_seed
from libs.contracts import normalise
from libs.contracts.messages import AuditEvent
from libs.db import migrate
from libs.db.pool import create_pool
from libs.stack import pg
from libs.svc.consumers import Rejected
from services.api import audit_store as api_audit
from services.api.audit_store import Filters
from services.audit import checkpoints, retention
from services.audit import store as audit_store
from tests.helpers import audit_chains, org_with_key, service_dsn

pytestmark = pytest.mark.integration

SIGNER = Signer.from_seed(generate_seed())
TRUSTED = TrustedKeys({SIGNER.key_id: SIGNER.public})
DAY_MS = 86_400_000


def _event(org: str, i: int, *, days_ago: float = 0, **kw: object) -> AuditEvent:
    ts = int(time.time() * 1000 - days_ago * DAY_MS)
    base: dict[str, object] = {
        "event_id": f"evt-{org}-{i}", "ts": ts, "org_id": org, "actor_type": "api_key", "actor_id": f"key-{org}",
        "action": "chat.completion", "success": True, "resource_type": "model", "resource_id": "m",
        "request_id": f"req-{org}-{i}", "ip": "10.0.0.1", "user_agent": "ua", "metadata": {"status": 200, "i": i},
    }  # fmt: skip
    return normalise.audit(AuditEvent(**{**base, **kw}))  # type: ignore[arg-type]


@pytest.fixture
async def pools(cluster: pg.Cluster, dsn: str) -> AsyncIterator[tuple[asyncpg.Pool, asyncpg.Pool, asyncpg.Pool]]:
    """(audit service, management API, superuser) pools."""
    made = [await create_pool(service_dsn(cluster, "audit")), await create_pool(service_dsn(cluster, "api")),
            await create_pool(dsn)]  # fmt: skip
    try:
        yield made[0], made[1], made[2]
    finally:
        for pool in made:
            await pool.close()


async def _org(dsn: str, prefix: str, plan: str = "free", retention_days: int | None = None) -> str:
    org = f"{prefix}{time.time_ns()}"
    await org_with_key(dsn, org)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("UPDATE auth.orgs SET plan = $2, audit_retention_days = $3 WHERE id = $1", org, plan,
                           retention_days)  # fmt: skip
    finally:
        await conn.close()
    return org


async def _verify(api: asyncpg.Pool, org: str) -> Report:
    """As the management API does: the tenant's own rows and checkpoints, under row-level security."""
    report = None
    async for step in stored.verify(api, org, TRUSTED):
        if isinstance(step, Report):
            report = step
    assert report is not None
    return report


async def _as_attacker(dsn: str, sql: str, *args: object) -> None:
    """The database superuser, triggers off (the append-only trigger is no obstacle to them)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET session_replication_role = replica")
        await conn.execute(sql, *args)
    finally:
        await conn.close()


async def _chain_of(audit: asyncpg.Pool, dsn: str, n: int, prefix: str) -> str:
    org = await _org(dsn, prefix)
    assert await audit_store.append_batch(audit, [_event(org, i) for i in range(n)]) == [None] * n
    assert await checkpoints.checkpoint(audit, SIGNER) >= 1
    return org


async def test_records_have_the_specified_fields_and_a_tenant_verifies_its_own_chain(
    pools: tuple[asyncpg.Pool, asyncpg.Pool, asyncpg.Pool], dsn: str
) -> None:
    audit, api, _ = pools
    org, other = await _org(dsn, "orgrec"), await _org(dsn, "orgoth")
    await audit_store.append_batch(audit, [_event(org, i) for i in range(5)] + [_event(other, 0)])
    assert await audit_store.append(audit, _event(org, 1)) is False  # a redelivery
    [newest, *_] = await api_audit.page(api, org, Filters(), limit=10, cursor=None)
    assert (newest.id, newest.user_id, newest.organization_id, newest.resource_type, newest.resource_id) == (
        f"evt-{org}-4", f"key-{org}", org, "model", "m")  # fmt: skip
    assert (newest.metadata, newest.ip_address, newest.actor_type, newest.chain_seq) == (
        {"status": 200, "i": 4}, "10.0.0.1", "api_key", 5)  # fmt: skip
    report = await _verify(api, org)
    assert (report.ok, report.rows_checked, report.unsigned_tail) == (True, 5, 5)
    await checkpoints.checkpoint(audit, SIGNER)
    report = await _verify(api, org)
    assert (report.ok, report.last_checkpoint_seq, report.unsigned_tail, report.key_ids) == (
        True, 5, 0, [SIGNER.key_id])  # fmt: skip
    # under row-level security a tenant reads nothing of another chain, not even by asking for it
    assert await api_audit.page(api, org, Filters(), limit=10, cursor=None) != []
    async with api.acquire() as conn, conn.transaction():
        await conn.execute("SELECT set_config('bastion.org_id', $1, true)", org)
        assert await conn.fetchval("SELECT count(*) FROM audit.events WHERE org_id = $1", other) == 0
        assert await conn.fetchval("SELECT count(*) FROM audit.checkpoints WHERE org_id = $1", other) == 0
        assert await conn.fetchval("SELECT count(*) FROM audit.chains WHERE org_id <> $1", org) == 0


async def test_an_edited_row_is_detected(pools: tuple[asyncpg.Pool, asyncpg.Pool, asyncpg.Pool], dsn: str) -> None:
    audit, api, _ = pools
    org = await _chain_of(audit, dsn, 10, "orgedit")
    await _as_attacker(dsn, "UPDATE audit.events SET success = false WHERE org_id = $1 AND chain_seq = 4", org)
    report = await _verify(api, org)
    assert (report.ok, report.first_bad_seq) == (False, 4)
    assert "edited" in report.reason


async def test_an_edited_row_with_recomputed_hashes_is_detected_by_the_checkpoint(
    pools: tuple[asyncpg.Pool, asyncpg.Pool, asyncpg.Pool], dsn: str
) -> None:
    """The attacker knows the algorithm (it is public): they rewrite the row and every later hash."""
    audit, api, _ = pools
    org = await _chain_of(audit, dsn, 6, "orgrehash")
    rows = list(await api_audit.page(api, org, Filters(), limit=10, cursor=None, newest_first=False))
    prev = rows[2].prev_hash
    from libs.audit.record import link

    for row in rows[2:]:
        changed = msgspec.structs.replace(
            row, prev_hash=prev, user_id="someone-else" if row.chain_seq == 3 else row.user_id
        )
        digest = link(prev, changed)
        await _as_attacker(dsn, "UPDATE audit.events SET user_id = $3, prev_hash = $4, hash = $5"
                                " WHERE org_id = $1 AND chain_seq = $2", org, row.chain_seq, changed.user_id, prev,
                           digest)  # fmt: skip
        prev = digest
    await _as_attacker(dsn, "UPDATE audit.chains SET hash = $2 WHERE org_id = $1", org, prev)
    report = await _verify(api, org)
    assert (report.ok, report.first_bad_seq) == (False, 6)  # the signed head no longer matches


async def test_a_deleted_middle_row_is_detected(
    pools: tuple[asyncpg.Pool, asyncpg.Pool, asyncpg.Pool], dsn: str
) -> None:
    audit, api, _ = pools
    org = await _chain_of(audit, dsn, 10, "orgmid")
    await _as_attacker(dsn, "DELETE FROM audit.events WHERE org_id = $1 AND chain_seq = 5", org)
    report = await _verify(api, org)
    assert (report.ok, report.first_bad_seq) == (False, 5)


async def test_a_truncated_tail_is_detected(pools: tuple[asyncpg.Pool, asyncpg.Pool, asyncpg.Pool], dsn: str) -> None:
    audit, api, _ = pools
    org = await _chain_of(audit, dsn, 10, "orgtail")
    await _as_attacker(dsn, "DELETE FROM audit.events WHERE org_id = $1 AND chain_seq > 7", org)
    report = await _verify(api, org)
    assert (report.ok, report.first_bad_seq) == (False, 8)
    await _as_attacker(dsn, "DELETE FROM audit.events WHERE org_id = $1", org)  # everything
    report = await _verify(api, org)
    assert (report.ok, report.first_bad_seq) == (False, 1)


async def test_two_replicas_appending_to_one_chain_never_fork_it(
    cluster: pg.Cluster, pools: tuple[asyncpg.Pool, asyncpg.Pool, asyncpg.Pool], dsn: str
) -> None:
    audit, api, _ = pools
    org = await _org(dsn, "orgrace")
    other = await create_pool(service_dsn(cluster, "audit"))  # a second replica
    try:
        batches = [[_event(org, b * 10 + i) for i in range(10)] for b in range(20)]
        # each batch twice, once per replica, all at the same time: redeliveries racing each other
        outcomes = await asyncio.gather(*(audit_store.append_batch(pool, batch) for batch in batches
                                          for pool in (audit, other)), return_exceptions=True)  # fmt: skip
    finally:
        await other.close()
    assert [o for o in outcomes if isinstance(o, BaseException)] == []
    seqs = [r.chain_seq for r in await api_audit.page(api, org, Filters(), limit=1000, cursor=None)]
    assert sorted(seqs) == list(range(1, 201))  # every event once, no position twice, no gap
    assert (await _verify(api, org)).ok


async def test_a_forged_organisation_is_refused_and_hostile_metadata_stored_verifiably(
    pools: tuple[asyncpg.Pool, asyncpg.Pool, asyncpg.Pool], dsn: str
) -> None:
    audit, api, _ = pools
    own, victim = await _org(dsn, "orgown"), await _org(dsn, "orgvic")
    forged = _event(victim, 0, actor_id=f"key-{own}")  # own key, filed under the victim
    with pytest.raises(Rejected):
        await audit_store.append(audit, forged)
    hostile = _event(own, 1, metadata={"nul\x00": "a\x00b", "big": 2**80, "huge": "x" * 100_000, "whole": 1e20,
                                       "deep": {"a": {"b": {"c": {"d": [1]}}}}, "n": [0.1] * 100})  # fmt: skip
    assert await audit_store.append(audit, hostile) is True
    [kept] = await api_audit.page(api, own, Filters(), limit=5, cursor=None)
    assert kept.metadata["nul\ufffd"] == "a\ufffdb"
    assert kept.metadata["big"] == str(2**80)
    assert len(json.dumps(kept.metadata)) <= normalise.METADATA_MAX_BYTES + 200
    assert (await _verify(api, own)).ok
    assert await api_audit.page(api, victim, Filters(), limit=5, cursor=None) == []


async def test_filters_and_cursor_paging(pools: tuple[asyncpg.Pool, asyncpg.Pool, asyncpg.Pool], dsn: str) -> None:
    audit, api, _ = pools
    org = await _org(dsn, "orgfilt")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("INSERT INTO auth.admin_tokens (id, org_id, role, lookup, hash, masked)"
                           " VALUES ($1, $2, 'owner', $1, '-', '-')", f"tok-{org}", org)  # fmt: skip
    finally:
        await conn.close()
    events = [_event(org, i, days_ago=10 - i, success=i % 2 == 0, action="api_key.created" if i < 5 else "chat.completion",
                     actor_type="management_token" if i < 5 else "api_key",
                     actor_id=f"tok-{org}" if i < 5 else f"key-{org}") for i in range(10)]  # fmt: skip
    assert await audit_store.append_batch(audit, events) == [None] * 10

    async def ids(**kw: object) -> list[str]:
        return [r.id for r in await api_audit.page(api, org, Filters(**kw), limit=100, cursor=None)]  # type: ignore[arg-type]

    assert len(await ids(action="api_key.*")) == 5
    assert len(await ids(action="chat.completion", success=True)) == 2  # 6, 8
    assert await ids(since=datetime.now(UTC) - timedelta(days=2.5)) == [f"evt-{org}-9", f"evt-{org}-8"]
    assert len(await ids(until=datetime.now(UTC) - timedelta(days=5.5))) == 5
    assert len(await ids(actor_type="management_token", resource_type="model", resource_id="m")) == 5
    assert await ids(user_id="nobody") == []
    pages, cursor = [], None
    while True:
        rows = await api_audit.page(api, org, Filters(), limit=3, cursor=cursor)
        pages.append([r.id for r in rows])
        if len(rows) < 3:
            break
        cursor = rows[-1].chain_seq
    assert [i for p in pages for i in p] == [f"evt-{org}-{i}" for i in range(9, -1, -1)]
    exported = [r.id async for r in api_audit.each(api, org, Filters(), batch=4)]
    assert exported == [f"evt-{org}-{i}" for i in range(10)]  # oldest first, in pages


async def test_retention_per_plan_keeps_every_chain_verifiable(
    pools: tuple[asyncpg.Pool, asyncpg.Pool, asyncpg.Pool], dsn: str
) -> None:
    audit, api, admin = pools
    ages = [400, 250, 120, 60, 35, 10, 1]  # days, oldest first
    plans = {"free": (None, 30), "pro": (None, 90), "enterprise": (None, 365), "enterprise-200": (200, 200)}
    orgs = {}
    for name, (days, _) in plans.items():
        org = await _org(dsn, "orgret", plan=name.split("-")[0], retention_days=days)
        events = [_event(org, i, days_ago=age) for i, age in enumerate(ages)]
        await audit_store.append_batch(audit, events[:2])
        await checkpoints.checkpoint(audit, SIGNER)  # a head checkpoint at 2: pruned with its rows
        await audit_store.append_batch(audit, events[2:])
        await checkpoints.checkpoint(audit, SIGNER)
        orgs[name] = org
    run = await retention.run(audit, SIGNER, batch=2)
    assert run is not None
    assert run.deleted >= sum(sum(age > keep for age in ages) for _, keep in plans.values())
    for name, (_, keep) in plans.items():
        kept = [r.id for r in await api_audit.page(api, orgs[name], Filters(), limit=100, cursor=None)]
        assert sorted(kept) == sorted(f"evt-{orgs[name]}-{i}" for i, age in enumerate(ages) if age <= keep), name
        report = await _verify(api, orgs[name])
        assert report.ok, (name, report)
        assert report.pruned_through == sum(age > keep for age in ages)
        assert report.last_checkpoint_seq == len(ages)  # the head checkpoint survived pruning
        heads = [r["chain_seq"] for r in await admin.fetch(
            "SELECT chain_seq FROM audit.checkpoints WHERE org_id = $1 AND kind = 'head' ORDER BY 1", orgs[name])]  # fmt: skip
        through = sum(age > keep for age in ages)
        assert heads == ([len(ages)] if through >= 2 else [2, len(ages)]), name  # the one at 2 goes with its rows
    status = await admin.fetchrow("SELECT status, deleted, finished_at FROM audit.retention_runs WHERE id = $1",
                                  run.run_id)  # fmt: skip
    assert (status["status"], status["deleted"]) == ("done", run.deleted)
    # the chain goes on after pruning, and deleting a kept row is still found
    free = orgs["free"]
    await audit_store.append(audit, _event(free, 99))
    assert (await _verify(api, free)).ok
    first_kept = sum(age > 30 for age in ages) + 1
    await _as_attacker(dsn, "DELETE FROM audit.events WHERE org_id = $1 AND chain_seq = $2", free, first_kept)
    report = await _verify(api, free)
    assert (report.ok, report.first_bad_seq) == (False, first_kept)


async def test_one_retention_run_at_a_time_and_the_audit_role_cannot_prune_what_is_not_expired(
    pools: tuple[asyncpg.Pool, asyncpg.Pool, asyncpg.Pool], dsn: str
) -> None:
    audit, api, admin = pools
    org = await _org(dsn, "orglock")
    await audit_store.append_batch(audit, [_event(org, i, days_ago=1) for i in range(5)])
    async with admin.acquire() as holder:
        await holder.execute("SELECT pg_advisory_lock($1)", retention.LOCK_ID)  # another replica's run
        try:
            assert await retention.run(audit, SIGNER) is None
        finally:
            await holder.execute("SELECT pg_advisory_unlock($1)", retention.LOCK_ID)
    # a prune point signed over recent rows (a compromised audit role) still removes nothing
    head = await admin.fetchrow("SELECT chain_seq, hash FROM audit.chains WHERE org_id = $1", org)
    async with audit.acquire() as conn:
        await checkpoints.sign(conn, SIGNER, "prune", [(org, head["chain_seq"], bytes(head["hash"]))])
        assert await conn.fetchval("SELECT audit.prune($1, 100)", org) == 0
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("DELETE FROM audit.events WHERE org_id = $1", org)
    assert len(await api_audit.page(api, org, Filters(), limit=10, cursor=None)) == 5


async def test_existing_rows_migrate_to_the_record_and_their_chains_verify(cluster: pg.Cluster, dsn: str) -> None:
    database = f"legacy{time.time_ns()}"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()
    legacy_dsn = cluster.dsn(database=database)
    every = migrate.discover()
    await migrate.apply(legacy_dsn, [m for m in every if m.version < 15])
    conn = await asyncpg.connect(legacy_dsn)
    try:
        prev = b"\x00" * 32
        rows = [("orga", "api_key", "key1", "model:gpt-4o", {"provider": "mock", "latency_ms": "12"}, 200),
                ("", "admin_token", "unknown", "-", {"reason": "auth.key_invalid", "count": "3"}, 401),
                ("orga", "admin_token", "tok1", "model_alias:prj/fast:v2", {}, 0),
                ("orgb", "user", "u1", "nocolon", {"quote\"and\\back": "é\u2028"}, 201)]  # fmt: skip
        for i, (org, actor_type, actor, resource, detail, status) in enumerate(rows):
            digest = hashlib.sha256(prev + str(i).encode()).digest()  # the old global chain (not re-checked)
            await conn.execute(
                "INSERT INTO audit.events (event_id, ts, org_id, actor_type, actor_id, action, resource, success,"
                " request_id, ip, user_agent, status, detail, prev_hash, hash)"
                " VALUES ($1, $2, $3, $4, $5, 'x.y', $6, $7, 'r', '10.0.0.1', 'ua', $8, $9::jsonb, $10, $11)",
                f"evt{i}", datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC), org, actor_type, actor, resource,
                i % 2 == 0, status, json.dumps(detail), prev, digest,
            )  # fmt: skip
            prev = digest
    finally:
        await conn.close()
    await migrate.apply(legacy_dsn)
    conn = await asyncpg.connect(legacy_dsn)
    try:
        await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
        got = {r["event_id"]: r for r in await conn.fetch("SELECT * FROM audit.events")}
        heads = {r["org_id"]: r["chain_seq"] for r in await conn.fetch("SELECT * FROM audit.chains")}
    finally:
        await conn.close()
    assert (got["evt0"]["resource_type"], got["evt0"]["resource_id"], got["evt0"]["user_id"]) == (
        "model",
        "gpt-4o",
        "key1",
    )
    assert got["evt0"]["metadata"] == {"provider": "mock", "latency_ms": "12", "status": 200}
    assert (got["evt1"]["resource_type"], got["evt1"]["resource_id"], got["evt1"]["actor_type"]) == (
        "", "", "management_token")  # fmt: skip
    assert (got["evt2"]["resource_type"], got["evt2"]["resource_id"], got["evt2"]["metadata"]) == (
        "model_alias", "prj/fast:v2", {})  # fmt: skip
    assert (got["evt3"]["resource_id"], got["evt3"]["actor_type"]) == ("nocolon", "person")
    assert (got["evt0"]["chain_seq"], got["evt2"]["chain_seq"], got["evt3"]["chain_seq"]) == (1, 2, 1)
    assert heads == {"orga": 2, "": 1, "orgb": 1}
    reports = await audit_chains(legacy_dsn)
    assert {org: r.ok for org, r in reports.items()} == {"orga": True, "": True, "orgb": True}, reports
