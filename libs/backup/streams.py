"""The JetStream part: every message of the durable streams, read and republished as the bus
operator (the only credential that may read any stream, ``libs/stack/nats_users.py``).

One JSON line per message (subject, headers, payload). Restore republishes each with its
original ``Nats-Msg-Id``, so the stream's duplicate window and the consumers — idempotent by
event id — store each event at most once, however often a restore runs.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable, Iterator

from nats.aio.client import Client
from nats.js.errors import NotFoundError

from libs.backup.errors import BackupError
from libs.svc import streams

REPUBLISHED = (streams.USAGE.name, streams.AUDIT.name)
"""Dead letters are kept in the archive for the record; the operator may publish only events."""


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


async def republish(
    nc: Client, messages: Iterator[dict[str, object]], progress: Callable[[int], None]
) -> dict[str, int]:
    """Publish the usage and audit events again (same ``Nats-Msg-Id``); counts by outcome."""
    js = nc.jetstream()
    counts = {"republished": 0, "duplicates": 0, "kept_in_archive_only": 0}
    for m in messages:
        if m["stream"] not in REPUBLISHED:
            counts["kept_in_archive_only"] += 1
            continue
        headers = {str(k): str(v) for k, v in dict(m.get("headers") or {}).items()}  # type: ignore[call-overload]
        headers.setdefault("Nats-Msg-Id", f"backup.{m['stream']}.{m['seq']}")
        ack = await js.publish(str(m["subject"]), base64.b64decode(str(m["data"])), headers=headers, timeout=10.0)
        counts["duplicates" if ack.duplicate else "republished"] += 1
        progress(1)
    return counts
