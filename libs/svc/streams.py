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
from nats.js.errors import BadRequestError, NotFoundError

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
    """A durable consumer of ``stream``: pulled, or pushed into ``deliver_subject``."""

    stream: StreamSpec
    durable: str
    max_deliver: int = MAX_DELIVER
    """-1: redelivered until acked (a reader that files nothing as a dead letter)."""
    deliver_subject: str | None = None
    """A push consumer (``libs/svc/push.py``): the server delivers into this subject, fixed here by
    the operator, so the reader needs no pull request (whose reply subject nats-server does not
    check) and cannot aim stored events anywhere else."""


USAGE = StreamSpec(subjects.USAGE_STREAM, (subjects.USAGE_SUBJECTS,), max_age_s=7 * 86400)
AUDIT = StreamSpec(subjects.AUDIT_STREAM, (subjects.AUDIT_SUBJECTS,), max_age_s=30 * 86400)
METERING = ConsumerSpec(USAGE, subjects.METERING_DURABLE)
AUDITOR = ConsumerSpec(AUDIT, subjects.AUDIT_DURABLE)
CONSUMERS = (METERING, AUDITOR)
FORWARDER = ConsumerSpec(AUDIT, subjects.AUDIT_FORWARD_DURABLE, max_deliver=-1,
                         deliver_subject=subjects.AUDIT_FORWARD_DELIVER)  # fmt: skip
"""The reference forwarder's durable (``python -m services.audit.forward``), read as the
read-only bus user ``audit_reader``: pushed into that user's own inbox, which only it may
subscribe to; another internal reader gets a durable (and a user) of its own likewise."""
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


def consumer_config(spec: ConsumerSpec, start_seq: int | None = None) -> ConsumerConfig:
    """The server-side configuration of a durable consumer: bounded deliveries; from
    ``start_seq`` on if given (a consumer re-created in another form), else from the start."""
    return ConsumerConfig(
        name=spec.durable,
        durable_name=spec.durable,
        filter_subject=spec.stream.subjects[0],
        deliver_policy=DeliverPolicy.ALL if start_seq is None else DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=start_seq,
        deliver_subject=spec.deliver_subject,
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
    """Create or update the durable consumer ``spec``. Operator only.

    A pull consumer cannot become a push consumer (nor the reverse) by an update: it is deleted
    and created again in the new form, starting after the old one's ack floor, so nothing acked
    is delivered again and nothing unacked is skipped."""
    try:
        info = await js.consumer_info(spec.stream.name, spec.durable)
    except NotFoundError:
        info = None
    if info is not None and bool(info.config.deliver_subject) != bool(spec.deliver_subject):
        start = (info.ack_floor.stream_seq if info.ack_floor else 0) + 1
        await js.delete_consumer(spec.stream.name, spec.durable)
        await js.add_consumer(spec.stream.name, config=consumer_config(spec, start_seq=start))
        return
    await js.add_consumer(spec.stream.name, config=consumer_config(spec))


async def provision(js: JetStreamContext, replicas: int = 1) -> None:
    """Every stream (on ``replicas`` nodes) and durable consumer, with the operator credential;
    a durable consumer follows its stream's replica count."""
    for spec in ALL:
        await ensure(js, spec, replicas)
    for consumer in (*CONSUMERS, *READERS):
        await ensure_consumer(js, consumer)
