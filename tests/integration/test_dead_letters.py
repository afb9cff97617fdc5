"""Poison events on real JetStream and PostgreSQL: stored normalised, or dead-lettered and replayable,
never blocking the events behind them (issue 10, defect 1)."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import nats
import pytest
from nats.aio.client import Client
from nats.js.api import ConsumerConfig

from libs.contracts import subjects
from libs.contracts.codec import encode
from libs.contracts.messages import AuditEvent, UsageEvent
from libs.db.pool import create_pool
from libs.stack import operator, pg
from libs.svc import streams
from libs.svc.consumers import DurableConsumer
from services.audit import handlers as audit_handlers
from services.audit import store as audit_store
from services.metering import handlers as metering_handlers
from services.metering import store as metering_store
from tests.helpers import Consumers, nats_server, org_with_key, service_dsn


def _usage(rid: str, org: str, **kw: Any) -> UsageEvent:
    return UsageEvent(request_id=rid, ts=int(time.time() * 1000), org_id=org, project_id="prj1", key_id="key1",
                      model=kw.pop("model", "m"), provider="mock", status=200, **kw)  # fmt: skip


async def _publish(nc: Client, event: UsageEvent) -> None:
    """Straight onto the stream, skipping the publisher's normalisation (as an old or buggy publisher would)."""
    await nc.jetstream().publish(subjects.usage_event(event.org_id), encode(event), timeout=5)


async def _eventually(check: Callable[[], Awaitable[bool]], timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.1)
    return False


async def test_unstorable_values_are_normalised_or_dead_lettered_and_replayable(
    bus: tuple[str, Client], cluster: pg.Cluster, dsn: str
) -> None:
    url, nc = bus
    org = f"orgdl{time.time_ns()}"
    admin = await create_pool(dsn)
    pool = await create_pool(service_dsn(cluster, "metering"))
    fixed = asyncio.Event()

    async def record(event: UsageEvent) -> bool:
        if event.request_id.endswith("-poison") and not fixed.is_set():
            raise asyncpg.NumericValueOutOfRangeError("integer out of range")  # the cause an operator fixes
        return await metering_store.record(pool, event)

    async def rows(rid: str) -> list[asyncpg.Record]:
        return list(await admin.fetch("SELECT * FROM metering.usage_events WHERE request_id = $1", rid))

    consumers = Consumers(url)
    consumers.add(metering_handlers.consumer(record))
    await consumers.start()
    try:
        # NUL in the model, counts beyond a PostgreSQL integer: normalised by the consumer and stored.
        await _publish(nc, _usage(f"{org}-nul", org, model="gpt\x00x", prompt_tokens=2**40, latency_ms=-1))
        await _publish(nc, _usage(f"{org}-poison", org))  # refused by the database
        await _publish(nc, _usage(f"{org}-after", org, prompt_tokens=3))
        assert await _eventually(lambda: _has(rows, f"{org}-after"))
        stored = (await rows(f"{org}-nul"))[0]
        assert (stored["model"], stored["prompt_tokens"], stored["latency_ms"]) == ("gpt\ufffdx", 2**31 - 1, 0)
        assert await rows(f"{org}-poison") == []

        async def filed() -> bool:
            return any(e["reason"] == "unstorable" for e in await operator.list_dead_letters(nc))

        assert await _eventually(filed)
        [letter] = [e for e in await operator.list_dead_letters(nc) if e["reason"] == "unstorable"]
        assert letter["detail"] == "NumericValueOutOfRangeError"
        assert (letter["consumer"], letter["subject"]) == ("metering", subjects.usage_event(org))
        fixed.set()
        await operator.replay(nc, letter["id"])
        await operator.replay(nc, letter["id"])  # twice: stored once all the same
        assert await _eventually(lambda: _has(rows, f"{org}-poison"))
        await asyncio.sleep(0.5)
        assert len(await rows(f"{org}-poison")) == 1
        assert await admin.fetchval("SELECT sum(requests)::int FROM metering.daily WHERE org_id = $1", org) == 3
    finally:
        await consumers.stop()
        await pool.close()
        await admin.close()


