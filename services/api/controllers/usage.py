"""Usage and cost of the caller's organisation: records, summaries and exports."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.params import Parameter

from libs.db.pool import tenant_tx
from services.api.auditing import audited
from services.api.deps import Admin, Db
from services.api.problems import Problem

Limit = Annotated[int, Parameter(ge=1, le=1000)]
_GROUPS = {"key": "key_id", "project": "project_id", "model": "model", "day": "day", "org": "org_id"}
_FIELDS = ("group_key", "requests", "prompt_tokens", "completion_tokens", "cached_tokens", "cost_micros", "cost_usd")


def _usd(micros: int) -> str:
    """Micro-dollars as an exact decimal string."""
    sign = "-" if micros < 0 else ""
    whole, frac = divmod(abs(micros), 1_000_000)
    return f"{sign}{whole}.{frac:06d}"


async def _summary(db: Db, org_id: str, group_by: str, since: date | None, until: date | None) -> list[dict[str, Any]]:
    columns = [_GROUPS[g] for g in group_by.split(",") if g]
    key = " || '/' || ".join(f"{c}::text" for c in columns)
    async with tenant_tx(db, org_id) as conn:
        rows = await conn.fetch(
            f"SELECT {key} AS group_key, sum(requests)::bigint AS requests,"  # noqa: S608 - columns from _GROUPS only
            " sum(prompt_tokens)::bigint AS prompt_tokens, sum(completion_tokens)::bigint AS completion_tokens,"
            " sum(cached_tokens)::bigint AS cached_tokens, sum(cost_micros)::bigint AS cost_micros"
            " FROM metering.daily WHERE ($1::date IS NULL OR day >= $1) AND ($2::date IS NULL OR day <= $2)"
            f" GROUP BY {', '.join(columns)} ORDER BY 1",
            since, until,
        )  # fmt: skip
    return [{**dict(r), "cost_usd": _usd(r["cost_micros"])} for r in rows]


def _check_group(group_by: str) -> None:
    bad = [g for g in group_by.split(",") if g not in _GROUPS]
    if bad or not group_by:
        raise Problem(400, f"group_by takes a comma-separated list of {', '.join(_GROUPS)}.")


class UsageController(Controller):
    """``/v1/usage``."""

    path = "/v1/usage"
    tags = ["usage"]

    @get("/", operation_id="listUsage")
    async def list_usage(
        self, admin: Admin, db: Db, limit: Limit = 100, cursor: str | None = None, key_id: str | None = None,
        request_id: str | None = None, since: datetime | None = None, until: datetime | None = None,
        correlation_id: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """Usage records (one per request) with their cost, newest first by id; ``request_id`` is
        the gateway's (``x-request-id`` of the answer), ``correlation_id`` the client's own."""
        async with tenant_tx(db, admin.org_id) as conn:
            rows = await conn.fetch(
                "SELECT request_id, ts, project_id, key_id, model, provider, status, prompt_tokens,"
                " completion_tokens, cached_tokens, estimated, latency_ms, stream, cost_micros, priced, correlation_id"
                " FROM metering.usage_events"
                " WHERE ($1::text IS NULL OR request_id < $1) AND ($2::text IS NULL OR key_id = $2)"
                " AND ($3::text IS NULL OR request_id = $3) AND ($4::timestamptz IS NULL OR ts >= $4)"
                " AND ($5::timestamptz IS NULL OR ts < $5) AND ($7::text IS NULL OR correlation_id = $7)"
                " ORDER BY request_id DESC LIMIT $6",
                cursor, key_id, request_id, since, until, limit + 1, correlation_id,
            )  # fmt: skip
        items = [{**dict(r), "cost_usd": _usd(r["cost_micros"])} for r in rows[:limit]]
        return {"data": items, "next_cursor": items[-1]["request_id"] if len(rows) > limit else None}

    @get("/summary", operation_id="summarizeUsage")
    async def summary(
        self, admin: Admin, db: Db, group_by: str = "model", since: date | None = None, until: date | None = None
    ) -> dict[str, Any]:
        """Requests, tokens and cost grouped by key, project, model, day or org (combinable: ``key,day``)."""
        _check_group(group_by)
        return {"group_by": group_by, "data": await _summary(db, admin.org_id, group_by, since, until)}

    @get("/export", operation_id="exportUsage")
    async def export(
        self, request: Request[Any, Any, Any], admin: Admin, db: Db, group_by: str = "day,key,model",
        format: str = "csv", since: date | None = None, until: date | None = None,
    ) -> Response[Any]:  # fmt: skip
        """The summary as CSV or JSON (for finance and chargeback); every export is audited
        (``usage.exported``)."""
        shown = {"format": format, "group_by": group_by, "since": str(since or ""), "until": str(until or "")}
        async with audited(request, admin, "usage.exported", "usage:export") as detail:
            detail.update(shown)
            _check_group(group_by)
            if format not in ("csv", "json"):
                raise Problem(400, "format must be csv or json.")
            rows = await _summary(db, admin.org_id, group_by, since, until)
        if format == "json":
            return Response({"group_by": group_by, "data": rows})
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(_FIELDS))
        writer.writeheader()
        writer.writerows({k: row[k] for k in _FIELDS} for row in rows)
        return Response(out.getvalue(), media_type="text/csv",
                        headers={"content-disposition": 'attachment; filename="bastion-usage.csv"'})  # fmt: skip
