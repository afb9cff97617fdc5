"""Usage records and summaries of the caller's organisation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, get
from litestar.params import Parameter

from libs.db.pool import tenant_tx
from services.api.deps import Admin, Db
from services.api.problems import Problem

Limit = Annotated[int, Parameter(ge=1, le=1000)]
_GROUPS = {"key": "key_id", "project": "project_id", "model": "model", "day": "date_trunc('day', ts)"}


class UsageController(Controller):
    """``/v1/usage``."""

    path = "/v1/usage"
    tags = ["usage"]

    @get("/", operation_id="listUsage")
    async def list_usage(
        self,
        admin: Admin,
        db: Db,
        limit: Limit = 100,
        cursor: str | None = None,
        key_id: str | None = None,
        request_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> dict[str, Any]:
        """Usage events, newest first; ``next_cursor`` pages on."""
        async with tenant_tx(db, admin.org_id) as conn:
            rows = await conn.fetch(
            "SELECT request_id, ts, project_id, key_id, model, provider, status, prompt_tokens,"
            " completion_tokens, cached_tokens, estimated, latency_ms, stream FROM metering.usage_events"
            " WHERE org_id = $1 AND ($2::text IS NULL OR request_id < $2) AND ($3::text IS NULL OR key_id = $3)"
            " AND ($4::text IS NULL OR request_id = $4) AND ($5::timestamptz IS NULL OR ts >= $5)"
            " AND ($6::timestamptz IS NULL OR ts < $6) ORDER BY request_id DESC LIMIT $7",
            admin.org_id, cursor, key_id, request_id, since, until, limit + 1,
        )  # fmt: skip
        items = [dict(r) for r in rows[:limit]]
        return {"data": items, "next_cursor": items[-1]["request_id"] if len(rows) > limit else None}

    @get("/summary", operation_id="summarizeUsage")
    async def summary(
        self,
        admin: Admin,
        db: Db,
        group_by: str = "model",
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> dict[str, Any]:
        """Requests and tokens grouped by key, project, model or day."""
        column = _GROUPS.get(group_by)
        if column is None:
            raise Problem(400, f"group_by must be one of {', '.join(_GROUPS)}.")
        async with tenant_tx(db, admin.org_id) as conn:
            rows = await conn.fetch(
            f"SELECT {column} AS group_key, count(*) AS requests, sum(prompt_tokens) AS prompt_tokens,"  # noqa: S608
            " sum(completion_tokens) AS completion_tokens, sum(cached_tokens) AS cached_tokens"
            " FROM metering.usage_events WHERE org_id = $1 AND ($2::timestamptz IS NULL OR ts >= $2)"
            " AND ($3::timestamptz IS NULL OR ts < $3) GROUP BY 1 ORDER BY 1",
            admin.org_id, since, until,
        )  # fmt: skip
        return {"group_by": group_by, "data": [{**dict(r), "group_key": str(r["group_key"])} for r in rows]}
