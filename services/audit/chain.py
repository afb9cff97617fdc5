"""The audit hash chain: ``hash = SHA-256(prev_hash || canonical(event))``.

``canonical`` is the msgspec JSON encoding of the event Struct (fixed field order, defaults
omitted) with ``detail``'s keys sorted — the jsonb column does not keep their order — so the same
event always hashes the same, also when read back from the database. Editing or deleting any
row breaks every later link, which :func:`verify` reports.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import msgspec

from libs.contracts.codec import encode
from libs.contracts.messages import AuditEvent

GENESIS = b"\x00" * 32


def link(prev_hash: bytes, event: AuditEvent) -> bytes:
    """The hash of ``event`` chained after ``prev_hash``."""
    canonical = msgspec.structs.replace(event, detail=dict(sorted(event.detail.items())))
    return hashlib.sha256(prev_hash + encode(canonical)).digest()


def verify(rows: Iterable[tuple[bytes, bytes, AuditEvent]]) -> int | None:
    """Check ``(prev_hash, hash, event)`` rows in order; the index of the first bad row, or None."""
    expected_prev = GENESIS
    for index, (prev_hash, digest, event) in enumerate(rows):
        if prev_hash != expected_prev or link(prev_hash, event) != digest:
            return index
        expected_prev = digest
    return None
