"""The caller's organisation's audit trail: filtered lists, streamed exports (each audited),
chain verification and the public key that signs its checkpoints."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get
from litestar.params import Parameter
from litestar.response import Stream

from libs.audit import stored
from libs.audit.chain import Report
from libs.audit.record import AuditRecord
from libs.audit.signing import TrustedKeys
from services.api import audit_store
from services.api.audit_store import Filters
from services.api.auditing import record
from services.api.deps import Admin, Db
from services.api.pagination import Seq
from services.api.problems import Problem
from services.api.settings import get_settings

Limit = Annotated[int, Parameter(ge=1, le=1000)]
Text = Annotated[str | None, Parameter(max_length=256)]
_FIELDS = [f for f in AuditRecord.__struct_fields__ if f not in ("prev_hash", "hash")] + ["prev_hash", "hash"]


def shown(r: AuditRecord) -> dict[str, Any]:
    """A record as the API shows it (hashes in hex, the timestamp in ISO 8601)."""
    out: dict[str, Any] = msgspec.to_builtins(r)
    out["prev_hash"], out["hash"] = r.prev_hash.hex(), r.hash.hex()
    return out


def _trusted() -> TrustedKeys:
    keys = TrustedKeys.parse(get_settings().audit_public_keys)
    if not keys.keys:
        raise Problem(503, "No audit public key is configured; the chain cannot be verified.", kind="unavailable")
    return keys


class AuditController(Controller):
    """``/v1/audit``."""

    path = "/v1/audit"
    tags = ["audit"]

    @get("/", operation_id="listAuditEvents")
    async def list_events(
        self, admin: Admin, db: Db, limit: Limit = 100, cursor: Seq = None, since: datetime | None = None,
        until: datetime | None = None, actor_type: Text = None, user_id: Text = None, action: Text = None,
        resource_type: Text = None, resource_id: Text = None, success: bool | None = None, request_id: Text = None,
        correlation_id: Text = None,
    ) -> dict[str, Any]:  # fmt: skip
        """Audit records, newest first; ``next_cursor`` pages on. ``action`` is exact or a family
        (``api_key.*``); ``request_id`` is the gateway's, ``correlation_id`` the client's own
        (``metadata.correlation_id``); ``since`` inclusive, ``until`` exclusive."""
        filters = Filters(since, until, actor_type, user_id, action, resource_type, resource_id, success, request_id,
                          correlation_id)  # fmt: skip
        rows = await audit_store.page(db, admin.org_id, filters, limit=limit + 1, cursor=cursor)
        items = [shown(r) for r in rows[:limit]]
        return {"data": items, "next_cursor": rows[limit - 1].chain_seq if len(rows) > limit else None}

    @get("/export", operation_id="exportAuditEvents")
    async def export(
        self, request: Request[Any, Any, Any], admin: Admin, db: Db, format: str = "jsonl",
        since: datetime | None = None, until: datetime | None = None, actor_type: Text = None, user_id: Text = None,
        action: Text = None, resource_type: Text = None, resource_id: Text = None, success: bool | None = None,
    ) -> Stream:  # fmt: skip
        """Every matching record, oldest first, streamed as JSON lines or CSV. The export is itself
        recorded (``audit.exported``, with its filters)."""
        if format not in ("jsonl", "csv"):
            record(request, admin, "audit.exported", "audit:export", success=False, status=400)
            raise Problem(400, "format must be jsonl or csv.")
        filters = Filters(since, until, actor_type, user_id, action, resource_type, resource_id, success)
        record(request, admin, "audit.exported", "audit:export", success=True, status=200,
               detail={"format": format, "filters": filters.shown()})  # fmt: skip
        rows = audit_store.each(db, admin.org_id, filters)
        if format == "jsonl":
            return Stream(_jsonl(rows), media_type="application/x-ndjson",
                          headers={"content-disposition": 'attachment; filename="bastion-audit.jsonl"'})  # fmt: skip
        return Stream(_csv(rows), media_type="text/csv",
                      headers={"content-disposition": 'attachment; filename="bastion-audit.csv"'})  # fmt: skip

    @get("/verify", operation_id="verifyAuditChain")
    async def verify(self, admin: Admin, db: Db, progress: bool = False) -> Stream:
        """Verify this organisation's chain from its stored rows and signed checkpoints: ``ok``,
        the first bad ``chain_seq`` and why, how far the checkpoints reach, the public keys. With
        ``progress=true``, JSON lines: ``{"checked": n}`` per 5000 rows, then the report."""
        trusted = _trusted()

        async def lines() -> AsyncIterator[bytes]:
            async for step in stored.verify(db, admin.org_id, trusted):
                if isinstance(step, Report):
                    yield msgspec.json.encode(_report(step, trusted)) + (b"\n" if progress else b"")
                elif progress:
                    yield msgspec.json.encode({"checked": step}) + b"\n"

        return Stream(lines(), media_type="application/x-ndjson" if progress else "application/json")

    @get("/public-key", operation_id="getAuditPublicKey")
    async def public_key(self, admin: Admin) -> dict[str, Any]:
        """The Ed25519 public keys that sign audit checkpoints (base64url, raw 32 bytes)."""
        return {"keys": _trusted().published()}


def _report(report: Report, trusted: TrustedKeys) -> dict[str, Any]:
    out: dict[str, Any] = msgspec.to_builtins(report)
    out["public_keys"] = trusted.published()
    return out


async def _jsonl(rows: AsyncIterator[AuditRecord]) -> AsyncIterator[bytes]:
    buffer = bytearray()
    async for r in rows:
        buffer += msgspec.json.encode(shown(r)) + b"\n"
        if len(buffer) > 64 * 1024:
            yield bytes(buffer)
            buffer.clear()
    yield bytes(buffer)


async def _csv(rows: AsyncIterator[AuditRecord]) -> AsyncIterator[bytes]:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_FIELDS)
    writer.writeheader()
    async for r in rows:
        row = shown(r)
        row["metadata"] = msgspec.json.encode(r.metadata).decode()
        writer.writerow({k: _cell(row[k]) for k in _FIELDS})
        if out.tell() > 64 * 1024:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode()


def _cell(value: object) -> object:
    """A CSV cell that a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
