"""The JetStream part: every message of the durable streams, read and republished as the bus
operator (the only credential that may read any stream, ``libs/stack/nats_users.py``).

One JSON line per message (subject, headers, payload). Restore republishes each with its
original ``Nats-Msg-Id``, so the stream's duplicate window and the consumers — idempotent by
event id — store each event at most once, however often a restore runs.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import AsyncIterator, Callable, Iterator

from nats.aio.client import Client
from nats.js.errors import NotFoundError

from libs.backup.errors import BackupError
from libs.contracts import subjects
from libs.contracts.codec import encode
from libs.contracts.messages import DeadLetter
from libs.svc import streams
from libs.svc.consumers import masked

REPUBLISHED = (streams.USAGE.name, streams.AUDIT.name)
"""The event streams, republished message by message; ``DEADLETTER`` is rebuilt from them
(:func:`republish`)."""


async def export(nc: Client, progress: Callable[[int], None]) -> AsyncIterator[bytes]:
    """JSON lines of every stream's messages, oldest first."""
    js = nc.jetstream()
    for spec in streams.ALL:
        try:
            info = await js.stream_info(spec.name)
        except NotFoundError:
            continue
        if not info.state.messages:
            continue
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                msg = await js.get_msg(spec.name, seq)
            except NotFoundError:
                continue  # deleted or aged out meanwhile
            line = {"stream": spec.name, "seq": seq, "subject": msg.subject or "", "headers": dict(msg.headers or {}),
                    "data": base64.b64encode(msg.data or b"").decode()}  # fmt: skip
            progress(1)
            yield json.dumps(line, separators=(",", ":")).encode() + b"\n"


MAX_LINE = 16 << 20
"""A message is at most 8 MB (nats.conf ``max_payload``): 11 MB as base64, plus its headers."""


def lines(blocks: Iterator[bytes]) -> Iterator[dict[str, object]]:
    """Split the part's blocks back into messages (a line is held in memory: bounded)."""
    rest = b""
    for block in blocks:
        rest += block
        if len(rest) > MAX_LINE and b"\n" not in rest:
            raise BackupError("archive corrupt (a stream message line too long)")
        *complete, rest = rest.split(b"\n")
        for raw in complete:
            if raw:
                yield json.loads(raw)
    if rest:
        yield json.loads(rest)


def advisory_targets(messages: Iterator[dict[str, object]]) -> set[tuple[str, int]]:
    """The ``(stream, seq)`` of every message a max-deliveries advisory in the archive names
    (a first pass over the archive: the advisories come after the events they name)."""
    targets: set[tuple[str, int]] = set()
    for m in messages:
        if m["stream"] == streams.DEADLETTER.name and str(m["subject"]).startswith(subjects.MAX_DELIVERIES_ADVISORY):
            body = _advisory_body(m)
            if body is not None:
                targets.add(body)
    return targets


def _advisory_body(m: dict[str, object]) -> tuple[str, int] | None:
    try:
        body = json.loads(base64.b64decode(str(m["data"])))
        return str(body["stream"]), int(body["stream_seq"])
    except (ValueError, KeyError, TypeError):
        return None


async def republish(
    nc: Client,
    messages: Iterator[dict[str, object]],
    progress: Callable[[int], None],
    targets: set[tuple[str, int]] | None = None,
) -> dict[str, int]:
    """Publish the usage and audit events again (same ``Nats-Msg-Id``), then the dead letters;
    counts by outcome.

    A dead letter a consumer filed (``gw.dlq.<durable>``) carries its message and is published
    again as it was. A max-deliveries advisory only names a stream sequence, which the restored
    stream numbers afresh, so it becomes a dead letter carrying the named message (masked like a
    consumer's, ``libs/svc/consumers.py:masked``) and its new sequence: ``deadletters replay``
    works on either after a restore. ``targets`` (:func:`advisory_targets`) are the messages to
    keep for that on the way; an advisory whose message was not in the archive (aged out before
    the backup) stays in the archive only."""
    js = nc.jetstream()
    counts = {"republished": 0, "duplicates": 0, "dead_letters": 0, "kept_in_archive_only": 0}
    named: dict[tuple[str, int], tuple[str, bytes, int]] = {}
    for m in messages:
        headers = {str(k): str(v) for k, v in dict(m.get("headers") or {}).items()}  # type: ignore[call-overload]
        headers.setdefault("Nats-Msg-Id", f"backup.{m['stream']}.{m['seq']}")
        subject, data = str(m["subject"]), base64.b64decode(str(m["data"]))
        if m["stream"] in REPUBLISHED:
            ack = await js.publish(subject, data, headers=headers, timeout=10.0)
            key = (str(m["stream"]), int(str(m["seq"])))
            if targets and key in targets:
                named[key] = (subject, data, ack.seq)
        elif m["stream"] == streams.DEADLETTER.name and subject.startswith(subjects.MAX_DELIVERIES_ADVISORY):
            letter = _from_advisory(data, named)
            if letter is None:
                counts["kept_in_archive_only"] += 1
                continue
            ack = await js.publish(subjects.dead_letter(letter.consumer), encode(letter), headers=headers,
                                   timeout=10.0)  # fmt: skip
        elif m["stream"] == streams.DEADLETTER.name and subject.startswith(subjects.dead_letter("")):
            ack = await js.publish(subject, data, headers=headers, timeout=10.0)
        else:
            counts["kept_in_archive_only"] += 1
            continue
        if ack.duplicate:
            counts["duplicates"] += 1
        else:
            counts["dead_letters" if m["stream"] == streams.DEADLETTER.name else "republished"] += 1
        progress(1)
    return counts


def _from_advisory(data: bytes, named: dict[tuple[str, int], tuple[str, bytes, int]]) -> DeadLetter | None:
    try:
        body = json.loads(data)
        key = (str(body["stream"]), int(body["stream_seq"]))
    except (ValueError, KeyError, TypeError):
        return None
    if key not in named:
        return None
    subject, payload, new_seq = named[key]
    ts = str(body.get("timestamp", ""))
    try:
        millis = int(dt.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000) if ts else 0
    except ValueError:
        millis = 0
    return DeadLetter(subject=subject, stream=key[0], stream_seq=new_seq, consumer=str(body.get("consumer", "")),
                      reason="max_deliveries", detail="restored from the server's advisory",
                      deliveries=int(body.get("deliveries", 0) or 0), ts=millis, payload=masked(payload))  # fmt: skip
