"""Metering and audit consumers on a fake pull source (tests/fakes.py): what reaches the stores,
what is acked."""

from __future__ import annotations

from libs.contracts import subjects
from libs.contracts.codec import encode
from libs.contracts.messages import AuditEvent, UsageEvent
from services.audit import handlers as audit_handlers
from services.metering import handlers as metering_handlers
from tests.fakes import FakeDelivery, FakeSource, Letters


async def test_usage_and_audit_events_reach_their_stores() -> None:
    usage_seen: list[UsageEvent] = []
    audit_seen: list[AuditEvent] = []

    async def record(event: UsageEvent) -> bool:
        usage_seen.append(event)
        return True

    async def append(event: AuditEvent) -> bool:
        audit_seen.append(event)
        return True

    usage = UsageEvent(request_id="r1", ts=1, org_id="o", project_id="p", key_id="k", model="m", provider="x",
                       status=200, prompt_tokens=3)  # fmt: skip
    audit = AuditEvent(event_id="e1", ts=1, org_id="o", actor_type="api_key", actor_id="k", action="chat.completion",
                       resource_type="model", resource_id="m", success=True)  # fmt: skip
    good = FakeDelivery(subjects.usage_event("o"), encode(usage), seq=1)
    garbage = FakeDelivery(subjects.usage_event("o"), b"not json", seq=2)
    chained = FakeDelivery(subjects.audit_event("edge", "chat", "completion"), encode(audit), seq=1, stream="AUDIT")
    letters = Letters()
    await metering_handlers.consumer(record, file_letter=letters).run(FakeSource([good, garbage]))
    await audit_handlers.consumer(append, file_letter=letters).run(FakeSource([chained]))
    assert usage_seen == [usage]
    assert audit_seen == [audit]
    assert (good.acks, chained.acks) == (["ack"], ["ack"])
    assert garbage.acks == ["term"]  # dead-lettered, no crash
    assert [x.reason for x in letters.filed] == ["undecodable"]


async def test_batches_are_stored_together_in_stream_order_and_each_message_acked_after_the_commit() -> None:
    committed: list[list[str]] = []
    acked_at_commit: list[list[str]] = []

    async def record(event: UsageEvent) -> bool:
        raise AssertionError("not stored one by one")

    deliveries = [FakeDelivery(subjects.usage_event("o"), encode(_usage(f"r{seq}")), seq=seq) for seq in (3, 1, 2, 4)]

    async def record_batch(events: list[UsageEvent]) -> list[bool]:
        ids = {e.request_id for e in events}
        acked_at_commit.append([d.seq for d in deliveries if d.acks and f"r{d.seq}" in ids])
        committed.append([e.request_id for e in events])
        return [True] * len(events)

    consumer = metering_handlers.consumer(record, record_batch=record_batch, file_letter=Letters())
    await consumer.run(FakeSource(deliveries[:3], deliveries[3:]))
    assert committed == [["r1", "r2", "r3"], ["r4"]]  # a batch in stream order; batches one after the other
    assert acked_at_commit == [[], []]  # nothing acked before its batch committed
    assert all(d.acks == ["ack"] for d in deliveries)


def _usage(rid: str) -> UsageEvent:
    return UsageEvent(request_id=rid, ts=1, org_id="o", project_id="p", key_id="k", model="m", provider="x",
                      status=200)  # fmt: skip
