"""Audit consumer: the durable audit stream into the hash-chained table (acked after commit,
idempotent by event id)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from libs.contracts import normalise
from libs.contracts.messages import AuditEvent
from libs.svc import streams
from libs.svc.consumers import DurableConsumer, FileLetter, Rejected
from services.audit import claims

SERVICE = "audit"
Append = Callable[[AuditEvent], Awaitable[bool]]
AppendBatch = Callable[[list[AuditEvent]], Awaitable[list[Rejected | None]]]


def consumer(append: Append, *, file_letter: FileLetter | None = None,
             append_batch: AppendBatch | None = None) -> DurableConsumer:  # fmt: skip
    """The consumer of audit events on the shared durable: claims checked against the subject's
    source (a mismatch is dead-lettered), normalised again before chaining; with ``append_batch``,
    each batch's events chained in one transaction."""

    async def store(event: AuditEvent) -> bool:
        return await append(normalise.audit(event))

    async def store_batch(events: list[AuditEvent]) -> list[Rejected | None]:
        assert append_batch is not None
        return await append_batch([normalise.audit(event) for event in events])

    return DurableConsumer(streams.AUDITOR, AuditEvent, store, check=claims.check, file_letter=file_letter,
                           store_batch=store_batch if append_batch else None)  # fmt: skip
