"""The durable JetStream streams and consumers, defined once for the operator, publishers and
consumers.

Only the operator credential creates or changes them (:func:`provision`, run by the stack
launcher and by ``python -m libs.stack streams``); services publish to their subjects and read
their own durable consumer, nothing else (``libs/stack/nats_users.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import msgspec
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from libs.contracts import subjects

MAX_DELIVER = 5
"""Deliveries of one message before a consumer dead-letters it (``libs/svc/consumers.py``)."""
ACK_WAIT_S = 30.0


class StreamSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What the operator's ``python -m libs.stack streams`` reads (``BASTION_STREAM_REPLICAS``)."""

    stream_replicas: Annotated[int, msgspec.Meta(ge=1, le=5)] = 1
    """Copies of each stream on a NATS cluster (JetStream allows 1-5; 3 survives the loss of one
    node). A single server takes 1 only; changing it re-runs ``streams`` (an update)."""


@dataclass(frozen=True)
class StreamSpec:
    """A stream: file storage, deduplication by ``Nats-Msg-Id`` within the window."""

    name: str
    subjects: tuple[str, ...]
    max_age_s: float  # 0: kept until an operator removes them
    duplicate_window_s: float = 120.0


@dataclass(frozen=True)
class ConsumerSpec:
    """A durable pull consumer of ``stream``."""

    stream: StreamSpec
    durable: str
    max_deliver: int = MAX_DELIVER
    """-1: redelivered until acked (a reader that files nothing as a dead letter)."""


USAGE = StreamSpec(subjects.USAGE_STREAM, (subjects.USAGE_SUBJECTS,), max_age_s=7 * 86400)
AUDIT = StreamSpec(subjects.AUDIT_STREAM, (subjects.AUDIT_SUBJECTS,), max_age_s=30 * 86400)
METERING = ConsumerSpec(USAGE, subjects.METERING_DURABLE)
AUDITOR = ConsumerSpec(AUDIT, subjects.AUDIT_DURABLE)
CONSUMERS = (METERING, AUDITOR)
FORWARDER = ConsumerSpec(AUDIT, subjects.AUDIT_FORWARD_DURABLE, max_deliver=-1)
"""The reference forwarder's durable (``python -m services.audit.forward``), read as the
read-only bus user ``audit_reader``; another internal reader gets a durable of its own likewise."""
READERS = (FORWARDER,)
# Dead letters and the server's max-deliveries advisories for every durable consumer: what a
# consumer gave up on is kept here even if the consumer died before it could file it.
DEADLETTER = StreamSpec(
    subjects.DEADLETTER_STREAM,
    (subjects.DEADLETTER_SUBJECTS, *(subjects.max_deliveries(c.stream.name, c.durable) for c in CONSUMERS)),
    max_age_s=0,
)
ALL = (USAGE, AUDIT, DEADLETTER)


def stream_config(spec: StreamSpec, replicas: int = 1) -> StreamConfig:
    """The server-side configuration of ``spec``, kept on ``replicas`` nodes."""
    return StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        max_age=spec.max_age_s,
        duplicate_window=spec.duplicate_window_s,
        storage=StorageType.FILE,
        num_replicas=replicas,
    )


def consumer_config(spec: ConsumerSpec) -> ConsumerConfig:
    """The server-side configuration of a durable consumer: bounded deliveries."""
    return ConsumerConfig(
        name=spec.durable,
        durable_name=spec.durable,
        filter_subject=spec.stream.subjects[0],
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ACK_WAIT_S,
        max_deliver=spec.max_deliver,
        max_ack_pending=1024,
    )


async def ensure(js: JetStreamContext, spec: StreamSpec, replicas: int = 1) -> None:
    """Create ``spec`` if missing (update it if it exists with another config). Operator only."""
    config = stream_config(spec, replicas)
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)


async def ensure_consumer(js: JetStreamContext, spec: ConsumerSpec) -> None:
    """Create or update the durable consumer ``spec``. Operator only."""
    await js.add_consumer(spec.stream.name, config=consumer_config(spec))


async def provision(js: JetStreamContext, replicas: int = 1) -> None:
    """Every stream (on ``replicas`` nodes) and durable consumer, with the operator credential;
    a durable consumer follows its stream's replica count."""
    for spec in ALL:
        await ensure(js, spec, replicas)
    for consumer in (*CONSUMERS, *READERS):
        await ensure_consumer(js, consumer)
