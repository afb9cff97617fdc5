"""The event spool: journal, acknowledge, rotate, and take over a dead process's leftovers."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from libs.svc.spool import SUFFIX, Record, Spool


def records(n: int, prefix: str = "e") -> list[Record]:
    return [Record("gw.evt.usage.o.recorded", f"{prefix}{i}", f"payload-{i}".encode()) for i in range(n)]


def test_acked_events_leave_nothing_behind(tmp_path: Path) -> None:
    spool = Spool(tmp_path, "edge")
    spool.open()
    segments = [spool.append(r) for r in records(3)]
    (path,) = tmp_path.glob(f"*{SUFFIX}")
    assert path.stat().st_size > 0
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    for segment in segments:
        spool.done(segment)
    assert path.stat().st_size == 0  # all acked: emptied in place
    spool.append(records(1, "late")[0])
    spool.close()
    assert list(tmp_path.glob(f"*{SUFFIX}")) == [path]  # one unacked event stays for a successor


def test_a_live_owners_segment_is_not_taken_but_a_dead_ones_is(tmp_path: Path) -> None:
    owner = Spool(tmp_path, "edge")
    owner.open()
    for record in records(5):
        owner.append(record)
    other = Spool(tmp_path, "edge")
    other.open()
    assert list(other.take_orphans()) == []  # the owner holds its lock
    # the owner dies: its descriptors close, its lock goes (simulated by closing them)
    assert owner._current is not None
    os.close(owner._current.fd)
    owner._current = None
    taken = list(other.take_orphans())
    assert len(taken) == 1
    segment, found = taken[0]
    assert [r.msg_id for r in found] == [f"e{i}" for i in range(5)]
    assert found[0].payload == b"payload-0"
    for _ in found:
        other.done(segment)
    assert not segment.path.exists()
    other.close()
    assert list(tmp_path.glob(f"*{SUFFIX}")) == []


def test_a_torn_last_record_is_ignored(tmp_path: Path) -> None:
    spool = Spool(tmp_path, "edge")
    spool.open()
    for record in records(2):
        spool.append(record)
    assert spool._current is not None
    os.write(spool._current.fd, b"\x00\x00\x01\x00partial")  # killed mid-write
    os.close(spool._current.fd)
    spool._current = None
    successor = Spool(tmp_path, "edge")
    successor.open()
    ((_, found),) = list(successor.take_orphans())
    assert [r.msg_id for r in found] == ["e0", "e1"]


def test_segments_rotate_and_sealed_ones_go_once_acked(tmp_path: Path) -> None:
    spool = Spool(tmp_path, "edge", segment_bytes=200)
    spool.open()
    appended = [spool.append(r) for r in records(20)]
    files = sorted(tmp_path.glob(f"*{SUFFIX}"))
    assert len(files) > 2
    for segment in appended:
        spool.done(segment)
    left = list(tmp_path.glob(f"*{SUFFIX}"))
    assert len(left) == 1  # only the current (empty) segment
    assert left[0].stat().st_size == 0


def test_a_segment_locked_elsewhere_is_skipped(tmp_path: Path) -> None:
    stray = tmp_path / f"edge-1-1-1{SUFFIX}"
    stray.write_bytes(b"")
    fd = os.open(stray, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    spool = Spool(tmp_path, "edge")
    spool.open()
    assert list(spool.take_orphans()) == []
    os.close(fd)
    assert list(spool.take_orphans()) == []  # empty leftovers are just removed
    assert not stray.exists()
