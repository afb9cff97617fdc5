"""What a durable consumer does with a message it cannot store (on a fake pull source, tests/fakes.py)."""

from __future__ import annotations

import asyncpg

from libs.contracts import subjects
from libs.contracts.codec import encode
from libs.contracts.messages import AuditEvent, DeadLetter, UsageEvent
from libs.svc import metrics, streams
from libs.svc.consumers import DurableConsumer
from services.audit import handlers as audit_handlers
from services.metering import handlers as metering_handlers
from tests.fakes import FakeDelivery, FakeSource

KEY = "sk-proj_abc_" + "A" * 43


def _usage(rid: str, model: str = "m") -> UsageEvent:
    return UsageEvent(request_id=rid, ts=1, org_id="o", project_id="p", key_id="k", model=model, provider="x",
                      status=200)  # fmt: skip


def _at(seq: int, data: bytes, subject: str = subjects.usage_event("o")) -> FakeDelivery:
    return FakeDelivery(subject, data, seq=seq)


async def test_permanent_failures_are_dead_lettered_and_later_events_still_stored() -> None:
    stored: list[UsageEvent] = []
    letters: list[DeadLetter] = []

    async def store(event: UsageEvent) -> bool:
        if event.model == "refused":
            raise asyncpg.CharacterNotInRepertoireError("invalid byte sequence")
        stored.append(event)
        return True

    async def file(letter: DeadLetter) -> None:
        letters.append(letter)

    before = metrics.DEAD_LETTERS.value(consumer=streams.METERING.durable, reason="unstorable")
    deliveries = [
        _at(1, b"not json " + KEY.encode()),
        _at(2, encode(_usage("r1", "refused"))),
        _at(3, encode(_usage("r2"))),
    ]
    await DurableConsumer(streams.METERING, UsageEvent, store, file_letter=file).run(FakeSource(deliveries))
    assert [d.acks for d in deliveries] == [["term"], ["term"], ["ack"]]
    assert [e.request_id for e in stored] == ["r2"]
    assert [(x.reason, x.detail, x.consumer) for x in letters] == [
        ("undecodable", "not a valid event", "metering"),
        ("unstorable", "CharacterNotInRepertoireError", "metering"),
    ]
    assert letters[0].subject == subjects.usage_event("o")
    assert [(x.stream, x.stream_seq, x.deliveries) for x in letters] == [("USAGE", 1, 1), ("USAGE", 2, 1)]
    assert KEY not in letters[0].payload.decode()  # secret-shaped text is masked, even in garbage
    assert b"refused" in letters[1].payload  # the event itself is kept, to be replayed
    assert metrics.DEAD_LETTERS.value(consumer="metering", reason="unstorable") == before + 1
    assert 'bastion_dead_letters_total{consumer="metering",reason="unstorable"}' in metrics.render()


async def test_audit_events_whose_claims_do_not_fit_their_subject_are_dead_lettered() -> None:
    stored: list[AuditEvent] = []
    letters: list[DeadLetter] = []

    async def append(event: AuditEvent) -> bool:
        stored.append(event)
        return True

    async def file(letter: DeadLetter) -> None:
        letters.append(letter)

    forged = AuditEvent(event_id="e1", ts=1, org_id="victim", actor_type="admin_token", actor_id="tok",
                        action="api_key.revoked", resource="key:k", success=True)  # fmt: skip
    honest = AuditEvent(event_id="e2", ts=1, org_id="o", actor_type="api_key", actor_id="k",
                        action="chat.completion", resource="model:m", success=True)  # fmt: skip
    deliveries = [_at(1, encode(forged), subjects.audit_event("edge", "api_key", "revoked")),
                  _at(2, encode(honest), subjects.audit_event("edge", "chat", "completion"))]  # fmt: skip
    await audit_handlers.consumer(append, file_letter=file).run(FakeSource(deliveries))
    assert [d.acks for d in deliveries] == [["term"], ["ack"]]
    assert [e.event_id for e in stored] == ["e2"]
    assert [(x.reason, x.consumer) for x in letters] == [("claims", "audit")]
    assert letters[0].detail == "action not allowed for source edge"


async def test_usage_events_whose_organisation_is_not_their_subjects_are_dead_lettered() -> None:
    stored: list[UsageEvent] = []
    letters: list[DeadLetter] = []

    async def record(event: UsageEvent) -> bool:
        stored.append(event)
        return True

    async def file(letter: DeadLetter) -> None:
        letters.append(letter)

    deliveries = [_at(1, encode(_usage("r1")), subjects.usage_event("victim")), _at(2, encode(_usage("r2")))]
    await metering_handlers.consumer(record, file_letter=file).run(FakeSource(deliveries))
    assert [d.acks for d in deliveries] == [["term"], ["ack"]]
    assert [e.request_id for e in stored] == ["r2"]
    assert [(x.reason, x.detail) for x in letters] == [("claims", "organisation does not match the subject")]
