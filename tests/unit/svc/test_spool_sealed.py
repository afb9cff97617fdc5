"""Sealed event journals (issue 16): nothing readable in the file, torn tails still ignored,
rotation, and a journal that does not open is set aside whole, never replayed in part."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from libs.crypto.keyring import Keyring, generate_spec
from libs.svc.spool import SUFFIX, UNREADABLE, Record, Spool

CANARY_IP = "203.0.113.77"
CANARY_KEY = "sk-proj_prj1_" + "Z" * 48


def events(n: int) -> list[Record]:
    body = f'{{"ip":"{CANARY_IP}","user_agent":"canary-agent","key_prefix":"{CANARY_KEY}"}}'.encode()
    return [Record("gw.evt.audit.edge.chat.completion", f"evt{i}", body) for i in range(n)]


def die(spool: Spool) -> None:
    """The process is killed: its descriptors (and lock) go, its journal stays."""
    assert spool._current is not None
    os.close(spool._current.fd)
    spool._current = None


def test_a_sealed_journal_holds_nothing_readable_and_replays_with_the_key(tmp_path: Path) -> None:
    ring = Keyring.from_spec(generate_spec("sk1"))
    spool = Spool(tmp_path / "edge", "edge", keyring=ring)
    spool.open()
    for record in events(3):
        spool.append(record)
    die(spool)
    (path,) = (tmp_path / "edge").glob(f"*{SUFFIX}")
    raw = path.read_bytes()
    for canary in (CANARY_IP, CANARY_KEY, "canary-agent", "evt0", "gw.evt.audit"):
        assert canary.encode() not in raw
    successor = Spool(tmp_path / "edge", "edge", keyring=ring)
    successor.open()
    ((_, found),) = list(successor.take_orphans())
    assert [r.msg_id for r in found] == ["evt0", "evt1", "evt2"]
    assert CANARY_IP.encode() in found[0].payload


def test_a_torn_sealed_tail_is_ignored(tmp_path: Path) -> None:
    ring = Keyring.from_spec(generate_spec("sk1"))
    spool = Spool(tmp_path, "edge", keyring=ring)
    spool.open()
    for record in events(2):
        spool.append(record)
    assert spool._current is not None
    os.write(spool._current.fd, b"\x00\x00\x01\x00S\x03sk1partial")  # killed mid-write
    die(spool)
    successor = Spool(tmp_path, "edge", keyring=ring)
    successor.open()
    ((_, found),) = list(successor.take_orphans())
    assert [r.msg_id for r in found] == ["evt0", "evt1"]


def test_old_keys_in_the_ring_still_open_journals_after_a_rotation(tmp_path: Path) -> None:
    old = generate_spec("sk1")
    spool = Spool(tmp_path, "edge", keyring=Keyring.from_spec(old))
    spool.open()
    spool.append(events(1)[0])
    die(spool)
    rotated = Keyring.from_spec(generate_spec("sk2") + "," + old)
    successor = Spool(tmp_path, "edge", keyring=rotated)
    successor.open()
    ((_, found),) = list(successor.take_orphans())
    assert [r.msg_id for r in found] == ["evt0"]


def test_a_journal_that_does_not_open_is_set_aside_whole(tmp_path: Path) -> None:
    ring = Keyring.from_spec(generate_spec("sk1"))
    for name, reader_ring, reader_name in (
        ("wrong-key", Keyring.from_spec(generate_spec("sk1")), "edge"),  # copied to another machine
        ("other-service", ring, "api"),  # copied into another service's directory
        ("plaintext", ring, "edge"),  # a clear journal where sealing is on (planted or stale)
    ):
        directory = tmp_path / name
        writer = Spool(directory, "edge", keyring=None if name == "plaintext" else ring)
        writer.open()
        for record in events(2):
            writer.append(record)
        die(writer)
        reader = Spool(directory, reader_name, keyring=reader_ring)
        reader.open()
        assert list(reader.take_orphans()) == [], name
        assert len(list(directory.glob(f"*{SUFFIX}{UNREADABLE}"))) == 1, name
        assert list(reader.take_orphans()) == []  # not tried again
        reader.close()


def test_a_tampered_record_stops_the_replay_of_its_file(tmp_path: Path) -> None:
    ring = Keyring.from_spec(generate_spec("sk1"))
    spool = Spool(tmp_path, "edge", keyring=ring)
    spool.open()
    for record in events(3):
        spool.append(record)
    die(spool)
    (path,) = tmp_path.glob(f"*{SUFFIX}")
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01  # one bit of the last record
    shutil.copy(path, tmp_path / "keep")
    path.write_bytes(bytes(data))
    successor = Spool(tmp_path, "edge", keyring=ring)
    successor.open()
    assert list(successor.take_orphans()) == []
    assert not path.exists()
    assert (tmp_path / (path.name + UNREADABLE)).exists()
