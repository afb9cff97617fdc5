"""The forwarder's durable as a push consumer into the reader's inbox (libs/svc/push.py), and the
operator's re-provisioning of a durable that was a pull consumer (libs/svc/streams.py)."""

from __future__ import annotations

import asyncio
import json

from nats.aio.client import Client

from libs.contracts import subjects
from libs.svc import streams
from libs.svc.pull import PullSource
from libs.svc.push import PushSource

SUBJECT = "gw.evt.audit.edge.chat.completion"
READER = streams.FORWARDER


async def _publish(nc: Client, n: int, first: int = 0) -> None:
    js = nc.jetstream()
    for i in range(first, first + n):
        await js.publish(SUBJECT, json.dumps({"n": i}).encode())


async def _drain(source: PushSource, want: int) -> list[int]:
    got: list[int] = []
    while len(got) < want:
        batch = await asyncio.wait_for(source.next_batch(), timeout=10)
        for msg in batch:
            got.append(json.loads(msg.data)["n"])
            await msg.ack()
    return got


async def test_every_message_is_pushed_in_batches_into_the_readers_inbox_and_acked(bus: tuple[str, Client]) -> None:
    _, nc = bus
    await _publish(nc, 20)
    source = PushSource(nc, subjects.AUDIT_FORWARD_DELIVER, batch=8, wait_s=0.05)
    await source.start()
    try:
        assert sorted(await _drain(source, 20)) == list(range(20))
        await nc.flush()
        for _ in range(50):  # the acks are plain publishes: give the server a moment
            info = await nc.jetstream().consumer_info(subjects.AUDIT_STREAM, READER.durable)
            if info.num_ack_pending == 0:
                break
            await asyncio.sleep(0.05)
        assert info.config.deliver_subject == subjects.AUDIT_FORWARD_DELIVER
        assert info.num_ack_pending == 0
        assert info.num_redelivered == 0
    finally:
        source.stop()
        await source.close()


async def test_a_pull_durable_becomes_a_push_durable_after_its_ack_floor(bus: tuple[str, Client]) -> None:
    _, nc = bus
    js = nc.jetstream()
    as_pull = streams.ConsumerSpec(streams.AUDIT, READER.durable, max_deliver=-1)  # as provisioned before
    await js.delete_consumer(subjects.AUDIT_STREAM, READER.durable)
    await streams.ensure_consumer(js, as_pull)
    await _publish(nc, 5)
    pull = PullSource(nc, subjects.AUDIT_STREAM, READER.durable, batch=3, wait_s=0.05)
    await pull.start()
    acked: list[int] = []
    while len(acked) < 3:
        for msg in await asyncio.wait_for(pull.next_batch(), timeout=10):
            if len(acked) < 3:
                acked.append(json.loads(msg.data)["n"])
                await msg.ack()
    pull.stop()
    await pull.close()
    await nc.flush()
    await asyncio.sleep(0.2)  # the acks reach the consumer

    await streams.ensure_consumer(js, READER)  # the operator's next `streams` run
    info = await js.consumer_info(subjects.AUDIT_STREAM, READER.durable)
    assert info.config.deliver_subject == subjects.AUDIT_FORWARD_DELIVER
    source = PushSource(nc, subjects.AUDIT_FORWARD_DELIVER, batch=8, wait_s=0.05)
    await source.start()
    try:
        rest = await _drain(source, 2)
        assert sorted(acked + rest) == [0, 1, 2, 3, 4]  # nothing acked again, nothing skipped
        await asyncio.sleep(0.3)
        assert await asyncio.wait_for(_nothing_more(source), timeout=2) == []
    finally:
        source.stop()
        await source.close()


async def _nothing_more(source: PushSource) -> list[object]:
    source.stop()
    return await source.next_batch()