async def _has(rows: Callable[[str], Awaitable[list[asyncpg.Record]]], rid: str) -> bool:
    return bool(await rows(rid))


async def test_unexpected_errors_are_retried_a_bounded_number_of_times_outages_are_waited_out(
    bus: tuple[str, Client],
) -> None:
    url, nc = bus
    calls: dict[str, int] = {}
    stored: list[str] = []

    async def store(event: UsageEvent) -> bool:
        n = calls[event.request_id] = calls.get(event.request_id, 0) + 1
        if event.request_id == "bug":
            raise RuntimeError("a bug in the consumer")
        if event.request_id == "outage" and n <= 3:
            raise asyncpg.CannotConnectNowError("the database system is starting up")
        stored.append(event.request_id)
        return True

    consumers = Consumers(url)
    consumers.add(DurableConsumer(streams.METERING, UsageEvent, store, backoff_s=(0.05,)))
    await consumers.start()
    try:
        for rid in ("bug", "outage", "fine"):
            await _publish(nc, _usage(rid, "o"))

        async def done() -> bool:
            return "outage" in stored and any(e["reason"] == "retries_exhausted" for e in
                                              await operator.list_dead_letters(nc))  # fmt: skip

        assert await _eventually(done)
        assert sorted(stored) == ["fine", "outage"]
        assert calls["bug"] == streams.MAX_DELIVER  # bounded, then a dead letter
        [letter] = await operator.list_dead_letters(nc)
        assert (letter["reason"], letter["deliveries"], letter["detail"]) == ("retries_exhausted", 5, "RuntimeError")
        info = await nc.jetstream().consumer_info(subjects.USAGE_STREAM, subjects.METERING_DURABLE)
        assert info.num_ack_pending == 0  # nothing left in flight: every message acked or terminated
    finally:
        await consumers.stop()


async def test_a_message_the_server_gives_up_on_is_kept_and_replayable(bus: tuple[str, Client]) -> None:
    """A consumer that dies on every delivery cannot file a dead letter; the server's max-deliveries
    advisory is kept by the DEADLETTER stream instead, and replay reads the message back."""
    _, nc = bus
    js = nc.jetstream()
    await js.add_consumer(subjects.USAGE_STREAM, ConsumerConfig(
        durable_name=subjects.METERING_DURABLE, ack_wait=0.3, max_deliver=2,
        filter_subject=subjects.USAGE_SUBJECTS))  # fmt: skip
    event = _usage("crashy", "o")
    await _publish(nc, event)
    sub = await js.pull_subscribe_bind(durable=subjects.METERING_DURABLE, stream=subjects.USAGE_STREAM)
    for _ in range(2):
        await sub.fetch(1, timeout=2)  # delivered, never acked: the process "crashed"
        await asyncio.sleep(0.4)
    with pytest.raises(nats.errors.TimeoutError):  # the next pull finds it given up on
        await sub.fetch(1, timeout=1)

    async def advised() -> bool:
        return any(e["kind"] == "max_deliveries" for e in await operator.list_dead_letters(nc))

    assert await _eventually(advised, timeout=10)
    [entry] = await operator.list_dead_letters(nc)
    assert (entry["stream"], entry["consumer"], entry["stream_seq"]) == ("USAGE", "metering", 1)
    replayed = await operator.replay(nc, entry["id"])
    assert replayed["replayed_to"] == subjects.usage_event("o")
    again = await js.get_msg(subjects.USAGE_STREAM, replayed["replayed_seq"])
    assert again.data == encode(event)


