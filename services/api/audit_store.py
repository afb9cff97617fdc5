"""The management API's audit SQL: filtered, keyset-paged reads of the caller's organisation's
records (newest first for lists, oldest first for exports) and the rows of its chain for verify.

Every query runs in the tenant's transaction, so row-level security decides what is visible;
the explicit ``org_id`` filter only lets the planner use the indexes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from libs.audit.record import COLUMNS, AuditRecord, from_row
from libs.db.pool import tenant_tx

_SELECT = f"SELECT {', '.join(COLUMNS)} FROM audit.events"  # noqa: S608 - fixed column names


@dataclass(frozen=True)
class Filters:
    """What a list or an export selects (every field optional)."""

    since: datetime | None = None
    until: datetime | None = None
    actor_type: str | None = None
    user_id: str | None = None
    action: str | None = None
    """An exact action, or a family with ``.*`` (``api_key.*``)."""
    resource_type: str | None = None
    resource_id: str | None = None
    success: bool | None = None
    request_id: str | None = None
    correlation_id: str | None = None

    def where(self, org_id: str) -> tuple[list[str], list[Any]]:
        """SQL conditions and their parameters ($1 is the organisation)."""
        clauses: list[str] = ["org_id = $1"]
        params: list[Any] = [org_id]

        def add(sql: str, value: object) -> None:
            params.append(value)
            clauses.append(sql.replace("?", f"${len(params)}"))

        if self.since is not None:
            add("ts >= ?", self.since)
        if self.until is not None:
            add("ts < ?", self.until)
        for column, value in (("actor_type", self.actor_type), ("user_id", self.user_id),
                              ("resource_type", self.resource_type), ("resource_id", self.resource_id),
                              ("request_id", self.request_id)):  # fmt: skip
            if value is not None:
                add(f"{column} = ?", value)
        if self.action is not None:
            if self.action.endswith(".*"):
                add("starts_with(action, ?)", self.action[:-1])
            else:
                add("action = ?", self.action)
        if self.success is not None:
            add("success = ?", self.success)
        if self.correlation_id is not None:
            add("metadata ->> 'correlation_id' = ?", self.correlation_id)
        return clauses, params

    def shown(self) -> dict[str, Any]:
        """The filters set, for the export's own audit record."""
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in vars(self).items() if v is not None}


async def page(pool: asyncpg.Pool, org_id: str, filters: Filters, *, limit: int, cursor: int | None,
               newest_first: bool = True) -> list[AuditRecord]:  # fmt: skip
    """Up to ``limit`` records after ``cursor`` (a ``chain_seq``: the organisation's own order,
    not the table's global ``seq``, which would show how much every other organisation records)."""
    clauses, params = filters.where(org_id)
    if cursor is not None:
        params.append(cursor)
        clauses.append(f"chain_seq {'<' if newest_first else '>'} ${len(params)}")
    params.append(limit)
    order = "DESC" if newest_first else "ASC"
    sql = f"{_SELECT} WHERE {' AND '.join(clauses)} ORDER BY chain_seq {order} LIMIT ${len(params)}"
    async with tenant_tx(pool, org_id) as conn:
        return [from_row(r) for r in await conn.fetch(sql, *params)]


async def each(pool: asyncpg.Pool, org_id: str, filters: Filters, batch: int = 1000) -> AsyncIterator[AuditRecord]:
    """Every matching record, oldest first, a page at a time (an export never sits in memory)."""
    cursor: int | None = None
    while True:
        rows = await page(pool, org_id, filters, limit=batch, cursor=cursor, newest_first=False)
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        cursor = rows[-1].chain_seq
