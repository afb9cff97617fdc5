"""The durable consumers' own pull loop on a real nats-server (libs/svc/pull.py): pulls on the bus
user's own inbox under the real permissions, an idle consumer polling once per expiry, replicas
splitting the work, and a stop that leaves nothing it received unacked."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import nats
from nats.aio.client import Client

from libs.contracts import subjects
from libs.contracts.codec import encode
from libs.contracts.messages import UsageEvent
from libs.stack import nats_users, operator
from libs.svc import streams
from libs.svc.bus import inbox_for
from libs.svc.consumers import DurableConsumer, Rejected
from tests.helpers import Consumers, nats_server


def _usage(rid: str, org: str = "o") -> UsageEvent:
    return UsageEvent(request_id=rid, ts=1, org_id=org, project_id="p", key_id="k", model="m", provider="x",
                      status=200)  # fmt: skip


async def _publish(nc: Client, events: list[UsageEvent]) -> None:
    js = nc.jetstream()
    for start in range(0, len(events), 200):
        await asyncio.gather(*(js.publish(subjects.usage_event(e.org_id), encode(e), timeout=10)
                               for e in events[start : start + 200]))  # fmt: skip


async def _eventually(check: Callable[[], Awaitable[bool]], timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.05)
    return False


class _Stored:
    """A store keeping request ids, optionally slow."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.ids: list[str] = []
        self.batches = 0
        self._delay_s = delay_s

    async def one(self, event: UsageEvent) -> bool:
        self.ids.append(event.request_id)
        return True

    async def many(self, events: list[UsageEvent]) -> list[Rejected | None]:
        self.batches += 1
        await asyncio.sleep(self._delay_s)
        self.ids.extend(e.request_id for e in events)
        return [None] * len(events)

    def consumer(self) -> DurableConsumer:
        return DurableConsumer(streams.METERING, UsageEvent, self.one, store_batch=self.many)


async def test_a_consumer_under_its_bus_users_permissions_pulls_acks_and_dead_letters(tmp_path: Path) -> None:
    creds = nats_users.passwords(tmp_path / "secrets")
    with nats_server(tmp_path, extra=nats_users.authorization_block(creds)) as url:
        async with operator.connected(operator.with_password(url, creds[nats_users.OPERATOR])) as op:
            await streams.provision(op.jetstream())
            errors: list[str] = []

            async def on_error(exc: Exception) -> None:
                errors.append(str(exc))

            nc = await nats.connect(url, user="metering", password=creds["metering"], error_cb=on_error,
                                    inbox_prefix=inbox_for("metering"))  # fmt: skip  # as libs/svc/bus.connect
            stored = _Stored()
            consumer = stored.consumer()
            await consumer.start(nc)
            try:
                await _publish(op, [_usage(f"r{i}") for i in range(300)])
                await op.jetstream().publish(subjects.usage_event("o"), b"not an event", timeout=5)

                async def done() -> bool:
                    info = await op.jetstream().consumer_info(subjects.USAGE_STREAM, subjects.METERING_DURABLE)
                    return len(stored.ids) == 300 and info.num_ack_pending == 0 and info.num_pending == 0

                assert await _eventually(done)
                [letter] = await operator.list_dead_letters(op)
                assert (letter["reason"], letter["stream_seq"]) == ("undecodable", 301)
                assert errors == []  # no permissions violation: pulls, acks and the dead letter are its own
            finally:
                await consumer.stop()
                await nc.close()


async def test_an_idle_consumer_makes_one_pull_request_per_expiry(bus: tuple[str, Client]) -> None:
    url, nc = bus
    requests: list[float] = []

    async def seen(msg: object) -> None:
        requests.append(time.monotonic())

    watch = await nc.subscribe(f"$JS.API.CONSUMER.MSG.NEXT.{subjects.USAGE_STREAM}.{subjects.METERING_DURABLE}",
                               cb=seen)  # fmt: skip
    consumers = Consumers(url)
    consumers.add(_Stored().consumer())
    await consumers.start()
    try:
        await asyncio.sleep(3.2)
    finally:
        await consumers.stop()
        await watch.unsubscribe()
    assert 2 <= len(requests) <= 5  # about one a second (a 50 ms poll would make 64)


async def test_replicas_sharing_the_durable_split_the_work_and_store_nothing_twice(bus: tuple[str, Client]) -> None:
    url, nc = bus
    first, second = _Stored(delay_s=0.02), _Stored(delay_s=0.02)
    replicas = [Consumers(url), Consumers(url)]
    replicas[0].add(first.consumer())
    replicas[1].add(second.consumer())
    for replica in replicas:
        await replica.start()
    try:
        await _publish(nc, [_usage(f"r{i}") for i in range(2000)])
        assert await _eventually(lambda: _at_least(first, second, 2000))
        await asyncio.sleep(0.3)
        assert len(first.ids) > 200  # both took part
        assert len(second.ids) > 200
        assert sorted(first.ids + second.ids) == sorted(f"r{i}" for i in range(2000))  # each once
    finally:
        for replica in replicas:
            await replica.stop()


async def _at_least(first: _Stored, second: _Stored, n: int) -> bool:
    return len(first.ids) + len(second.ids) >= n


async def test_stop_stores_and_acks_what_it_received_and_the_rest_goes_to_the_next(bus: tuple[str, Client]) -> None:
    url, nc = bus
    slow = _Stored(delay_s=0.3)
    leaving = Consumers(url)
    leaving.add(slow.consumer())
    await leaving.start()
    await _publish(nc, [_usage(f"r{i}") for i in range(1500)])

    async def started() -> bool:
        return slow.batches > 0

    assert await _eventually(started)
    await leaving.stop()  # SIGTERM with a batch in hand and more delivered behind it

    async def settled() -> bool:  # the server applies acks on its own time: well within the 30 s ack wait
        info = await nc.jetstream().consumer_info(subjects.USAGE_STREAM, subjects.METERING_DURABLE)
        return info.num_ack_pending == 0

    assert await _eventually(settled, timeout=2)  # everything it was handed is stored and acked
    info = await nc.jetstream().consumer_info(subjects.USAGE_STREAM, subjects.METERING_DURABLE)
    assert 0 < len(slow.ids) < 1500
    assert info.num_pending == 1500 - len(slow.ids)
    successor = _Stored()
    staying = Consumers(url)
    staying.add(successor.consumer())
    await staying.start()
    try:
        assert await _eventually(lambda: _at_least(slow, successor, 1500))
        assert sorted(slow.ids + successor.ids) == sorted(f"r{i}" for i in range(1500))  # none lost, none twice
    finally:
        await staying.stop()
