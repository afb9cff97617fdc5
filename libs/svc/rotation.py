"""Size- and age-bounded files: ``<file>`` is written, ``<file>.1`` … ``<file>.N`` are kept.

A file is rotated once it reaches ``max_bytes`` or is ``max_age_s`` old: ``<file>.N`` is
deleted, each ``<file>.i`` becomes ``<file>.i+1``, ``<file>`` becomes ``<file>.1``; rotated files
older than ``max_age_s`` are deleted too. On disk a file then takes at most
``max_bytes × (backups + 1)`` (plus the last write of each writer, below).

Two ways to write:

* :class:`RotatingFile` — the writer rotates. Several processes may append to the same path
  (the edge's workers, a service's replicas share a trace file): each write is one ``write(2)``
  of whole lines on an ``O_APPEND`` descriptor, so lines never interleave; a rotation happens
  under an ``flock`` on ``<file>.lock`` and only if the path still is the file this writer
  has open, so two writers never rotate twice; a writer whose file was rotated by another
  reopens the path within a second (until then its lines go to ``<file>.1``, still bounded).
* :func:`copy_truncate` — for a file others write through descriptors they inherited (the
  local stack's ``var/logs/*.log``: stdout and stderr of each process, opened ``O_APPEND``):
  copy, then truncate in place, so every writer goes on at the new end of the same file. A line
  written between the copy and the truncation is lost (the copy is cut back to its last whole
  line); the window is one ``ftruncate``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_MIB = 1024 * 1024
_DAY_S = 86_400.0
CHECK_EVERY_S = 1.0
"""How often a writer looks whether another process rotated its file or it has grown too old."""


DEFAULT_MAX_MB = 50.0
DEFAULT_BACKUPS = 5
DEFAULT_MAX_AGE_DAYS = 7.0


@dataclass(frozen=True, slots=True)
class Rotation:
    """The bounds of one file (a plain dataclass: the local stack's supervisor reads it without
    loading msgspec, ``tests/unit/libs/test_stack_footprint.py``)."""

    max_bytes: int
    backups: int
    max_age_s: float

    @classmethod
    def of(cls, max_mb: float, backups: int, max_age_days: float) -> Rotation:
        """From the settings' units (MB, count, days); nonsense is refused, not guessed at."""
        if max_mb <= 0 or backups < 0 or max_age_days <= 0:
            raise ValueError("rotation bounds must be positive (backups may be 0)")
        return cls(max(1, int(max_mb * _MIB)), backups, max_age_days * _DAY_S)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], prefix: str) -> Rotation:
        """``<prefix>_MAX_MB``, ``<prefix>_BACKUPS``, ``<prefix>_MAX_AGE_DAYS`` (the same variables
        and defaults as :class:`libs.svc.settings.BaseSettings`); a value that is not a number is
        refused with the variable's name."""

        def number(suffix: str, default: float, kind: type[float] | type[int]) -> float:
            name = f"{prefix}_{suffix}"
            raw = environ.get(name, "").strip()
            try:
                return kind(raw) if raw else default
            except ValueError:
                raise ValueError(f"{name} must be a number") from None

        return cls.of(number("MAX_MB", DEFAULT_MAX_MB, float), int(number("BACKUPS", DEFAULT_BACKUPS, int)),
                      number("MAX_AGE_DAYS", DEFAULT_MAX_AGE_DAYS, float))  # fmt: skip


def backup(path: Path, index: int) -> Path:
    """``<file>.<index>``."""
    return path.with_name(f"{path.name}.{index}")


def started_at(path: Path, now: float) -> float:
    """When the current ``path`` was begun, as far as the disk tells: the last rotation (the
    newest backup's mtime), else ``now`` (a file never rotated counts from when it is opened)."""
    try:
        return min(now, backup(path, 1).stat().st_mtime)
    except FileNotFoundError:
        return now


def _make_room(path: Path, rotation: Rotation) -> None:
    """Drop ``<file>.N`` and move each other backup one up, so ``<file>.1`` is free."""
    if rotation.backups:
        backup(path, rotation.backups).unlink(missing_ok=True)
    for i in range(rotation.backups - 1, 0, -1):
        with contextlib.suppress(FileNotFoundError):
            backup(path, i).rename(backup(path, i + 1))


