"""Durable consumers in batches on real JetStream and PostgreSQL (issue 11): a pull's events in one
transaction, the audit chain extended once per batch with the same hashes as one by one, a
poison message dead-lettered alone, redeliveries stored nothing twice, acks only after commit."""

from __future__ import annotations

import asyncio
import functools
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
from nats.aio.client import Client
from nats.js.api import ConsumerConfig

from libs.contracts import subjects
from libs.contracts.codec import encode
from libs.contracts.messages import AuditEvent, UsageEvent
from libs.db.pool import create_pool
from libs.stack import operator, pg
from libs.svc import streams
from libs.svc.consumers import DurableConsumer, Rejected
from services.audit import handlers as audit_handlers
from services.audit import store as audit_store
from services.metering import handlers as metering_handlers
from services.metering import store as metering_store
from tests.helpers import Consumers, broken_audit_chains, org_with_key, service_dsn


def _usage(rid: str, org: str, **kw: Any) -> UsageEvent:
    return UsageEvent(request_id=rid, ts=int(time.time() * 1000), org_id=org, project_id="prj1", key_id=f"key-{org}",
                      model=kw.pop("model", "m"), provider="mock", status=200, prompt_tokens=2, **kw)  # fmt: skip


def _audit(eid: str, org: str, actor: str | None = None) -> AuditEvent:
    return AuditEvent(event_id=eid, ts=int(time.time() * 1000), org_id=org, actor_type="api_key",
                      actor_id=actor or f"key-{org}", action="chat.completion", resource="model:m", success=True,
                      detail={"correlation_id": eid})  # fmt: skip


async def _publish_usage(nc: Client, event: UsageEvent) -> None:
    """Straight onto the stream, without a message id: a copy is a new stream message (a redelivery)."""
    await nc.jetstream().publish(subjects.usage_event(event.org_id), encode(event), timeout=5)


async def _publish_audit(nc: Client, event: AuditEvent) -> None:
    await nc.jetstream().publish(subjects.audit_event("edge", "chat", "completion"), encode(event), timeout=5)


async def _eventually(check: Callable[[], Awaitable[bool]], timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.1)
    return False


async def _drained(nc: Client, stream: str, durable: str) -> bool:
    info = await nc.jetstream().consumer_info(stream, durable)
    return info.num_pending == 0 and info.num_ack_pending == 0


def _sizes(batch: Callable[[list[Any]], Awaitable[Any]], sizes: list[int]) -> Callable[[list[Any]], Awaitable[Any]]:
    async def counted(events: list[Any]) -> Any:
        sizes.append(len(events))
        return await batch(events)

    return counted


async def _priced(pool: asyncpg.Pool, events: list[UsageEvent]) -> list[bool]:
    return await metering_store.record_batch(pool, [(e, 7, True) for e in events])


async def _chain_rows(admin: asyncpg.Pool, org: str) -> list[asyncpg.Record]:
    return list(await admin.fetch("SELECT chain_seq, event_id, prev_hash, hash FROM audit.events WHERE org_id = $1"
                                  " ORDER BY chain_seq", org))  # fmt: skip


async def test_a_batch_chains_exactly_as_one_by_one_in_stream_order_and_skips_what_is_stored(
    bus: tuple[str, Client], cluster: pg.Cluster, dsn: str
) -> None:
    url, nc = bus
    orgs = [f"orgba{time.time_ns()}", f"orgbb{time.time_ns()}"]
    for org in orgs:
        await org_with_key(dsn, org)
    admin = await create_pool(dsn)
    pool = await create_pool(service_dsn(cluster, "audit"))
    events = [_audit(f"{orgs[i % 2]}-{i}", orgs[i % 2]) for i in range(60)]  # two tenants, interleaved
    assert await audit_store.append(pool, events[3]) is True  # one already stored, one by one
    for event in [*events, events[10]]:  # and one copy inside the batch
        await _publish_audit(nc, event)
    sizes: list[int] = []
    consumers = Consumers(url)
    consumers.add(audit_handlers.consumer(functools.partial(audit_store.append, pool),
                            append_batch=_sizes(functools.partial(audit_store.append_batch, pool), sizes)))  # fmt: skip
    await consumers.start()
    try:
        assert await _eventually(lambda: _drained(nc, subjects.AUDIT_STREAM, subjects.AUDIT_DURABLE))
        assert max(sizes) > 10  # stored in batches, not one by one
        assert len(sizes) < 20
        expected_order = [events[3], *(e for i, e in enumerate(events) if i != 3)]
        for org in orgs:  # each once, in stream order, on its own organisation's chain
            rows = await _chain_rows(admin, org)
            assert [r["event_id"] for r in rows] == [e.event_id for e in expected_order if e.org_id == org]
            assert [r["chain_seq"] for r in rows] == list(range(1, 31))
            head = await admin.fetchrow("SELECT chain_seq, hash FROM audit.chains WHERE org_id = $1", org)
            assert (head["chain_seq"], bytes(head["hash"])) == (30, bytes(rows[-1]["hash"]))
        assert await audit_store.append(pool, _audit(f"{orgs[0]}-after", orgs[0])) is True  # one by one goes on
        assert await broken_audit_chains(dsn, orgs) == {}
        assert await operator.list_dead_letters(nc) == []
    finally:
        await consumers.stop()
        await pool.close()
        await admin.close()


