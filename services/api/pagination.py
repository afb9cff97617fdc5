"""Keyset pagination by id: ``limit`` plus an opaque ``cursor`` (the last id seen)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar.params import Parameter

Limit = Annotated[int, Parameter(ge=1, le=500)]
Seq = Annotated[int | None, Parameter(ge=0, le=2**63 - 1)]
"""A numeric cursor (a bigint sequence number)."""


def page(rows: list[Any], limit: int, key: str = "id") -> dict[str, Any]:
    """``{"data": [...], "next_cursor": id | None}`` from ``limit + 1`` fetched rows."""
    items = [dict(r) for r in rows[:limit]]
    return {"data": items, "next_cursor": items[-1][key] if len(rows) > limit and items else None}