def shift(path: Path, rotation: Rotation, now: float) -> None:
    """Move ``path`` to ``<file>.1`` (and each backup one up), then drop what is over the bounds."""
    _make_room(path, rotation)
    if rotation.backups:
        with contextlib.suppress(FileNotFoundError):
            path.rename(backup(path, 1))
    else:
        path.unlink(missing_ok=True)
    prune(path, rotation, now)


def prune(path: Path, rotation: Rotation, now: float) -> None:
    """Delete rotated files older than ``max_age_s`` and any beyond ``backups``."""
    for i in range(1, rotation.backups + 1):
        old = backup(path, i)
        with contextlib.suppress(FileNotFoundError):
            if now - old.stat().st_mtime > rotation.max_age_s:
                old.unlink()
    for stray in path.parent.glob(f"{path.name}.*"):  # left by a larger ``backups`` before
        suffix = stray.name[len(path.name) + 1 :]
        if suffix.isdigit() and int(suffix) > rotation.backups:
            stray.unlink(missing_ok=True)


class RotatingFile:
    """Append whole lines to ``path``, rotating it within its bounds; safe across processes."""

    def __init__(self, path: str | Path, rotation: Rotation, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.rotation = rotation
        self._clock = clock
        self._fd = -1
        self._size = 0
        self._begun = 0.0
        self._next_check = 0.0
        self._lock_path = self.path.with_name(self.path.name + ".lock")

    def write(self, data: bytes) -> None:
        """Append ``data`` (complete lines) in one write; rotate first if it is due."""
        now = self._clock()
        if self._fd < 0:
            self._open(now)
        if (self._size and self._size + len(data) > self.rotation.max_bytes) or now >= self._next_check:
            self._check(now, incoming=len(data))
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]
        self._size = os.lseek(self._fd, 0, os.SEEK_CUR)  # O_APPEND: the end, other writers included

    def close(self) -> None:
        """Close the descriptor (a later write reopens)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _open(self, now: float) -> None:
        self.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._size = os.fstat(self._fd).st_size
        self._begun = started_at(self.path, now)
        self._next_check = now + CHECK_EVERY_S

    def _check(self, now: float, incoming: int) -> None:
        """Reopen if another writer rotated; rotate if full or old (under the lock, re-checked)."""
        self._next_check = now + CHECK_EVERY_S
        if not self._is_current():
            self._open(now)
        if not self._due(now, incoming):
            return
        with _locked(self._lock_path):
            if self._is_current() and self._due(now, incoming):
                shift(self.path, self.rotation, now)
            self._open(now)  # ours, or the one another writer just began

    def _due(self, now: float, incoming: int) -> bool:
        size = os.fstat(self._fd).st_size
        self._size = size
        if not size:
            return False
        return size + incoming > self.rotation.max_bytes or now - self._begun >= self.rotation.max_age_s

    def _is_current(self) -> bool:
        """Whether ``path`` still names the file this writer has open."""
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(self._fd)
        return (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def copy_truncate(path: Path, rotation: Rotation, now: float, begun: float) -> bool:
    """Rotate ``path`` in place if it is due (see the module docstring); whether it was."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return False
    if not size or (size < rotation.max_bytes and now - begun < rotation.max_age_s):
        return False
    _make_room(path, rotation)
    with path.open("r+b") as src:
        if rotation.backups:
            with backup(path, 1).open("w+b") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
                shutil.copyfileobj(src, dst, 1024 * 1024)  # what was appended while copying
                _drop_torn_tail(dst)
        src.truncate(0)
    prune(path, rotation, now)
    return True


def _drop_torn_tail(copy: BinaryIO) -> None:
    """Cut a copy back to its last newline. A read does not wait for a write in progress (only
    ``ftruncate`` does), so the copy may end inside a line whose whole is then truncated away:
    that line is the one lost, it must not stay behind torn."""
    end = copy.tell()
    start = max(0, end - 65_536)
    copy.seek(start)
    tail = copy.read(end - start)
    cut = tail.rfind(b"\n")
    if cut == len(tail) - 1 or (cut < 0 and start > 0):  # whole, or one line longer than we look back
        return
    copy.truncate(start + cut + 1)
