"""Metering consumer: the durable usage stream into Postgres (acked after commit, idempotent
by request id — a crash redelivers and the insert is then a no-op)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from libs.contracts import normalise, subjects
from libs.contracts.messages import UsageEvent
from libs.svc import streams
from libs.svc.consumers import DurableConsumer, FileLetter, Rejected
from libs.svc.events import subject_token

SERVICE = "metering"
Record = Callable[[UsageEvent], Awaitable[bool]]
RecordBatch = Callable[[list[UsageEvent]], Awaitable[list[bool]]]


def check(subject: str, event: UsageEvent) -> str | None:
    """The organisation an event claims must be the one its subject names (as the publisher sets it)."""
    if subject != subjects.usage_event(subject_token(normalise.text(event.org_id))):
        return "organisation does not match the subject"
    return None


def consumer(record: Record, *, file_letter: FileLetter | None = None,
             record_batch: RecordBatch | None = None) -> DurableConsumer:  # fmt: skip
    """The consumer of usage events on the shared durable (normalised again before storing);
    with ``record_batch``, each batch's events in one transaction."""

    async def store(event: UsageEvent) -> bool:
        return await record(normalise.usage(event))

    async def store_batch(events: list[UsageEvent]) -> list[Rejected | None]:
        assert record_batch is not None
        await record_batch([normalise.usage(event) for event in events])
        return [None] * len(events)

    return DurableConsumer(streams.METERING, UsageEvent, store, check=check, file_letter=file_letter,
                           store_batch=store_batch if record_batch else None)  # fmt: skip
