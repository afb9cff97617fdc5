"""A write-ahead journal for events not yet acked by JetStream.

An :class:`~libs.svc.events.EventPublisher` with a spool appends every event to a local segment
file before queueing it, and marks it done when the stream acks. The write is one ``write(2)``
on an ``O_APPEND`` descriptor: it survives the process being killed (the kernel holds the data);
``fsync`` is optional for surviving a machine crash as well. A segment whose events are all
acked is emptied (the current one) or deleted (a rotated one).

Each process holds an exclusive ``flock`` on its own segments. Any publisher sharing the
directory (a sibling worker, or the restarted process) takes over segments whose lock it can
get — their owner died — and publishes their events again; ``Nats-Msg-Id`` and the consumers'
idempotency by id make a replay of an event that was in fact stored harmless.

Record format: 4-byte big-endian length, then msgpack ``[subject, msg_id, payload]``. A torn
last record (killed mid-write) is ignored: its event was never queued.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

log = logging.getLogger("bastion.spool")

_LEN = struct.Struct(">I")
SUFFIX = ".spool"


@dataclass(eq=False)
class Segment:
    """One journal file and how many of its events still await an ack."""

    path: Path
    fd: int
    outstanding: int = 0
    size: int = 0
    sealed: bool = False
    """No longer appended to: deleted once ``outstanding`` reaches zero."""


@dataclass(frozen=True, slots=True)
class Record:
    """One spooled event."""

    subject: str
    msg_id: str
    payload: bytes


@dataclass
class Spool:
    """The journal of one process, in ``directory`` (shared by the processes of one service)."""

    directory: Path
    name: str
    segment_bytes: int = 8 * 1024 * 1024
    fsync: bool = False
    _current: Segment | None = field(default=None, init=False)
    _seq: int = field(default=0, init=False)

    def open(self) -> None:
        """Create the directory (0700) and this process's first segment."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._current = self._new_segment()

    def _new_segment(self) -> Segment:
        self._seq += 1
        path = self.directory / f"{self.name}-{os.getpid()}-{time.time_ns()}-{self._seq}{SUFFIX}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return Segment(path=path, fd=fd)

    def append(self, record: Record) -> Segment:
        """Journal ``record``; returns the segment to pass to :meth:`done` once it is acked."""
        segment = self._current
        if segment is None:
            raise RuntimeError("spool is not open")
        body = msgspec.msgpack.encode((record.subject, record.msg_id, record.payload))
        data = _LEN.pack(len(body)) + body
        written = os.write(segment.fd, data)
        if written != len(data):
            raise OSError("short write to the event spool")
        if self.fsync:
            os.fsync(segment.fd)
        segment.outstanding += 1
        segment.size += written
        if segment.size >= self.segment_bytes:
            segment.sealed = True
            self._current = self._new_segment()
        return segment

    def done(self, segment: Segment) -> None:
        """One event of ``segment`` was acked."""
        segment.outstanding -= 1
        if segment.outstanding > 0:
            return
        if segment.sealed:
            _remove(segment)
        elif segment.size:
            os.ftruncate(segment.fd, 0)  # O_APPEND: the next record goes to the new end
            segment.size = 0

    def take_orphans(self) -> Iterator[tuple[Segment, list[Record]]]:
        """Segments left by dead processes (their lock is free), locked and read; the caller
        publishes the records and calls :meth:`done` for each (the file goes when all are)."""
        own = {self._current.path} if self._current else set()
        for path in sorted(self.directory.glob(f"*{SUFFIX}")):
            if path in own:
                continue
            try:
                fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
            except FileNotFoundError:
                continue  # another process took it over and finished it
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)  # its owner is alive
                continue
            if os.fstat(fd).st_nlink == 0:
                os.close(fd)  # another process replayed and removed it meanwhile
                continue
            records = _read(path)
            segment = Segment(path=path, fd=fd, outstanding=len(records), sealed=True)
            if not records:
                _remove(segment)
                continue
            log.warning("replaying events of a stopped process", extra={"count": len(records)})
            yield segment, records

    def close(self) -> None:
        """Release the current segment (deleted if it holds no unacked event)."""
        segment, self._current = self._current, None
        if segment is None:
            return
        if segment.outstanding == 0:
            _remove(segment)
        else:
            os.close(segment.fd)  # left for the next process to replay


def _read(path: Path) -> list[Record]:
    data = path.read_bytes()
    records: list[Record] = []
    pos = 0
    while pos + _LEN.size <= len(data):
        (length,) = _LEN.unpack_from(data, pos)
        end = pos + _LEN.size + length
        if end > len(data):
            break  # torn tail
        try:
            subject, msg_id, payload = msgspec.msgpack.decode(data[pos + _LEN.size : end])
        except (msgspec.DecodeError, ValueError, TypeError):
            break
        records.append(Record(str(subject), str(msg_id), bytes(payload)))
        pos = end
    return records


def _remove(segment: Segment) -> None:
    with contextlib.suppress(FileNotFoundError):
        segment.path.unlink()
    os.close(segment.fd)
