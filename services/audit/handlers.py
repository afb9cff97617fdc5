"""Audit consumer: the durable audit stream into the hash-chained table (acked after commit)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import msgspec
from faststream.middlewares import AckPolicy
from faststream.nats import NatsBroker, PullSub

from libs.contracts import subjects
from libs.contracts.codec import Codec
from libs.contracts.messages import AuditEvent
from libs.svc import streams
from libs.svc.rpc import raw_body

SERVICE = "audit"
log = logging.getLogger("bastion.audit")
_codec: Codec[AuditEvent] = Codec(AuditEvent)

Append = Callable[[AuditEvent], Awaitable[bool]]


def register(broker: NatsBroker, append: Append, inbox_prefix: str = "_INBOX") -> None:
    """Consume audit events with the shared durable consumer."""

    @broker.subscriber(
        subjects.AUDIT_SUBJECTS,
        stream=streams.jstream(streams.AUDIT),
        durable=subjects.AUDIT_DURABLE,
        pull_sub=PullSub(batch_size=64, timeout=1.0),
        decoder=raw_body,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        inbox_prefix=f"{inbox_prefix}.".encode(),  # the bus user's own inbox (see libs/stack/nats_users.py)
    )
    async def on_audit(body: bytes) -> None:
        try:
            event = _codec.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError):
            log.error("dropping malformed audit event")
            return
        try:
            await append(event)
        except Exception as exc:
            # Not acked: JetStream redelivers it. Logged here because FastStream (logger=None) is silent.
            log.exception("audit event not stored; will be redelivered", extra={"error_type": type(exc).__name__})
            raise
