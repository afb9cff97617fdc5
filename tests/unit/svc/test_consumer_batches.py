"""A durable consumer's batches on a fake pull source (tests/fakes.py): stored together in stream
order, every failure mode settling every message — acked only after the commit, a poison message
isolated, an outage waited out in place (libs/svc/consumers.py). Was test_batcher.py (the Batcher
is gone: the pull loop hands over whole batches)."""

from __future__ import annotations

import asyncpg
import pytest

from libs.contracts import subjects
from libs.contracts.codec import encode
from libs.contracts.messages import UsageEvent
from libs.svc import streams
from libs.svc.consumers import DurableConsumer, Rejected
from tests.fakes import FakeDelivery, FakeSource, Letters


def _delivery(rid: str, seq: int, deliveries: int = 1) -> FakeDelivery:
    event = UsageEvent(request_id=rid, ts=1, org_id="o", project_id="p", key_id="k", model="m", provider="x",
                       status=200)  # fmt: skip
    return FakeDelivery(subjects.usage_event("o"), encode(event), seq=seq, num_delivered=deliveries)


async def _never_one_by_one(event: UsageEvent) -> bool:
    raise AssertionError("not stored one by one")


async def test_a_batch_is_one_store_in_stream_order_and_a_rejected_event_is_dead_lettered_alone() -> None:
    batches: list[list[str]] = []

    async def many(events: list[UsageEvent]) -> list[Rejected | None]:
        batches.append([e.request_id for e in events])
        return [Rejected("claims", "no") if e.request_id == "bad" else None for e in events]

    letters = Letters()
    batch = [_delivery("c", 3), _delivery("a", 1), _delivery("bad", 2), _delivery("d", 4)]
    consumer = DurableConsumer(streams.METERING, UsageEvent, _never_one_by_one, store_batch=many, file_letter=letters)
    await consumer.run(FakeSource(batch))
    assert batches == [["a", "bad", "c", "d"]]
    assert [d.acks for d in batch] == [["ack"], ["ack"], ["term"], ["ack"]]
    assert [(x.reason, x.detail, x.stream_seq) for x in letters.filed] == [("claims", "no", 2)]


async def test_a_transient_failure_is_retried_in_place_kept_in_progress_using_up_no_delivery() -> None:
    calls: list[int] = []

    async def many(events: list[UsageEvent]) -> list[Rejected | None]:
        calls.append(len(events))
        if len(calls) <= 2:
            raise asyncpg.CannotConnectNowError("starting up")
        return [None] * len(events)

    batch, waiting = [_delivery("a", 1), _delivery("b", 2)], [_delivery("c", 3)]
    consumer = DurableConsumer(streams.METERING, UsageEvent, _never_one_by_one, store_batch=many, file_letter=Letters())
    await consumer.run(FakeSource(batch, waiting))
    assert calls == [2, 2, 2, 1]
    assert [d.acks for d in batch] == [["progress", "progress", "ack"]] * 2  # no nack: no delivery used
    assert waiting[0].acks == ["progress", "progress", "ack"]  # what waits behind is kept in progress too


async def test_stopping_during_an_outage_hands_the_batch_back_at_once_not_dead_lettered() -> None:
    consumer: DurableConsumer | None = None

    async def many(events: list[UsageEvent]) -> list[Rejected | None]:
        assert consumer is not None
        await consumer.stop()  # SIGTERM while the database is down
        raise asyncpg.CannotConnectNowError("starting up")

    batch = [_delivery("a", 1, deliveries=streams.MAX_DELIVER)]
    letters = Letters()
    consumer = DurableConsumer(streams.METERING, UsageEvent, _never_one_by_one, store_batch=many, file_letter=letters)
    await consumer.run(FakeSource(batch))
    assert batch[0].acks == ["nak"]  # redelivered at once, to another replica
    assert letters.filed == []


@pytest.mark.parametrize("fault", ["permanent", "bug", "wrong_length"])
async def test_any_other_failure_stores_the_batch_one_by_one_isolating_the_poison(fault: str) -> None:
    singles: list[str] = []

    async def one(event: UsageEvent) -> bool:
        singles.append(event.request_id)
        if event.request_id == "poison":
            raise asyncpg.CharacterNotInRepertoireError("invalid byte sequence")
        return True

    async def many(events: list[UsageEvent]) -> list[Rejected | None]:
        if fault == "permanent":
            raise asyncpg.CharacterNotInRepertoireError("invalid byte sequence")
        if fault == "bug":
            raise RuntimeError("a bug")
        return [None]  # one outcome for three events

    letters = Letters()
    batch = [_delivery("a", 1), _delivery("poison", 2), _delivery("b", 3)]
    await DurableConsumer(streams.METERING, UsageEvent, one, store_batch=many, file_letter=letters).run(
        FakeSource(batch)
    )
    assert singles == ["a", "poison", "b"]
    assert [d.acks for d in batch] == [["ack"], ["term"], ["ack"]]
    assert [(x.reason, x.detail) for x in letters.filed] == [("unstorable", "CharacterNotInRepertoireError")]


async def test_unexpected_errors_are_nacked_with_backoff_until_the_last_delivery_then_dead_lettered() -> None:
    async def buggy(event: UsageEvent) -> bool:
        raise RuntimeError("a bug in the consumer")

    letters = Letters()
    batch = [_delivery("first", 1, deliveries=1), _delivery("third", 2, deliveries=3),
             _delivery("last", 3, deliveries=streams.MAX_DELIVER)]  # fmt: skip
    consumer = DurableConsumer(streams.METERING, UsageEvent, buggy, file_letter=letters, backoff_s=(1.0, 5.0, 15.0))
    await consumer.run(FakeSource(batch))
    assert [d.acks for d in batch] == [["nak:1"], ["nak:15"], ["term"]]
    assert [(x.reason, x.deliveries) for x in letters.filed] == [("retries_exhausted", streams.MAX_DELIVER)]


async def test_a_dead_letter_that_cannot_be_filed_is_nacked_never_dropped() -> None:
    letters = Letters()
    letters.failing = True
    garbage = FakeDelivery(subjects.usage_event("o"), b"not json", seq=1)
    await DurableConsumer(streams.METERING, UsageEvent, _never_one_by_one, file_letter=letters,
                          backoff_s=(2.0,)).run(FakeSource([garbage]))  # fmt: skip
    assert garbage.acks == ["nak:2"]