async def test_one_forged_claim_in_a_batch_is_dead_lettered_and_the_rest_stored(
    bus: tuple[str, Client], cluster: pg.Cluster, dsn: str
) -> None:
    url, nc = bus
    own, victim = f"orgbo{time.time_ns()}", f"orgbv{time.time_ns()}"
    key = await org_with_key(dsn, own)
    await org_with_key(dsn, victim)
    admin = await create_pool(dsn)
    pool = await create_pool(service_dsn(cluster, "audit"))
    events = [_audit(f"{own}-{i}", own) for i in range(20)]
    events[7] = _audit(f"{own}-forged", victim, actor=key)
    outcomes = await audit_store.append_batch(pool, events[:0])  # an empty batch is a no-op
    assert outcomes == []
    for event in events:
        await _publish_audit(nc, event)
    sizes: list[int] = []
    consumers = Consumers(url)
    consumers.add(audit_handlers.consumer(functools.partial(audit_store.append, pool),
                            append_batch=_sizes(functools.partial(audit_store.append_batch, pool), sizes)))  # fmt: skip
    await consumers.start()
    try:
        assert await _eventually(lambda: _drained(nc, subjects.AUDIT_STREAM, subjects.AUDIT_DURABLE))
        assert max(sizes) > 1
        stored = {r["event_id"] for r in await admin.fetch("SELECT event_id FROM audit.events WHERE org_id = ANY($1)",
                                                           [own, victim])}  # fmt: skip
        assert stored == {e.event_id for e in events} - {f"{own}-forged"}
        [letter] = await operator.list_dead_letters(nc)
        assert (letter["reason"], letter["detail"]) == ("claims", "actor does not belong to the claimed organisation")
        assert await broken_audit_chains(dsn, [own, victim]) == {}
    finally:
        await consumers.stop()
        await pool.close()
        await admin.close()


