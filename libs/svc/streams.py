"""The durable JetStream streams, defined once for publishers and consumers."""

from __future__ import annotations

from dataclasses import dataclass

from faststream.nats import JStream
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import BadRequestError

from libs.contracts import subjects


@dataclass(frozen=True)
class StreamSpec:
    """A stream: file storage, deduplication by ``Nats-Msg-Id`` within the window."""

    name: str
    subjects: tuple[str, ...]
    max_age_s: float
    duplicate_window_s: float = 120.0


USAGE = StreamSpec(subjects.USAGE_STREAM, (subjects.USAGE_SUBJECTS,), max_age_s=7 * 86400)
AUDIT = StreamSpec(subjects.AUDIT_STREAM, (subjects.AUDIT_SUBJECTS,), max_age_s=30 * 86400)
ALL = (USAGE, AUDIT)


def jstream(spec: StreamSpec) -> JStream:
    """The FastStream declaration of ``spec``."""
    return JStream(
        spec.name,
        subjects=list(spec.subjects),
        max_age=spec.max_age_s,
        duplicate_window=spec.duplicate_window_s,
        storage=StorageType.FILE,
    )


async def ensure(js: JetStreamContext, spec: StreamSpec) -> None:
    """Create ``spec`` if missing (update it if it exists with another config)."""
    config = StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        max_age=spec.max_age_s,
        duplicate_window=spec.duplicate_window_s,
        storage=StorageType.FILE,
    )
    try:
        await js.add_stream(config)
    except BadRequestError:
        await js.update_stream(config)
