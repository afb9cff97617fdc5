"""Adversarial review of the audit trail (issue 10, items 1 and 8): the hash chain must verify
from what the database stores, or tampering and honest rows look the same."""

from __future__ import annotations

import asyncio
import json
import time

import asyncpg
import httpx
import pytest

from libs.contracts.messages import AuditEvent
from services.audit import chain
from tests.stack import Stack

pytestmark = pytest.mark.e2e


async def _rows(dsn: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(
            "SELECT prev_hash, hash, event_id, (extract(epoch FROM ts) * 1000)::bigint AS ts_ms, org_id, actor_type,"
            " actor_id, action, resource, success, request_id, ip, user_agent, status, detail::text AS detail"
            " FROM audit.events ORDER BY seq"))  # fmt: skip
    finally:
        await conn.close()


def _event(row: asyncpg.Record) -> AuditEvent:
    return AuditEvent(
        event_id=row["event_id"], ts=row["ts_ms"], org_id=row["org_id"], actor_type=row["actor_type"],
        actor_id=row["actor_id"], action=row["action"], resource=row["resource"], success=row["success"],
        request_id=row["request_id"], ip=row["ip"], user_agent=row["user_agent"], status=row["status"],
        detail=json.loads(row["detail"]),
    )  # fmt: skip


def test_the_audit_chain_verifies_from_the_stored_rows(stack: Stack) -> None:
    """Was a hole: the chain hashed ``detail`` in insertion order, but jsonb stores its keys
    re-ordered (by length, then bytes), so an event with a multi-key detail (the auth.failed
    aggregates) could not be verified from the database: honest rows looked tampered."""
    # a refused key: an aggregated auth.failed event, its detail has six keys
    refused = httpx.get(f"{stack.base_url}/models", headers={"authorization": "Bearer sk-proj_nope"}, timeout=10)
    assert refused.status_code == 401
    deadline = time.monotonic() + 20
    rows: list[asyncpg.Record] = []
    while time.monotonic() < deadline:
        rows = asyncio.run(_rows(stack.superuser_dsn))
        if any(r["action"] == "auth.failed" for r in rows):
            break
        time.sleep(0.3)
    assert rows
    decoded = [(bytes(r["prev_hash"]), bytes(r["hash"]), _event(r)) for r in rows]
    bad = chain.verify(decoded)
    assert bad is None, (bad, rows[bad]["action"], rows[bad]["detail"])
