"""Vault's SQL: routes (model → provider), project aliases, sealed keys and wrapped tenant data keys."""

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
    model: str = ""
    """The routed model name: an alias's target, else the name asked for."""
    price_input_micros: int | None = None
    price_output_micros: int | None = None
    price_cached_micros: int | None = None
    """The provider's default price (µ$ per million tokens), None when it has none."""


class Provider(msgspec.Struct, frozen=True, kw_only=True):
    """A provider's coordinates (for a test call)."""

    id: str
    name: str
    adapter: str
    base_url: str


class SealedKey(msgspec.Struct, frozen=True, kw_only=True):
    """The active sealed key of a provider."""

    id: str
    version: int
    sealed: bytes


_ROUTE_SQL = """
SELECT p.id AS provider_id, p.name AS provider, p.adapter, p.base_url, p.timeout_s::float8 AS timeout_s,
       m.upstream_model, p.price_input_micros, p.price_output_micros, p.price_cached_micros
FROM vault.models m JOIN vault.providers p ON p.id = m.provider_id
WHERE m.org_id = $1 AND m.name = $2
"""

_PREFIXED_SQL = """
SELECT id AS provider_id, name AS provider, adapter, base_url, timeout_s::float8 AS timeout_s,
       $3::text AS upstream_model, price_input_micros, price_output_micros, price_cached_micros
FROM vault.providers WHERE org_id = $1 AND name = $2
"""

CATCH_ALL = "*"
"""A provider listing ``*`` among its models serves every model name no other route claims."""

_CATCH_ALL_SQL = """
SELECT p.id AS provider_id, p.name AS provider, p.adapter, p.base_url, p.timeout_s::float8 AS timeout_s,
       $2::text AS upstream_model, p.price_input_micros, p.price_output_micros, p.price_cached_micros
FROM vault.models m JOIN vault.providers p ON p.id = m.provider_id
WHERE m.org_id = $1 AND m.name = '*'
"""

_ALIAS_SQL = "SELECT target FROM vault.aliases WHERE org_id = $1 AND project_id = $2 AND alias = $3"

# Aliases with the provider their target routes to now ('' if it no longer routes); the same
# precedence as route_in: an exact model first, then `provider/model`, then the catch-all.
_ALIASES_SQL = """
SELECT a.alias, a.target, extract(epoch FROM a.created_at)::bigint AS created,
       coalesce(
         (SELECT p.name FROM vault.models m JOIN vault.providers p ON p.id = m.provider_id
          WHERE m.org_id = a.org_id AND m.name = a.target),
         (SELECT p.name FROM vault.providers p
          WHERE p.org_id = a.org_id AND p.name = split_part(a.target, '/', 1)
            AND strpos(a.target, '/') > 0 AND char_length(a.target) > char_length(p.name) + 1),
         (SELECT p.name FROM vault.models m JOIN vault.providers p ON p.id = m.provider_id
          WHERE m.org_id = a.org_id AND m.name = '*'),
         '') AS provider
FROM vault.aliases a
WHERE a.org_id = $1 AND a.project_id = $2 AND ($3::text IS NULL OR a.alias = $3)
ORDER BY a.alias
"""

_KEY_SQL = """
SELECT id, version, sealed FROM vault.provider_keys
WHERE provider_id = $1 AND org_id = $2 AND status = 'active'
ORDER BY version DESC LIMIT 1
"""


async def route_in(conn: asyncpg.Connection, org_id: str, model: str) -> Route | None:
    """An exact model name first, then ``provider/model`` naming a provider of the tenant, then
    the tenant's catch-all provider (``*``, at most one: model names are unique per tenant)."""
    row = await conn.fetchrow(_ROUTE_SQL, org_id, model) if model != CATCH_ALL else None
    if row is None and "/" in model:
        provider, _, upstream = model.partition("/")
        if upstream:
            row = await conn.fetchrow(_PREFIXED_SQL, org_id, provider, upstream)
    if row is None and model != CATCH_ALL:
        row = await conn.fetchrow(_CATCH_ALL_SQL, org_id, model)
    return None if row is None else msgspec.convert(dict(row), Route)


async def find_route(
    pool: asyncpg.Pool, org_id: str, model: str, project_id: str = ""
) -> tuple[Route, SealedKey | None] | None:
    """The route of ``model`` — or, if it is an alias of the project, of its target (one level: a
    target is never looked up as an alias) — with the provider's newest active sealed key. One
    tenant-scoped transaction."""
    async with tenant_tx(pool, org_id) as conn:
        if project_id:
            target = await conn.fetchval(_ALIAS_SQL, org_id, project_id, model)
            model = model if target is None else target
        route = await route_in(conn, org_id, model)
        if route is None:
            return None
        route = msgspec.structs.replace(route, model=model)
        key = await conn.fetchrow(_KEY_SQL, route.provider_id, org_id)
        return route, None if key is None else msgspec.convert(dict(key), SealedKey)


async def provider_with_key(
    pool: asyncpg.Pool, org_id: str, provider_id: str
) -> tuple[Provider, SealedKey | None] | None:
    """One provider of the tenant and its newest active sealed key."""
    async with tenant_tx(pool, org_id) as conn:
        row = await conn.fetchrow("SELECT id, name, adapter, base_url FROM vault.providers WHERE id = $1", provider_id)
        if row is None:
            return None
        key = await conn.fetchrow(_KEY_SQL, provider_id, org_id)
    return msgspec.convert(dict(row), Provider), None if key is None else msgspec.convert(dict(key), SealedKey)


async def wrapped_dek(pool: asyncpg.Pool, org_id: str) -> tuple[str, bytes] | None:
    """A tenant's wrapped data key (kid, blob)."""
    async with tenant_tx(pool, org_id) as conn:
        row = await conn.fetchrow("SELECT kid, wrapped FROM vault.data_keys WHERE org_id = $1", org_id)
    return None if row is None else (row["kid"], bytes(row["wrapped"]))


async def aliases_in(
    conn: asyncpg.Connection, org_id: str, project_id: str, alias: str | None = None
) -> list[asyncpg.Record]:
    """A project's aliases (or one): alias, target, created (unix seconds), provider ('' if dangling)."""
    return list(await conn.fetch(_ALIASES_SQL, org_id, project_id, alias))


async def list_models(pool: asyncpg.Pool, org_id: str, project_id: str = "") -> list[tuple[str, str, int]]:
    """(model, provider name, created unix seconds) for every routed model of a tenant, plus the
    project's aliases whose target routes (an alias shadows a model of the same name, as in resolve)."""
    async with tenant_tx(pool, org_id) as conn:
        rows = await conn.fetch(
            "SELECT m.name, p.name AS provider, extract(epoch FROM m.created_at)::bigint AS created"
            " FROM vault.models m JOIN vault.providers p ON p.id = m.provider_id"
            " WHERE m.org_id = $1 AND m.name <> '*' ORDER BY m.name",
            org_id,
        )
        aliases = await aliases_in(conn, org_id, project_id) if project_id else []
    found = {r["name"]: (r["name"], r["provider"], r["created"]) for r in rows}
    found.update({a["alias"]: (a["alias"], a["provider"], a["created"]) for a in aliases if a["provider"]})
    return [found[name] for name in sorted(found)]
