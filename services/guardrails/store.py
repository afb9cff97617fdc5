"""Guardrails' SQL: a tenant's rules, and the violation record."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from libs.db.pool import tenant_tx


class RuleRow(msgspec.Struct, frozen=True, kw_only=True):
    """A stored rule."""

    id: str
    project_id: str | None
    kind: str
    action: str
    monitor: bool
    direction: str
    config: dict[str, Any]


class Violation(msgspec.Struct, frozen=True, kw_only=True):
    """One recorded violation (a hash of the text, never the text)."""

    org_id: str
    project_id: str
    key_id: str
    request_id: str
    rule_id: str
    type: str
    action: str
    monitor: bool
    direction: str
    content_hash: str


async def load_rules(pool: asyncpg.Pool, org_id: str, project_id: str) -> list[RuleRow]:
    """Enabled org-wide rules plus the project's own."""
    async with tenant_tx(pool, org_id) as conn:
        rows = await conn.fetch(
            "SELECT id, project_id, kind, action, monitor, direction, config FROM guard.rules"
            " WHERE enabled AND (project_id IS NULL OR project_id = $1) ORDER BY project_id NULLS FIRST, id",
            project_id,
        )
    return [msgspec.convert(dict(r), RuleRow) for r in rows]


async def record(pool: asyncpg.Pool, violations: list[Violation]) -> None:
    """Insert violations of one request (one tenant)."""
    if not violations:
        return
    async with tenant_tx(pool, violations[0].org_id) as conn:
        await conn.executemany(
            "INSERT INTO guard.violations (org_id, project_id, key_id, request_id, rule_id, type, action, monitor,"
            " direction, content_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            [(v.org_id, v.project_id, v.key_id, v.request_id, v.rule_id, v.type, v.action, v.monitor, v.direction,
              v.content_hash) for v in violations],
        )  # fmt: skip
