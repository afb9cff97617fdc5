"""Metering consumers: the durable usage stream into Postgres.

A message is acked only after its row is committed; a crash before the ack redelivers it and
the insert is a no-op for a request id already recorded, so nothing is lost or counted twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import msgspec
from faststream.middlewares import AckPolicy
from faststream.nats import NatsBroker, PullSub

from libs.contracts import subjects
from libs.contracts.codec import Codec
from libs.contracts.messages import UsageEvent
from libs.svc import streams
from libs.svc.rpc import raw_body

SERVICE = "metering"
log = logging.getLogger("bastion.metering")
_codec: Codec[UsageEvent] = Codec(UsageEvent)

Record = Callable[[UsageEvent], Awaitable[bool]]


def register(broker: NatsBroker, record: Record, inbox_prefix: str = "_INBOX") -> None:
    """Consume usage events with the shared durable consumer (replicas split the work)."""

    @broker.subscriber(
        subjects.USAGE_SUBJECTS,
        stream=streams.jstream(streams.USAGE),
        durable=subjects.METERING_DURABLE,
        pull_sub=PullSub(batch_size=64, timeout=1.0),
        decoder=raw_body,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        inbox_prefix=f"{inbox_prefix}.".encode(),  # the bus user's own inbox (see libs/stack/nats_users.py)
    )
    async def on_usage(body: bytes) -> None:
        try:
            event = _codec.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError):
            log.error("dropping malformed usage event")  # poison message: ack, do not loop
            return
        try:
            await record(event)
        except Exception as exc:
            # Not acked: JetStream redelivers it. Logged here because FastStream (logger=None) is silent.
            log.exception("metering event not stored; will be redelivered", extra={"error_type": type(exc).__name__})
            raise
