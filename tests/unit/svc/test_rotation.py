"""Bounded files: rotation by size and age, several writing processes, copy-and-truncate."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from libs.svc.rotation import CHECK_EVERY_S, RotatingFile, Rotation, backup, copy_truncate, prune


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def files_of(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + "*"))


def read_lines(path: Path, backups: int) -> list[str]:
    """Oldest first: ``<file>.N`` … ``<file>.1``, then ``<file>``."""
    order = [backup(path, i) for i in range(backups, 0, -1)] + [path]
    return [line for p in order if p.exists() for line in p.read_text().splitlines()]


def test_size_bound_keeps_the_newest_lines_in_order(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    rotation = Rotation(max_bytes=10_000, backups=3, max_age_s=86_400)
    out = RotatingFile(path, rotation)
    line = "x" * 90
    for i in range(2000):
        out.write(f"{i:08d} {line}\n".encode())
    out.close()
    assert {p.name for p in files_of(path)} == {"t.jsonl", "t.jsonl.1", "t.jsonl.2", "t.jsonl.3", "t.jsonl.lock"}
    for p in (path, backup(path, 1), backup(path, 2), backup(path, 3)):
        assert p.stat().st_size <= rotation.max_bytes
    kept = [int(line.split()[0]) for line in read_lines(path, 3)]
    assert kept == list(range(kept[0], 2000))  # contiguous, newest last, nothing torn
    assert len(kept) >= 3 * (rotation.max_bytes // 100)
    assert oct(path.stat().st_mode & 0o777) == "0o600"  # traces are not for every local user


def test_a_write_larger_than_the_bound_gets_a_file_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    out = RotatingFile(path, Rotation(max_bytes=100, backups=2, max_age_s=86_400))
    out.write(b"a\n")
    out.write(b"b" * 300 + b"\n")
    out.write(b"c\n")
    assert backup(path, 2).read_bytes() == b"a\n"
    assert backup(path, 1).read_bytes() == b"b" * 300 + b"\n"
    assert path.read_bytes() == b"c\n"


def test_age_bound_rotates_the_file_and_deletes_old_backups(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    clock = Clock()
    clock.now -= 5000  # files get real mtimes: the fake clock runs in the past of them
    rotation = Rotation(max_bytes=1_000_000, backups=5, max_age_s=3600)
    out = RotatingFile(path, rotation, clock=clock)
    out.write(b"first\n")
    clock.now += 1800
    out.write(b"second\n")
    assert not backup(path, 1).exists()
    clock.now += 1801  # the file was begun more than an hour ago
    out.write(b"third\n")
    assert backup(path, 1).read_bytes() == b"first\nsecond\n"
    assert path.read_bytes() == b"third\n"
    # a backup older than the age bound is deleted at the next rotation
    old = clock.now - 7200
    os.utime(backup(path, 1), (old, old))
    clock.now += 3601
    out.write(b"fourth\n")
    assert backup(path, 1).read_bytes() == b"third\n"
    assert not backup(path, 2).exists()


def test_prune_drops_backups_beyond_a_smaller_count(tmp_path: Path) -> None:
    path = tmp_path / "t.log"
    for i in range(1, 8):
        backup(path, i).write_text(str(i))
    (tmp_path / "t.log.lock").write_text("")
    prune(path, Rotation(max_bytes=10, backups=2, max_age_s=86_400), time.time())
    assert {p.name for p in files_of(path)} == {"t.log.1", "t.log.2", "t.log.lock"}


def test_a_writer_follows_a_rotation_made_by_another(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    clock = Clock()
    rotation = Rotation(max_bytes=50, backups=3, max_age_s=86_400)
    a = RotatingFile(path, rotation, clock=clock)
    b = RotatingFile(path, rotation, clock=clock)
    a.write(b"a" * 30 + b"\n")
    b.write(b"b" * 30 + b"\n")  # b sees the shared size: rotates
    assert backup(path, 1).read_bytes() == b"a" * 30 + b"\n"
    clock.now += CHECK_EVERY_S
    a.write(b"A\n")  # a notices the path is another file now and reopens it: no second rotation
    assert path.read_bytes() == b"b" * 30 + b"\nA\n"
    assert not backup(path, 2).exists()


def _writer(path: str, rotation: Rotation, worker: int, count: int) -> None:
    out = RotatingFile(path, rotation)
    pad = "p" * (50 + 40 * worker)
    for i in range(count):
        out.write(json.dumps({"w": worker, "i": i, "pad": pad}).encode() + b"\n")
    out.close()


def test_several_processes_share_one_file_without_torn_or_lost_lines(tmp_path: Path) -> None:
    path = tmp_path / "edge.jsonl"
    rotation = Rotation(max_bytes=40_000, backups=10_000, max_age_s=86_400)  # keep all: count them
    workers, count = 4, 1500
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), rotation, w, count)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    seen: dict[int, list[int]] = {w: [] for w in range(workers)}
    longest = 0
    files = [p for p in files_of(path) if not p.name.endswith(".lock")]
    assert len(files) > 10  # it did rotate, many times, under four writers
    for p in files:
        raw = p.read_bytes()
        for line in raw.splitlines():
            record = json.loads(line)  # every line whole
            seen[record["w"]].append(record["i"])
            longest = max(longest, len(line) + 1)
        # a file may pass the bound by what the other writers appended since a writer's last check
        assert len(raw) <= rotation.max_bytes + workers * longest
    for w in range(workers):
        assert sorted(seen[w]) == list(range(count)), f"writer {w} lost or doubled lines"


def test_copy_truncate_bounds_a_file_other_processes_append_to(tmp_path: Path) -> None:
    path = tmp_path / "svc.log"
    rotation = Rotation(max_bytes=20_000, backups=2, max_age_s=86_400)
    script = "import sys,time\nfor i in range(30000):\n    sys.stdout.write(f'{i:06d} ' + 'l'*60 + '\\n')\n"
    with path.open("ab") as out:  # as the supervisor starts a process: O_APPEND, inherited
        child = subprocess.Popen([sys.executable, "-u", "-c", script], stdout=out)
    rotations = 0
    begun = time.time()
    while child.poll() is None:
        if copy_truncate(path, rotation, time.time(), begun):
            rotations += 1
        time.sleep(0.005)
    assert child.wait() == 0
    assert rotations > 2
    for p in (path, backup(path, 1), backup(path, 2)):
        raw = p.read_bytes()
        assert b"\0" not in raw  # no hole: every writer went on at the new end
        for line in raw.splitlines():
            assert len(line) == 67
    assert not backup(path, 3).exists()


def test_copy_truncate_leaves_no_torn_line_behind(tmp_path: Path) -> None:
    # a copy can end inside a write in progress (reads do not wait for writes; ftruncate does):
    # the line being written is the one lost, it must not stay torn in the backup
    path = tmp_path / "svc.log"
    path.write_bytes(b"one\ntwo\nthr")
    rotation = Rotation(max_bytes=5, backups=1, max_age_s=86_400)
    assert copy_truncate(path, rotation, time.time(), time.time())
    assert backup(path, 1).read_bytes() == b"one\ntwo\n"
    assert path.read_bytes() == b""
    path.write_bytes(b"no newline at all")
    assert copy_truncate(path, rotation, time.time(), time.time())
    assert backup(path, 1).read_bytes() == b""


def test_copy_truncate_by_age(tmp_path: Path) -> None:
    path = tmp_path / "svc.log"
    path.write_bytes(b"old\n")
    rotation = Rotation(max_bytes=1_000_000, backups=1, max_age_s=60)
    now = time.time()
    assert not copy_truncate(path, rotation, now, begun=now - 30)
    assert copy_truncate(path, rotation, now, begun=now - 61)
    assert backup(path, 1).read_bytes() == b"old\n"
    assert path.read_bytes() == b""
    assert not copy_truncate(path, rotation, now + 120, begun=now)  # empty: nothing to rotate


@pytest.mark.parametrize(("mb", "backups", "days"), [(0, 1, 1), (1, -1, 1), (1, 1, 0)])
def test_nonsense_bounds_are_refused(mb: float, backups: int, days: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        Rotation.of(mb, backups, days)


def test_the_supervisors_log_bounds_read_the_same_variables_and_defaults_as_the_settings() -> None:
    from libs.svc.settings import BaseSettings, load

    assert Rotation.from_env({}, "BASTION_LOG") == load(BaseSettings, {}).log_rotation()
    env = {"BASTION_LOG_MAX_MB": "10", "BASTION_LOG_BACKUPS": "0", "BASTION_LOG_MAX_AGE_DAYS": "0.5"}
    assert Rotation.from_env(env, "BASTION_LOG") == load(BaseSettings, env).log_rotation()


def test_a_log_bound_that_is_not_a_number_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match="BASTION_LOG_BACKUPS"):
        Rotation.from_env({"BASTION_LOG_BACKUPS": "many"}, "BASTION_LOG")
    with pytest.raises(ValueError, match="positive"):
        Rotation.from_env({"BASTION_LOG_MAX_MB": "-1"}, "BASTION_LOG")
