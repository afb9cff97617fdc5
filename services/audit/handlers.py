"""Audit consumer: the durable audit stream into the hash-chained table (acked after commit,
idempotent by event id)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from faststream.nats import NatsBroker

from libs.contracts import subjects
from libs.contracts.messages import AuditEvent
from libs.svc import streams
from libs.svc.consumers import durable_consumer

SERVICE = "audit"
Append = Callable[[AuditEvent], Awaitable[bool]]


def register(broker: NatsBroker, append: Append, inbox_prefix: str = "_INBOX") -> None:
    """Consume audit events with the shared durable consumer."""
    durable_consumer(broker, streams.AUDIT, subjects.AUDIT_DURABLE, AuditEvent, append, inbox_prefix=inbox_prefix)