async def test_without_normalisation_refused_values_are_dead_lettered_not_retried_forever(
    bus: tuple[str, Client], cluster: pg.Cluster
) -> None:
    """Defence in depth: a store that is handed a raw event the database refuses (a NUL; an int32
    overflow, which asyncpg refuses client-side) dead-letters it at once and goes on."""
    url, nc = bus
    pool = await create_pool(service_dsn(cluster, "metering"))
    calls: list[str] = []

    async def raw_store(event: UsageEvent) -> bool:
        calls.append(event.request_id)
        return await metering_store.record(pool, event)

    org = f"orgraw{time.time_ns()}"
    consumers = Consumers(url)
    consumers.add(DurableConsumer(streams.METERING, UsageEvent, raw_store))
    await consumers.start()
    try:
        await _publish(nc, _usage(f"{org}-nul", org, model="m\x00"))
        await _publish(nc, _usage(f"{org}-big", org, prompt_tokens=2**40))
        await _publish(nc, _usage(f"{org}-ok", org))

        async def done() -> bool:
            return len(await operator.list_dead_letters(nc)) == 2 and f"{org}-ok" in calls

        assert await _eventually(done)
        letters = await operator.list_dead_letters(nc)
        assert sorted((e["reason"], e["detail"]) for e in letters) == [
            ("unstorable", "CharacterNotInRepertoireError"), ("unstorable", "DataError")]  # fmt: skip
        assert calls.count(f"{org}-nul") == 1  # no redelivery loop
        assert calls.count(f"{org}-big") == 1
    finally:
        await consumers.stop()
        await pool.close()


async def test_provisioning_bounds_the_deliveries_of_consumers_made_before(tmp_path: Path) -> None:
    """An existing deployment's durables were created by the services themselves, unbounded."""
    with nats_server(tmp_path) as url:
        nc = await nats.connect(url)
        try:
            js = nc.jetstream()
            for spec in (streams.USAGE, streams.AUDIT):
                await streams.ensure(js, spec)
            await js.pull_subscribe(subjects.USAGE_SUBJECTS, durable=subjects.METERING_DURABLE,
                                    stream=subjects.USAGE_STREAM)  # fmt: skip  # what FastStream did
            assert (await js.consumer_info(subjects.USAGE_STREAM, subjects.METERING_DURABLE)).config.max_deliver == -1
            await streams.provision(js)
            await streams.provision(js)  # idempotent
            info = await js.consumer_info(subjects.USAGE_STREAM, subjects.METERING_DURABLE)
            assert info.config.max_deliver == streams.MAX_DELIVER
            assert (await js.stream_info(subjects.DEADLETTER_STREAM)).config.subjects == list(
                streams.DEADLETTER.subjects
            )
        finally:
            await nc.close()


async def test_an_actor_claiming_another_organisation_is_dead_lettered(
    bus: tuple[str, Client], cluster: pg.Cluster, dsn: str
) -> None:
    url, nc = bus
    own, victim = f"orgown{time.time_ns()}", f"orgvic{time.time_ns()}"
    key = await org_with_key(dsn, own)
    await org_with_key(dsn, victim)
    pool = await create_pool(service_dsn(cluster, "audit"))
    admin = await create_pool(dsn)
    consumers = Consumers(url)
    consumers.add(audit_handlers.consumer(functools.partial(audit_store.append, pool)))
    await consumers.start()

    def event(eid: str, org: str) -> AuditEvent:
        return AuditEvent(event_id=eid, ts=int(time.time() * 1000), org_id=org, actor_type="api_key", actor_id=key,
                          action="chat.completion", resource="model:m", success=True)  # fmt: skip

    try:
        for e in (event(f"{own}-forged", victim), event(f"{own}-honest", own)):
            await nc.jetstream().publish(subjects.audit_event("edge", "chat", "completion"), encode(e), timeout=5)

        async def stored(eid: str) -> bool:
            return bool(await admin.fetchval("SELECT count(*) FROM audit.events WHERE event_id = $1", eid))

        assert await _eventually(lambda: stored(f"{own}-honest"))
        assert not await stored(f"{own}-forged")
        [letter] = await operator.list_dead_letters(nc)
        assert (letter["reason"], letter["detail"]) == ("claims", "actor does not belong to the claimed organisation")
    finally:
        await consumers.stop()
        await pool.close()
        await admin.close()
