"""The stored audit record and the bytes its chain hashes.

A record holds exactly the specified fields — ``id``, ``timestamp``, ``userId``,
``organizationId``, ``action``, ``resourceType``, ``resourceId``, ``metadata`` (a JSON object),
``ipAddress``, ``userAgent``, ``success`` — plus the actor type, the gateway's request id and the
chain fields (``chain_seq``: the record's place in its organisation's chain, ``prev_hash``,
``hash``). The table's ``seq`` (the global insertion order across organisations) is not part of
the record: a tenant pages by ``chain_seq``, which says nothing about other organisations.

``canonical`` is computed from the stored columns alone, so anyone who can read a chain's rows —
a tenant under row-level security included — can recompute every hash. It is the compact JSON
array of the chained fields in a fixed order, metadata with sorted keys, the timestamp as integer
microseconds; migration 0015 computes the same bytes in SQL for the rows it rechained.

The personal fields (``user_id`` of a person, ``ip_address``, ``user_agent``) are hashed as
stored: sealing them per person later (crypto-shredding) means storing them sealed at write time,
so destroying the person's key leaves the stored bytes — and every chain — intact.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

GENESIS = b"\x00" * 32
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_encode = msgspec.json.Encoder(order="sorted").encode


class AuditRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One row of ``audit.events``."""

    id: str
    timestamp: datetime
    user_id: str
    organization_id: str
    action: str
    resource_type: str
    resource_id: str
    metadata: dict[str, Any]
    ip_address: str
    user_agent: str
    success: bool
    actor_type: str
    request_id: str
    chain_seq: int
    prev_hash: bytes
    hash: bytes


COLUMNS = ("event_id", "ts", "user_id", "org_id", "action", "resource_type", "resource_id", "metadata",
           "ip_address", "user_agent", "success", "actor_type", "request_id", "chain_seq", "prev_hash", "hash")  # fmt: skip
"""The columns of ``audit.events`` in :class:`AuditRecord`'s order."""


def from_row(row: Any) -> AuditRecord:
    """The record of a database row selected with :data:`COLUMNS`."""
    return AuditRecord(id=row["event_id"], timestamp=row["ts"], user_id=row["user_id"], organization_id=row["org_id"],
                       action=row["action"], resource_type=row["resource_type"], resource_id=row["resource_id"],
                       metadata=row["metadata"], ip_address=row["ip_address"], user_agent=row["user_agent"],
                       success=row["success"], actor_type=row["actor_type"], request_id=row["request_id"],
                       chain_seq=row["chain_seq"], prev_hash=bytes(row["prev_hash"]), hash=bytes(row["hash"]))  # fmt: skip


def micros(ts: datetime) -> int:
    """Exact integer microseconds since the epoch (no float on the way)."""
    return (ts - EPOCH) // _US


def at_millis(ms: int) -> datetime:
    """The timestamp of unix milliseconds, exactly."""
    return EPOCH + timedelta(milliseconds=ms)


def canonical(r: AuditRecord) -> bytes:
    """The bytes a record contributes to its chain (every stored field but the hashes)."""
    return _encode([r.chain_seq, r.organization_id, r.id, micros(r.timestamp), r.actor_type, r.user_id, r.action,
                    r.resource_type, r.resource_id, r.success, r.request_id, r.ip_address, r.user_agent,
                    r.metadata])  # fmt: skip


def link(prev_hash: bytes, record: AuditRecord) -> bytes:
    """``SHA-256(prev_hash || canonical(record))``."""
    return hashlib.sha256(prev_hash + canonical(record)).digest()


def link_values(prev_hash: bytes, values: list[Any]) -> bytes:
    """:func:`link` of a record given as the list :func:`canonical` encodes (the writer's fast
    path: no record object made twice; ``tests/unit/libs/test_audit_chain.py`` keeps them equal)."""
    return hashlib.sha256(prev_hash + _encode(values)).digest()
