"""Metering and audit consumers on FastStream's in-memory broker."""

from __future__ import annotations

from faststream.nats import NatsBroker, TestNatsBroker

from libs.contracts import subjects
from libs.contracts.codec import encode
from libs.contracts.messages import AuditEvent, UsageEvent
from services.audit import handlers as audit_handlers
from services.metering import handlers as metering_handlers


async def test_usage_and_audit_events_reach_their_stores() -> None:
    usage_seen: list[UsageEvent] = []
    audit_seen: list[AuditEvent] = []

    async def record(event: UsageEvent) -> bool:
        usage_seen.append(event)
        return True

    async def append(event: AuditEvent) -> bool:
        audit_seen.append(event)
        return True

    broker = NatsBroker(logger=None)
    metering_handlers.register(broker, record)
    audit_handlers.register(broker, append)
    usage = UsageEvent(request_id="r1", ts=1, org_id="o", project_id="p", key_id="k", model="m", provider="x",
                       status=200, prompt_tokens=3)  # fmt: skip
    audit = AuditEvent(event_id="e1", ts=1, org_id="o", actor_type="api_key", actor_id="k", action="chat.completion",
                       resource="model:m", success=True)  # fmt: skip
    async with TestNatsBroker(broker) as br:
        await br.publish(encode(usage), subjects.usage_event("o"), stream=subjects.USAGE_STREAM)
        await br.publish(
            encode(audit), subjects.audit_event("edge", "chat", "completion"), stream=subjects.AUDIT_STREAM
        )
        await br.publish(b"not json", subjects.usage_event("o"), stream=subjects.USAGE_STREAM)  # dropped, no crash
    assert usage_seen == [usage]
    assert audit_seen == [audit]