async def test_a_poison_message_in_a_batch_is_dead_lettered_alone_and_redeliveries_store_nothing_twice(
    bus: tuple[str, Client], cluster: pg.Cluster, dsn: str
) -> None:
    """Without normalisation, the database refuses a NUL: the whole batch fails, is stored again one
    by one, and only the poison message is dead-lettered. Copies of stored events change nothing."""
    url, nc = bus
    org = f"orgbp{time.time_ns()}"
    admin = await create_pool(dsn)
    pool = await create_pool(service_dsn(cluster, "metering"))
    await admin.execute("INSERT INTO metering.budgets (key_id, org_id, reserved_micros) VALUES ($1, $2, 1000)",
                        f"key-{org}", org)  # fmt: skip
    events = [_usage(f"{org}-{i}", org) for i in range(30)]
    events[12] = _usage(f"{org}-poison", org, model="m\x00")
    for event in events:
        await _publish_usage(nc, event)
    sizes: list[int] = []
    singles: list[str] = []

    async def one(event: UsageEvent) -> bool:
        singles.append(event.request_id)
        return await metering_store.record(pool, event, 7, True)

    consumers = Consumers(url)
    consumers.add(DurableConsumer(streams.METERING, UsageEvent, one,
                     store_batch=_sizes(functools.partial(_batch_none, pool), sizes)))  # fmt: skip
    await consumers.start()

    async def totals() -> tuple[int, int, int, int]:
        row = await admin.fetchrow(
            "SELECT (SELECT count(*) FROM metering.usage_events WHERE org_id = $1)::int AS n,"
            " (SELECT sum(requests) FROM metering.daily WHERE org_id = $1)::int AS requests,"
            " (SELECT sum(prompt_tokens) FROM metering.daily WHERE org_id = $1)::int AS tokens,"
            " (SELECT spent_micros FROM metering.budgets WHERE org_id = $1)::int AS spent", org)  # fmt: skip
        return row["n"], row["requests"], row["tokens"], row["spent"]

    try:
        assert await _eventually(lambda: _drained(nc, subjects.USAGE_STREAM, subjects.METERING_DURABLE))
        assert max(sizes) > 1
        assert singles.count(f"{org}-poison") == 1  # isolated by storing its batch one by one
        assert await totals() == (29, 29, 58, 29 * 7)
        [letter] = await operator.list_dead_letters(nc)
        assert (letter["reason"], letter["detail"]) == ("unstorable", "CharacterNotInRepertoireError")
        for event in events[:20]:  # redelivered (another copy of each on the stream): a batch of no-ops
            await _publish_usage(nc, event)
        assert await _eventually(lambda: _drained(nc, subjects.USAGE_STREAM, subjects.METERING_DURABLE))
        assert await totals() == (29, 29, 58, 29 * 7)
        assert len(await operator.list_dead_letters(nc)) == 2  # the poison copy again, nothing else
    finally:
        await consumers.stop()
        await pool.close()
        await admin.close()


async def _batch_none(pool: asyncpg.Pool, events: list[UsageEvent]) -> list[Rejected | None]:
    await _priced(pool, events)
    return [None] * len(events)


async def test_batched_metering_matches_one_by_one(cluster: pg.Cluster, dsn: str) -> None:
    """The same events stored as one batch and one by one leave the same rows, aggregates and budgets."""
    admin = await create_pool(dsn)
    pool = await create_pool(service_dsn(cluster, "metering"))
    totals = []
    try:
        for mode in ("one", "batch"):
            org = f"orgbm{mode}{time.time_ns()}"
            key = f"key-{org}"
            await admin.execute("INSERT INTO metering.budgets (key_id, org_id, reserved_micros) VALUES ($1, $2, 50)",
                                key, org)  # fmt: skip
            for rid, amount in ((f"{org}-1", 30), (f"{org}-2", 30), (f"{org}-lease", 40)):
                await admin.execute("INSERT INTO metering.reservations (request_id, key_id, org_id, amount, expires_at)"
                                    " VALUES ($1, $2, $3, $4, now() + interval '1 hour')", rid, key, org, amount)  # fmt: skip
            events = [_usage(f"{org}-{i}", org, model=f"m{i % 2}", completion_tokens=i) for i in range(1, 6)]
            events += [_usage(f"{org}-l{i}", org, lease_id=f"{org}-lease", held_micros=15) for i in range(4)]
            events.append(events[0])  # a copy
            items = [(e, 10 + i, True) for i, e in enumerate(events)]
            if mode == "one":
                flags = [await metering_store.record(pool, *item) for item in items]
            else:
                flags = await metering_store.record_batch(pool, items)
            assert flags == [True] * 9 + [False]
            totals.append(await _metering_state(admin, org))
        assert totals[0] == totals[1]
    finally:
        await pool.close()
        await admin.close()


async def _metering_state(admin: asyncpg.Pool, org: str) -> tuple[object, ...]:
    daily = await admin.fetch("SELECT model, requests, prompt_tokens, completion_tokens, cost_micros"
                              " FROM metering.daily WHERE org_id = $1 ORDER BY model", org)  # fmt: skip
    budget = await admin.fetchrow("SELECT spent_micros, reserved_micros FROM metering.budgets WHERE org_id = $1", org)
    left = await admin.fetch("SELECT amount FROM metering.reservations WHERE org_id = $1 ORDER BY amount", org)
    rows = await admin.fetchval("SELECT count(*) FROM metering.usage_events WHERE org_id = $1", org)
    return [tuple(r) for r in daily], tuple(budget), [r["amount"] for r in left], rows


