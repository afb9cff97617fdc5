"""Audit consumer: the durable audit stream into the hash-chained table (acked after commit,
idempotent by event id)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from faststream.nats import NatsBroker

from libs.contracts import normalise
from libs.contracts.messages import AuditEvent
from libs.svc import streams
from libs.svc.consumers import FileLetter, Rejected, durable_consumer
from services.audit import claims

SERVICE = "audit"
Append = Callable[[AuditEvent], Awaitable[bool]]
AppendBatch = Callable[[list[AuditEvent]], Awaitable[list[Rejected | None]]]


def register(
    broker: NatsBroker,
    append: Append,
    inbox_prefix: str = "_INBOX",
    file_letter: FileLetter | None = None,
    append_batch: AppendBatch | None = None,
) -> None:
    """Consume audit events with the shared durable consumer: claims checked against the subject's
    source (a mismatch is dead-lettered), normalised again before chaining; with ``append_batch``,
    each pull's events chained in one transaction."""

    async def store(event: AuditEvent) -> bool:
        return await append(normalise.audit(event))

    async def store_batch(events: list[AuditEvent]) -> list[Rejected | None]:
        assert append_batch is not None
        return await append_batch([normalise.audit(event) for event in events])

    durable_consumer(
        broker,
        streams.AUDITOR,
        AuditEvent,
        store,
        check=claims.check,
        store_batch=store_batch if append_batch else None,
        inbox_prefix=inbox_prefix,
        file_letter=file_letter,
    )
