"""The caller's organisation's audit trail."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get
from litestar.params import Parameter

from libs.db.pool import tenant_tx
from services.api.deps import Admin, Db
from services.api.pagination import Seq

Limit = Annotated[int, Parameter(ge=1, le=1000)]


class AuditController(Controller):
    """``/v1/audit``."""

    path = "/v1/audit"
    tags = ["audit"]

    @get("/", operation_id="listAuditEvents")
    async def list_events(
        self,
        admin: Admin,
        db: Db,
        limit: Limit = 100,
        cursor: Seq = None,
        request_id: str | None = None,
        action: str | None = None,
        correlation_id: str | None = None,
    ) -> dict[str, Any]:
        """Audit events, newest first; ``next_cursor`` pages on. ``request_id`` is the gateway's,
        ``correlation_id`` the client's own (``detail.correlation_id``)."""
        async with tenant_tx(db, admin.org_id) as conn:
            rows = await conn.fetch(
            "SELECT seq, event_id, ts, actor_type, actor_id, action, resource, success, request_id, ip,"
            " user_agent, status, detail, encode(hash, 'hex') AS hash FROM audit.events"
            " WHERE org_id = $1 AND ($2::bigint IS NULL OR seq < $2) AND ($3::text IS NULL OR request_id = $3)"
            " AND ($4::text IS NULL OR action = $4)"
            " AND ($6::text IS NULL OR detail ->> 'correlation_id' = $6) ORDER BY seq DESC LIMIT $5",
            admin.org_id, cursor, request_id, action, limit + 1, correlation_id,
        )  # fmt: skip
        items = [dict(r) for r in rows[:limit]]
        return {"data": items, "next_cursor": items[-1]["seq"] if len(rows) > limit else None}
