"""The archive's outer layer: AES-256-GCM in chunks, so a dump of any size is sealed and opened
in constant memory.

Layout::

    header  = MAGIC (8) | kid length (1) | kid | file id (32 random bytes)
    chunk   = u32 big-endian (bit 31: final flag, bits 0-30: ciphertext length) | ciphertext

Every file gets its own key, HKDF-SHA256(backup key, salt = file id), so nonces can be the chunk
counter: nonce = chunk index (11 bytes, big-endian) | final flag (1 byte). The header is the
associated data of every chunk. Hence (the STREAM construction of Hoang et al.):

- a chunk moved, dropped or copied from another archive fails (index, file id);
- an archive cut after any chunk fails (the last chunk read did not carry the final flag);
- bytes after the final chunk fail;
- a flipped final flag fails (it is in the nonce).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from typing import BinaryIO, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from libs.backup.errors import BackupError
from libs.crypto.keyring import Keyring, UnknownKeyError

MAGIC: Final = b"BSTNBK01"
CHUNK: Final = 1 << 20
"""Plaintext bytes per chunk (1 MiB)."""
_TAG: Final = 16
_FINAL: Final = 1 << 31
_FILE_ID: Final = 32
_INFO: Final = b"bastion/v1/backup-archive"


def _file_key(material: bytes, file_id: bytes) -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=file_id, info=_INFO)
    return AESGCM(hkdf.derive(material))


def _nonce(index: int, final: bool) -> bytes:
    if index >= 1 << 88:
        raise BackupError("archive too large")
    return index.to_bytes(11, "big") + (b"\x01" if final else b"\x00")


class SealedWriter:
    """A write-only file object: what is written is sealed chunk by chunk into ``out``."""

    def __init__(self, out: BinaryIO, ring: Keyring) -> None:
        key = ring.primary
        self.file_id = os.urandom(_FILE_ID)
        kid = key.kid.encode()
        self._header = MAGIC + bytes([len(kid)]) + kid + self.file_id
        self._aead = _file_key(key.material, self.file_id)
        self._out = out
        self._buf = bytearray()
        self._index = 0
        self.kid = key.kid
        out.write(self._header)

    def write(self, data: bytes) -> int:
        self._buf += data
        while len(self._buf) > CHUNK:
            self._emit(bytes(self._buf[:CHUNK]), final=False)
            del self._buf[:CHUNK]
        return len(data)

    def close(self) -> None:
        """Seal what is left as the final chunk (possibly empty)."""
        self._emit(bytes(self._buf), final=True)
        self._buf.clear()

    def _emit(self, plain: bytes, *, final: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._index, final), plain, self._header)
        self._out.write(struct.pack(">I", len(sealed) | (_FINAL if final else 0)) + sealed)
        self._index += 1


def _read_exact(src: BinaryIO, n: int, what: str) -> bytes:
    data = src.read(n)
    if len(data) != n:
        raise BackupError(f"archive truncated ({what})")
    return data


def open_chunks(src: BinaryIO, ring: Keyring, *, expect_file_id: bytes | None = None) -> Iterator[bytes]:
    """The plaintext of ``src``, chunk by chunk, each authenticated before it is yielded; raises
    :class:`BackupError` on any tampering, truncation, trailing data or unknown key, and, with
    ``expect_file_id``, if ``src`` is not that archive (swapped between two reads)."""
    magic = src.read(len(MAGIC))
    if magic != MAGIC:
        raise BackupError("not a Bastion backup archive (bad magic)")
    kid_len = _read_exact(src, 1, "header")[0]
    kid_raw = _read_exact(src, kid_len, "header")
    file_id = _read_exact(src, _FILE_ID, "header")
    header = magic + bytes([kid_len]) + kid_raw + file_id
    if expect_file_id is not None and file_id != expect_file_id:
        raise BackupError("the archive changed while it was being restored")
    try:
        key = ring.get(kid_raw.decode("ascii"))
    except (UnknownKeyError, UnicodeDecodeError):
        raise BackupError("the archive was sealed under a backup key that is not in this keyring") from None
    aead = _file_key(key.material, file_id)
    index = 0
    while True:
        prefix = src.read(4)
        if not prefix:
            raise BackupError("archive truncated (no final chunk)")
        if len(prefix) != 4:
            raise BackupError("archive truncated (chunk header)")
        (word,) = struct.unpack(">I", prefix)
        final, length = bool(word & _FINAL), word & ~_FINAL
        if not _TAG <= length <= CHUNK + _TAG:
            raise BackupError(f"archive corrupt (chunk {index} has an impossible length)")
        sealed = _read_exact(src, length, f"chunk {index}")
        try:
            plain = aead.decrypt(_nonce(index, final), sealed, header)
        except InvalidTag:
            raise BackupError(f"archive corrupt or wrong key (chunk {index} fails authentication)") from None
        yield plain
        index += 1
        if final:
            if src.read(1):
                raise BackupError("archive corrupt (data after the final chunk)")
            return


def file_id(src: BinaryIO) -> bytes:
    """The archive's file id (authenticated later, as part of every chunk's associated data)."""
    if src.read(len(MAGIC)) != MAGIC:
        raise BackupError("not a Bastion backup archive (bad magic)")
    kid_len = _read_exact(src, 1, "header")[0]
    _read_exact(src, kid_len, "header")
    return _read_exact(src, _FILE_ID, "header")
