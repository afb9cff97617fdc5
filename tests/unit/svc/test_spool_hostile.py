"""A hostile or broken entry in the journal directory costs only itself: the scan goes on to
the other journals (the publisher's recovery loop is never stopped or starved by one file)."""

from __future__ import annotations

import os
import struct
import threading
from pathlib import Path

import msgspec

from libs.crypto.keyring import Keyring, generate_spec
from libs.svc.spool import SUFFIX, Record, Spool


def orphan(directory: Path, ring: Keyring | None, msg_id: str) -> None:
    """A journal left by a killed process (its descriptor and lock gone)."""
    spool = Spool(directory, "edge", keyring=ring)
    spool.open()
    spool.append(Record("gw.evt.usage.o", msg_id, b"{}"))
    assert spool._current is not None
    os.close(spool._current.fd)
    spool._current = None


def replayed(spool: Spool) -> list[str]:
    return [r.msg_id for _, records in spool.take_orphans() for r in records]


def test_an_entry_that_cannot_be_opened_does_not_stop_the_replay_of_the_others(tmp_path: Path) -> None:
    ring = Keyring.from_spec(generate_spec("sk1"))
    orphan(tmp_path, ring, "evt-after")
    (tmp_path / f"0-planted{SUFFIX}").mkdir()  # sorts first; open(O_RDWR) fails with EISDIR
    successor = Spool(tmp_path, "edge", keyring=ring)
    successor.open()
    assert replayed(successor) == ["evt-after"]


def test_a_clear_record_of_the_wrong_shape_does_not_raise_out_of_the_scan(tmp_path: Path) -> None:
    orphan(tmp_path, None, "evt-after")
    for name, fields in (("0-str", ("s", "id", "text")), ("1-int", ("s", "id", 3))):
        body = msgspec.msgpack.encode(fields)
        (tmp_path / f"{name}{SUFFIX}").write_bytes(struct.pack(">I", len(body)) + body)
    successor = Spool(tmp_path, "edge")
    successor.open()
    assert replayed(successor) == ["evt-after"]


def _replay_in_time(spool: Spool) -> list[str]:
    """The scan, in a thread: a blocking read must fail the test, not hang the suite."""
    found: list[list[str]] = []
    worker = threading.Thread(target=lambda: found.append(replayed(spool)), daemon=True)
    worker.start()
    worker.join(5)
    assert found, "the journal scan blocked"
    return found[0]


def test_a_fifo_named_like_a_journal_neither_blocks_the_scan_nor_stops_it(tmp_path: Path) -> None:
    ring = Keyring.from_spec(generate_spec("sk1"))
    orphan(tmp_path, ring, "evt-after")
    os.mkfifo(tmp_path / f"0-fifo{SUFFIX}")  # a read of it would wait forever for a writer
    successor = Spool(tmp_path, "edge", keyring=ring)
    successor.open()
    assert _replay_in_time(successor) == ["evt-after"]


def test_a_symlink_named_like_a_journal_is_not_followed(tmp_path: Path) -> None:
    ring = Keyring.from_spec(generate_spec("sk1"))
    orphan(tmp_path, ring, "evt-after")
    target = tmp_path / "elsewhere.bin"
    target.write_bytes(b"not yours")
    (tmp_path / f"0-link{SUFFIX}").symlink_to("/dev/zero")  # endless: a read would fill memory
    (tmp_path / f"1-link{SUFFIX}").symlink_to(target)
    successor = Spool(tmp_path, "edge", keyring=ring)
    successor.open()
    assert _replay_in_time(successor) == ["evt-after"]
    assert target.read_bytes() == b"not yours"  # neither set aside nor removed through the link