CHILD = textwrap.dedent("""
    import asyncio, functools, os, signal, sys
    from libs.db.pool import create_pool
    from tests.helpers import Consumers
    from services.audit import handlers as audit_handlers, store as audit_store
    from services.metering import handlers as metering_handlers, store as metering_store

    async def main() -> None:
        url, which, dsn = sys.argv[1:4]
        pool = await create_pool(dsn)
        consumers = Consumers(url)

        async def then_die(events, store):
            out = await store(pool, events)  # committed ...
            print("committed", len(events), flush=True)
            os.kill(os.getpid(), signal.SIGKILL)  # ... and killed before any ack
            return out

        if which == "audit":
            consumers.add(audit_handlers.consumer(functools.partial(audit_store.append, pool),
                                    append_batch=lambda e: then_die(e, audit_store.append_batch)))
        else:
            async def priced(pool, events):
                await metering_store.record_batch(pool, [(e, 0, False) for e in events])
                return [True] * len(events)
            consumers.add(metering_handlers.consumer(functools.partial(metering_store.record, pool),
                                       record_batch=lambda e: then_die(e, priced)))
        await consumers.start()
        await asyncio.sleep(60)

    asyncio.run(main())
""")


async def test_killed_between_commit_and_ack_the_batch_is_redelivered_not_lost_nor_doubled(
    bus: tuple[str, Client], cluster: pg.Cluster, dsn: str
) -> None:
    url, nc = bus
    org = f"orgbk{time.time_ns()}"
    await org_with_key(dsn, org)
    js = nc.jetstream()
    for spec in streams.CONSUMERS:  # redelivered after 1 s instead of 30 s
        await js.delete_consumer(spec.stream.name, spec.durable)
        config = streams.consumer_config(spec)
        await js.add_consumer(spec.stream.name, ConsumerConfig(**{**config.as_dict(), "ack_wait": 1.0}))
    for i in range(40):
        await _publish_usage(nc, _usage(f"{org}-{i}", org))
        await _publish_audit(nc, _audit(f"{org}-{i}", org))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for which in ("metering", "audit"):
        child = subprocess.run([sys.executable, "-c", CHILD, url, which, service_dsn(cluster, which)],
                               capture_output=True, text=True, timeout=60, env=env, check=False)  # fmt: skip
        assert child.returncode == -9, child.stderr[-2000:]
        assert "committed" in child.stdout
    admin = await create_pool(dsn)
    metering_pool = await create_pool(service_dsn(cluster, "metering"))
    audit_pool = await create_pool(service_dsn(cluster, "audit"))

    async def counts() -> tuple[int, int, int]:
        return (int(await admin.fetchval("SELECT count(*) FROM metering.usage_events WHERE org_id = $1", org)),
                int(await admin.fetchval("SELECT coalesce(sum(requests), 0) FROM metering.daily WHERE org_id = $1",
                                         org)),
                int(await admin.fetchval("SELECT count(*) FROM audit.events WHERE org_id = $1", org)))  # fmt: skip

    first = await counts()
    assert first[0] >= 1  # the killed consumers committed a batch each ...
    assert first[2] >= 1
    for spec in streams.CONSUMERS:
        assert (await js.consumer_info(spec.stream.name, spec.durable)).num_ack_pending > 0  # ... and acked nothing
    consumers = Consumers(url)
    consumers.add(metering_handlers.consumer(functools.partial(metering_store.record, metering_pool),
                               record_batch=functools.partial(_priced, metering_pool)))  # fmt: skip
    consumers.add(audit_handlers.consumer(functools.partial(audit_store.append, audit_pool),
                            append_batch=functools.partial(audit_store.append_batch, audit_pool)))  # fmt: skip
    await consumers.start()
    try:

        async def done() -> bool:
            return all([await _drained(nc, s.stream.name, s.durable) for s in streams.CONSUMERS])

        assert await _eventually(done, timeout=30)
        assert await counts() == (40, 40, 40)  # every event once: the committed batch was not stored again
        assert await broken_audit_chains(dsn, [org]) == {}
        assert await operator.list_dead_letters(nc) == []
    finally:
        await consumers.stop()
        await metering_pool.close()
        await audit_pool.close()
        await admin.close()
