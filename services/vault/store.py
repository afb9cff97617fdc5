"""Vault's SQL: routes (model → provider), sealed keys and wrapped tenant data keys."""

from __future__ import annotations

import asyncpg
import msgspec

from libs.db.pool import tenant_tx


class Route(msgspec.Struct, frozen=True, kw_only=True):
    """Where a model name goes for one tenant."""

    provider_id: str
    provider: str
    adapter: str
    base_url: str
    timeout_s: float
    upstream_model: str


class SealedKey(msgspec.Struct, frozen=True, kw_only=True):
    """The active sealed key of a provider."""

    id: str
    version: int
    sealed: bytes


_ROUTE_SQL = """
SELECT p.id AS provider_id, p.name AS provider, p.adapter, p.base_url, p.timeout_s::float8 AS timeout_s,
       m.upstream_model
FROM vault.models m JOIN vault.providers p ON p.id = m.provider_id
WHERE m.org_id = $1 AND m.name = $2
"""

_PREFIXED_SQL = """
SELECT id AS provider_id, name AS provider, adapter, base_url, timeout_s::float8 AS timeout_s,
       $3::text AS upstream_model
FROM vault.providers WHERE org_id = $1 AND name = $2
"""

_KEY_SQL = """
SELECT id, version, sealed FROM vault.provider_keys
WHERE provider_id = $1 AND org_id = $2 AND status = 'active'
ORDER BY version DESC LIMIT 1
"""


async def find_route(pool: asyncpg.Pool, org_id: str, model: str) -> tuple[Route, SealedKey | None] | None:
    """An exact model name first, then ``provider/model`` naming a provider of the tenant; with the
    provider's newest active sealed key. One tenant-scoped transaction."""
    async with tenant_tx(pool, org_id) as conn:
        row = await conn.fetchrow(_ROUTE_SQL, org_id, model)
        if row is None and "/" in model:
            provider, _, upstream = model.partition("/")
            if upstream:
                row = await conn.fetchrow(_PREFIXED_SQL, org_id, provider, upstream)
        if row is None:
            return None
        route = msgspec.convert(dict(row), Route)
        key = await conn.fetchrow(_KEY_SQL, route.provider_id, org_id)
        return route, None if key is None else msgspec.convert(dict(key), SealedKey)


async def wrapped_dek(pool: asyncpg.Pool, org_id: str) -> tuple[str, bytes] | None:
    """A tenant's wrapped data key (kid, blob)."""
    async with tenant_tx(pool, org_id) as conn:
        row = await conn.fetchrow("SELECT kid, wrapped FROM vault.data_keys WHERE org_id = $1", org_id)
    return None if row is None else (row["kid"], bytes(row["wrapped"]))


async def list_models(pool: asyncpg.Pool, org_id: str) -> list[tuple[str, str, int]]:
    """(model, provider name, created unix seconds) for every routed model of a tenant."""
    async with tenant_tx(pool, org_id) as conn:
        rows = await conn.fetch(
            "SELECT m.name, p.name AS provider, extract(epoch FROM m.created_at)::bigint AS created"
            " FROM vault.models m JOIN vault.providers p ON p.id = m.provider_id"
            " WHERE m.org_id = $1 ORDER BY m.name",
            org_id,
        )
    return [(r["name"], r["provider"], r["created"]) for r in rows]
