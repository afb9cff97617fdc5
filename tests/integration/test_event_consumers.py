"""Usage and audit events through real JetStream into real Postgres: exactly once, chain intact."""

from __future__ import annotations

import asyncio
import functools
import time

import asyncpg
import nats
import pytest

from libs.contracts.messages import AuditEvent, UsageEvent
from libs.db.pool import create_pool
from libs.stack import pg
from libs.svc.events import EventPublisher
from libs.svc.streams import provision
from services.audit import handlers as audit_handlers
from services.audit import store as audit_store
from services.metering import handlers as metering_handlers
from services.metering import store as metering_store
from tests.helpers import Consumers, broken_audit_chains, org_with_key, service_dsn


def usage(i: int, org: str) -> UsageEvent:
    return UsageEvent(request_id=f"req-{org}-{i}", ts=int(time.time() * 1000), org_id=org, project_id="prj1",
                      key_id="key1", model="m", provider="mock", status=200, prompt_tokens=i, completion_tokens=1)  # fmt: skip


def audit(i: int, org: str) -> AuditEvent:
    return AuditEvent(event_id=f"evt-{org}-{i}", ts=int(time.time() * 1000), org_id=org, actor_type="api_key",
                      actor_id=f"key-{org}", action="chat.completion", resource="model:m", success=True,
                      request_id=f"req-{org}-{i}")  # fmt: skip


async def _priced_batch(pool: asyncpg.Pool, events: list[UsageEvent]) -> list[bool]:
    return await metering_store.record_batch(pool, [(e, 0, False) for e in events])


async def _count(pool: asyncpg.Pool, sql: str, org: str) -> int:
    return int(await pool.fetchval(sql, org))


async def test_events_are_stored_exactly_once_and_chained(nats_url: str, cluster: pg.Cluster, dsn: str) -> None:
    org = f"org{time.time_ns()}"
    await org_with_key(dsn, org)  # audit events must name an actor of their organisation
    pool = await create_pool(dsn)  # superuser: reads every tenant's rows for the checks below
    metering_pool = await create_pool(service_dsn(cluster, "metering"))
    audit_pool = await create_pool(service_dsn(cluster, "audit"))
    consumers = Consumers(nats_url)
    consumers.add(metering_handlers.consumer(functools.partial(metering_store.record, metering_pool),
                               record_batch=functools.partial(_priced_batch, metering_pool)))  # fmt: skip
    consumers.add(audit_handlers.consumer(functools.partial(audit_store.append, audit_pool),
                            append_batch=functools.partial(audit_store.append_batch, audit_pool)))  # fmt: skip
    nc = await nats.connect(nats_url)
    await provision(nc.jetstream())  # as the operator does: services never create their durables
    publisher = EventPublisher(nc, concurrency=4)
    publisher.start()
    await consumers.start()
    try:
        for i in range(50):
            publisher.usage(usage(i, org))
            publisher.audit(audit(i, org), source="edge")
        for i in range(0, 50, 5):  # redeliveries / retries of the same ids
            publisher.usage(usage(i, org))
            publisher.audit(audit(i, org), source="edge")
        await publisher.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            u = await _count(pool, "SELECT count(*) FROM metering.usage_events WHERE org_id = $1", org)
            a = await _count(pool, "SELECT count(*) FROM audit.events WHERE org_id = $1", org)
            if u >= 50 and a >= 50:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        assert await _count(pool, "SELECT count(*) FROM metering.usage_events WHERE org_id = $1", org) == 50
        # The daily aggregate counted each request once, redeliveries included.
        assert await _count(pool, "SELECT sum(requests)::int FROM metering.daily WHERE org_id = $1", org) == 50
        assert await _count(pool, "SELECT sum(prompt_tokens)::int FROM metering.daily WHERE org_id = $1", org) == sum(
            range(50)
        )
        assert await _count(pool, "SELECT count(*) FROM audit.events WHERE org_id = $1", org) == 50
        # A duplicate delivered straight to the store is a no-op.
        assert await metering_store.record(metering_pool, usage(1, org)) is False
        assert await audit_store.append(audit_pool, audit(1, org)) is False
        assert await broken_audit_chains(dsn, [org]) == {}  # every chain verifies from its stored rows
    finally:
        await consumers.stop()
        await nc.drain()
        await pool.close()
        await metering_pool.close()
        await audit_pool.close()


async def test_audit_rows_cannot_be_updated_or_deleted_by_services(cluster: pg.Cluster, dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    audit_conn = await asyncpg.connect(service_dsn(cluster, "audit"))
    try:
        await conn.execute(
            "INSERT INTO audit.events (event_id, ts, org_id, actor_type, user_id, action, success, chain_seq,"
            " prev_hash, hash) VALUES ($1, now(), 'orgx', 'system', 's', 'test.row', true, $3, '\\x00', $2)",
            f"evt-upd-{time.time_ns()}", str(time.time_ns()).encode(), time.time_ns(),
        )  # fmt: skip
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("UPDATE audit.events SET resource_id = 'x'")  # even the owner
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await audit_conn.execute("DELETE FROM audit.events")
    finally:
        await conn.close()
        await audit_conn.close()
