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

Record format: 4-byte big-endian length, then the record body. A torn last record (killed
mid-write) is ignored: its event was never queued.

**Sealed journals** (issue 16). With a keyring (``BASTION_SPOOL_KEYS`` / ``_FILE``, the stack
makes one per service), each body is ``b"S"``, the key id (1 length byte + ASCII), then msgpack
``[subject, msg_id, payload]`` sealed with AES-256-GCM under a key derived from that master key
(HKDF, ``bastion/v1/spool``), bound to the spool's name — a journal copied off the machine, or
into another service's directory, cannot be read. Older key ids stay readable while they are in
the ring (rotation: add the new key first, drop the old one once no journal uses it). A record
that does not open (unknown key, tampered, or a plaintext record where a keyring is configured)
stops the replay of its file, which is renamed ``*.unreadable`` for an operator and never
replayed in part; without a keyring, bodies are plain msgpack (development only).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import stat
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from libs.crypto.aead import DecryptError, make_aad, open_sealed, seal
from libs.crypto.keyring import Keyring, UnknownKeyError

log = logging.getLogger("bastion.spool")

_LEN = struct.Struct(">I")
SUFFIX = ".spool"
UNREADABLE = ".unreadable"
_SEALED = b"S"
_SUBKEY_INFO = b"bastion/v1/spool"


class Unreadable(Exception):
    """A journal record that cannot be opened with this spool's keys (no detail: it may be anything)."""


class Sealer:
    """Seals and opens journal records of one spool with a keyring (the primary key seals)."""

    def __init__(self, keyring: Keyring, name: str) -> None:
        self._keyring = keyring
        self._aad = make_aad("spool", name)
        self._subkeys: dict[str, bytes] = {}

    def _subkey(self, kid: str) -> bytes:
        key = self._subkeys.get(kid)
        if key is None:
            key = self._subkeys[kid] = self._keyring.get(kid).derive(_SUBKEY_INFO)
        return key

    def seal(self, body: bytes) -> bytes:
        kid = self._keyring.primary.kid
        return _SEALED + bytes([len(kid)]) + kid.encode() + seal(self._subkey(kid), body, self._aad)

    def open(self, data: bytes) -> bytes:
        if data[:1] != _SEALED or len(data) < 2:
            raise Unreadable
        end = 2 + data[1]
        try:
            return open_sealed(self._subkey(data[2:end].decode("ascii")), data[end:], self._aad)
        except (DecryptError, UnknownKeyError, UnicodeDecodeError, ValueError):
            raise Unreadable from None


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
    keyring: Keyring | None = None
    """Seals every record (see the module docstring); None: plain records (development only)."""
    _sealer: Sealer | None = field(default=None, init=False)
    _current: Segment | None = field(default=None, init=False)
    _seq: int = field(default=0, init=False)

    def open(self) -> None:
        """Create the directory (0700) and this process's first segment."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._sealer = Sealer(self.keyring, self.name) if self.keyring is not None else None
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
        if self._sealer is not None:
            body = self._sealer.seal(body)
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
                # never through a link, never waiting on a FIFO or device (checked just below)
                fd = os.open(path, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
            except FileNotFoundError:
                continue  # another process took it over and finished it
            except OSError as exc:  # not a journal we may open (a directory, another owner's): skip it only
                log.error(
                    "event journal cannot be opened", extra={"journal": path.name, "error_type": type(exc).__name__}
                )
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)  # its owner is alive
                continue
            try:
                info = os.fstat(fd)
                if not stat.S_ISREG(info.st_mode):
                    os.close(fd)
                    log.error("event journal is not a regular file; skipped", extra={"journal": path.name})
                    continue
                if info.st_nlink == 0:
                    os.close(fd)  # another process replayed and removed it meanwhile
                    continue
                records = _read(fd, self._sealer)
            except Unreadable:
                _set_aside(path, fd)
                continue
            except OSError as exc:
                os.close(fd)
                log.error(
                    "event journal cannot be read", extra={"journal": path.name, "error_type": type(exc).__name__}
                )
                continue
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


def _read(fd: int, sealer: Sealer | None) -> list[Record]:
    """The records of the journal open at ``fd`` (a regular file), up to a torn tail;
    :class:`Unreadable` if one does not open."""
    size = os.fstat(fd).st_size
    chunks: list[bytes] = []
    offset = 0
    while offset < size:
        chunk = os.pread(fd, min(size - offset, 1 << 20), offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    data = b"".join(chunks)
    records: list[Record] = []
    pos = 0
    while pos + _LEN.size <= len(data):
        (length,) = _LEN.unpack_from(data, pos)
        end = pos + _LEN.size + length
        if end > len(data):
            break  # torn tail
        body = data[pos + _LEN.size : end]
        if sealer is not None:
            body = sealer.open(body)  # a sealed record is whole or raises: never torn inside
        try:
            subject, msg_id, payload = msgspec.msgpack.decode(body, type=tuple[str, str, bytes])
        except (msgspec.DecodeError, ValueError, TypeError):
            if sealer is not None:
                raise Unreadable from None  # authentic but not a record: not a torn write
            break
        records.append(Record(subject, msg_id, payload))
        pos = end
    return records


def _set_aside(path: Path, fd: int) -> None:
    """Keep a journal that does not open for an operator, out of every later replay."""
    log.error("event journal cannot be opened with this service's spool keys; set aside",
              extra={"journal": path.name + UNREADABLE})  # fmt: skip
    with contextlib.suppress(FileNotFoundError):
        path.rename(path.with_name(path.name + UNREADABLE))
    os.close(fd)


def _remove(segment: Segment) -> None:
    with contextlib.suppress(FileNotFoundError):
        segment.path.unlink()
    os.close(segment.fd)
