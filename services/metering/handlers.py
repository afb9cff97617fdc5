"""Metering consumer: the durable usage stream into Postgres (acked after commit, idempotent
by request id — a crash redelivers and the insert is then a no-op)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from faststream.nats import NatsBroker

from libs.contracts import normalise
from libs.contracts.messages import UsageEvent
from libs.svc import streams
from libs.svc.consumers import FileLetter, durable_consumer

SERVICE = "metering"
Record = Callable[[UsageEvent], Awaitable[bool]]


def register(
    broker: NatsBroker, record: Record, inbox_prefix: str = "_INBOX", file_letter: FileLetter | None = None
) -> None:
    """Consume usage events with the shared durable consumer (normalised again before storing)."""

    async def store(event: UsageEvent) -> bool:
        return await record(normalise.usage(event))

    durable_consumer(broker, streams.METERING, UsageEvent, store, inbox_prefix=inbox_prefix, file_letter=file_letter)
