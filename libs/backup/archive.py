"""The archive's inner layer: named parts, each a sequence of blocks, then a manifest.

Plaintext layout (inside :mod:`libs.backup.cipher`)::

    part     = b"P" | u16 name length | name | block* | u32 0
    block    = u32 length (1 .. BLOCK) | bytes
    archive  = part* | b"E"

The last part is ``manifest.json``: every other part's size and sha256. Part names are never
used as paths: only the names in :data:`PARTS` are accepted, each at most once, so a crafted
archive cannot name a file outside the target (``../``), and the manifest may not exceed
:data:`MAX_MANIFEST` bytes nor list a part, size or digest other than what was read.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from libs.backup.errors import BackupError

DB: Final = "db.dump"
STREAMS: Final = "jetstream.jsonl"
KEYRING: Final = "keyring.json"
SECRETS: Final = "secrets.sealed"
MANIFEST: Final = "manifest.json"
PARTS: Final = (DB, STREAMS, KEYRING, SECRETS)
REQUIRED: Final = (DB, STREAMS, KEYRING)
BLOCK: Final = 1 << 20
MAX_MANIFEST: Final = 1 << 20
MAX_SMALL: Final = 1 << 20
"""Keyring metadata and the sealed secrets are read into memory: at most 1 MiB each."""
FORMAT: Final = 1


@dataclass
class PartWriter:
    """Writes parts into a plaintext sink (the sealed writer) and remembers their digests."""

    sink: Any
    parts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def part(self, name: str, blocks: Iterable[bytes]) -> int:
        """Write part ``name`` from ``blocks``; its size."""
        if name not in PARTS or name in self.parts:
            raise ValueError(name)
        raw = name.encode()
        self.sink.write(b"P" + struct.pack(">H", len(raw)) + raw)
        digest, size = hashlib.sha256(), 0
        for block in blocks:
            for i in range(0, len(block), BLOCK):
                piece = block[i : i + BLOCK]
                self.sink.write(struct.pack(">I", len(piece)) + piece)
                digest.update(piece)
                size += len(piece)
        self.sink.write(struct.pack(">I", 0))
        self.parts[name] = {"size": size, "sha256": digest.hexdigest()}
        return size

    def finish(self, meta: dict[str, Any]) -> None:
        """The manifest, then the end mark."""
        manifest = json.dumps({"format": FORMAT, **meta, "parts": self.parts}, sort_keys=True).encode()
        raw = MANIFEST.encode()
        self.sink.write(b"P" + struct.pack(">H", len(raw)) + raw + struct.pack(">I", len(manifest)) + manifest)
        self.sink.write(struct.pack(">I", 0) + b"E")


class _Plain:
    """A byte reader over the decrypted chunks."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = b""
        self._pos = 0

    def read(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            if self._pos == len(self._buf):
                nxt = next(self._chunks, None)
                if nxt is None:
                    raise BackupError("archive corrupt (ends inside a part)")
                self._buf, self._pos = nxt, 0
                continue
            take = self._buf[self._pos : self._pos + n - len(out)]
            self._pos += len(take)
            out += take
        return bytes(out)

    def at_end(self) -> bool:
        while self._pos == len(self._buf):
            nxt = next(self._chunks, None)
            if nxt is None:
                return True
            self._buf, self._pos = nxt, 0
        return False


def read_parts(chunks: Iterator[bytes]) -> Iterator[tuple[str, Iterator[bytes]]]:
    """``(name, blocks)`` for each part, the manifest included; the caller must consume each
    part's blocks before asking for the next part. Checks names and block sizes as it goes."""
    src = _Plain(chunks)
    seen: set[str] = set()
    while True:
        mark = src.read(1)
        if mark == b"E":
            if not src.at_end():
                raise BackupError("archive corrupt (data after the end mark)")
            if MANIFEST not in seen:
                raise BackupError("archive has no manifest")
            return
        if mark != b"P":
            raise BackupError("archive corrupt (bad part mark)")
        if MANIFEST in seen:
            raise BackupError("archive corrupt (a part after the manifest)")
        (length,) = struct.unpack(">H", src.read(2))
        name = src.read(length).decode("utf-8", errors="replace")
        if name not in (*PARTS, MANIFEST):
            raise BackupError(f"archive has an unknown part {name[:64]!r}; refused")
        if name in seen:
            raise BackupError(f"archive has part {name!r} twice; refused")
        seen.add(name)
        yield name, _blocks(src, MAX_MANIFEST if name == MANIFEST else BLOCK)


def _blocks(src: _Plain, limit: int) -> Iterator[bytes]:
    while True:
        (length,) = struct.unpack(">I", src.read(4))
        if length == 0:
            return
        if length > limit:
            raise BackupError("archive corrupt (a block larger than allowed)")
        yield src.read(length)


@dataclass
class Verified:
    """What a full read of the archive found: the manifest and the small parts' contents."""

    manifest: dict[str, Any]
    small: dict[str, bytes]


def verify(chunks: Iterator[bytes]) -> Verified:
    """Read the whole archive once, without acting on it: every part's size and sha256 must be
    what the manifest says, the manifest must list exactly the parts present and the required
    ones must be there."""
    seen: dict[str, dict[str, Any]] = {}
    small: dict[str, bytes] = {}
    manifest: dict[str, Any] = {}
    for name, blocks in read_parts(chunks):
        digest, size, keep = hashlib.sha256(), 0, bytearray()
        for block in blocks:
            digest.update(block)
            size += len(block)
            if name in (MANIFEST, KEYRING, SECRETS):
                if size > MAX_SMALL:
                    raise BackupError(f"archive part {name!r} is larger than allowed")
                keep += block
        if name == MANIFEST:
            manifest = _parse_manifest(bytes(keep))
        else:
            seen[name] = {"size": size, "sha256": digest.hexdigest()}
            if keep:
                small[name] = bytes(keep)
    listed = manifest["parts"]
    if set(listed) != set(seen):
        raise BackupError("the manifest does not list exactly the parts in the archive")
    for name, got in seen.items():
        want = listed[name]
        if not isinstance(want, dict) or want.get("size") != got["size"] or want.get("sha256") != got["sha256"]:
            raise BackupError(f"checksum mismatch for part {name!r}")
    missing = [p for p in REQUIRED if p not in seen]
    if missing:
        raise BackupError(f"archive lacks part(s) {', '.join(missing)}")
    return Verified(manifest=manifest, small=small)


def _parse_manifest(raw: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(raw)
    except ValueError:
        raise BackupError("the manifest is not valid JSON") from None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != FORMAT
        or not isinstance(manifest.get("parts"), dict)
    ):
        raise BackupError("the manifest has an unknown format")
    return manifest


def part_blocks(chunks: Iterator[bytes], wanted: str) -> Iterator[bytes]:
    """The blocks of part ``wanted`` (a second read, after :func:`verify`)."""
    for name, blocks in read_parts(chunks):
        if name == wanted:
            yield from blocks
            return
        for _ in blocks:
            pass
