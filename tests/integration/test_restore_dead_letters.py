"""A restore rebuilds DEADLETTER (libs/backup/streams.py): a consumer's dead letter comes back as
it was; a max-deliveries advisory, which names a stream sequence the restored stream numbers
afresh, comes back as a dead letter carrying the named event and its new sequence; both replay."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

from nats.aio.client import Client

from libs.backup import streams as backup_streams
from libs.contracts import subjects
from libs.contracts.codec import Codec, encode
from libs.contracts.messages import DeadLetter
from libs.stack import operator

LETTERS: Codec[DeadLetter] = Codec(DeadLetter)
USAGE_SUBJECT = "gw.evt.usage.org_1"
AUDIT_SUBJECT = "gw.evt.audit.edge.chat.completion"


def _line(stream: str, seq: int, subject: str, data: bytes, msg_id: str | None = None) -> dict[str, object]:
    headers = {"Nats-Msg-Id": msg_id} if msg_id else {}
    return {"stream": stream, "seq": seq, "subject": subject, "headers": headers,
            "data": base64.b64encode(data).decode()}  # fmt: skip


def _archive() -> list[dict[str, object]]:
    """What an export of a stack with one filed dead letter and one advisory holds (old seqs 41-43)."""
    letter = DeadLetter(subject=USAGE_SUBJECT, stream="USAGE", stream_seq=41, consumer="metering",
                        reason="undecodable", detail="DecodeError", payload=b"not json")  # fmt: skip
    advisory = {"type": "io.nats.jetstream.advisory.v1.max_deliver", "stream": "AUDIT", "consumer": "audit",
                "stream_seq": 43, "deliveries": 5, "timestamp": "2026-12-01T10:00:00.5Z"}  # fmt: skip
    return [
        _line("USAGE", 41, USAGE_SUBJECT, b"not json", "evt-usage-41"),
        _line("AUDIT", 42, AUDIT_SUBJECT, b'{"event_id": "evt_a"}', "evt_a"),
        _line("AUDIT", 43, AUDIT_SUBJECT, b'{"event_id": "evt_b", "why": "the store kept refusing it"}', "evt_b"),
        _line("DEADLETTER", 7, subjects.dead_letter("metering"), encode(letter)),
        _line("DEADLETTER", 8, subjects.max_deliveries("AUDIT", "audit"), json.dumps(advisory).encode()),
        _line(
            "DEADLETTER",
            9,
            subjects.max_deliveries("AUDIT", "audit"),
            json.dumps({**advisory, "stream_seq": 99}).encode(),
        ),  # its message aged out before the backup
    ]


def _lines() -> Iterator[dict[str, object]]:
    return iter(_archive())


async def test_dead_letters_come_back_and_replay(bus: tuple[str, Client]) -> None:
    _, nc = bus
    targets = backup_streams.advisory_targets(_lines())
    assert targets == {("AUDIT", 43), ("AUDIT", 99)}
    counts = await backup_streams.republish(nc, _lines(), lambda _: None, targets)
    assert counts == {"republished": 3, "duplicates": 0, "dead_letters": 2, "kept_in_archive_only": 1}

    letters = await operator.list_dead_letters(nc)
    assert [(e["kind"], e["subject"], e["consumer"], e["reason"]) for e in letters] == [
        ("dead_letter", USAGE_SUBJECT, "metering", "undecodable"),
        ("dead_letter", AUDIT_SUBJECT, "audit", "max_deliveries"),
    ]
    restored_seq = (await nc.jetstream().stream_info("AUDIT")).state.last_seq
    assert letters[1]["stream_seq"] == restored_seq  # the event's sequence in the restored stream
    assert letters[1]["deliveries"] == 5

    sub = await nc.subscribe(AUDIT_SUBJECT)
    await nc.flush()
    replayed = await operator.replay(nc, int(letters[1]["id"]))
    assert replayed["replayed_to"] == AUDIT_SUBJECT
    msg = await sub.next_msg(timeout=5)
    assert json.loads(msg.data)["event_id"] == "evt_b"

    again = await backup_streams.republish(nc, _lines(), lambda _: None, targets)  # a second restore run
    assert again["republished"] == 0
    assert again["dead_letters"] == 0
    assert len(await operator.list_dead_letters(nc)) == 2
