"""FastStream helpers for the durable JetStream consumers (metering, audit)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from faststream.middlewares import AckPolicy
from faststream.nats import NatsBroker, NatsMessage, PullSub

from libs.contracts.codec import Codec
from libs.svc import streams

log = logging.getLogger("bastion.consumer")


async def raw_body(msg: NatsMessage) -> bytes:
    """Decoder that hands the handler the raw bytes.

    Without it FastStream json-decodes any body that parses as JSON and a ``body: bytes``
    handler then fails validation (STACK-NOTES, "JSON sniffing").
    """
    return msg.body


def durable_consumer(
    broker: NatsBroker,
    spec: streams.StreamSpec,
    durable: str,
    message_type: Any,
    store: Callable[[Any], Awaitable[bool]],
    *,
    inbox_prefix: str = "_INBOX",
) -> None:
    """Consume ``spec``'s stream with the shared durable pull consumer ``durable``.

    Replicas share the durable, so they split the work. A message is acked only after ``store``
    returned (its row is committed); if ``store`` raises, the message is not acked and JetStream
    redelivers it — stores are idempotent by id, so nothing is lost or counted twice. A message
    that cannot be decoded is acked and logged (a poison message must not loop forever).
    """
    codec: Codec[Any] = Codec(message_type)
    name = durable

    @broker.subscriber(
        spec.subjects[0],
        stream=streams.jstream(spec),
        durable=durable,
        pull_sub=PullSub(batch_size=64, timeout=1.0),
        decoder=raw_body,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        inbox_prefix=f"{inbox_prefix}.".encode(),  # the bus user's own inbox (libs/stack/nats_users.py)
    )
    async def on_event(body: bytes) -> None:
        try:
            event = codec.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError):
            log.error("dropping malformed event", extra={"consumer": name})
            return
        try:
            await store(event)
        except Exception as exc:
            # Logged here because FastStream (logger=None) is silent about handler errors.
            log.exception("event not stored; will be redelivered",
                          extra={"consumer": name, "error_type": type(exc).__name__})  # fmt: skip
            raise
