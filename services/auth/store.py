"""Auth's SQL.

Verification looks credentials up by the HMAC digest of the presented secret through
SECURITY DEFINER functions (auth cannot list other tenants' keys). Management writes run in a
tenant-scoped transaction, so row-level security confines them to the caller's organisation.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec

from libs.db.pool import tenant_tx


class KeyRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An API key row as auth needs it (the hash is verified, never returned)."""

    id: str
    org_id: str
    project_id: str
    hash: str
    status: str
    plan: str
    expires_at: datetime | None
    usage_limit_usd: float | None
    rate_limit_rpm: int | None
    allowed_models: list[str]
    allowed_ips: list[str]
    grace: bool = False


class TokenRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A management token row."""

    id: str
    org_id: str
    role: str
    hash: str
    status: str
    expires_at: datetime | None


class NewCredential(msgspec.Struct, frozen=True, kw_only=True):
    """What is stored for a new secret: never the secret itself."""

    lookup: str
    hash: str
    masked: str


async def find_key(pool: asyncpg.Pool, lookup: str) -> KeyRecord | None:
    """The key (or a key in its rotation grace period) whose digest is ``lookup``."""
    row = await pool.fetchrow("SELECT * FROM auth.find_key($1)", lookup)
    return None if row is None else msgspec.convert(dict(row), KeyRecord)


async def find_token(pool: asyncpg.Pool, lookup: str) -> TokenRecord | None:
    """The management token whose digest is ``lookup``."""
    row = await pool.fetchrow("SELECT * FROM auth.find_token($1)", lookup)
    return None if row is None else msgspec.convert(dict(row), TokenRecord)


async def changed_since(pool: asyncpg.Pool, since: datetime) -> list[tuple[str, datetime]]:
    """Credentials changed after ``since`` (the cache's safety net)."""
    rows = await pool.fetch("SELECT id, updated_at FROM auth.changed_keys($1)", since)
    return [(r["id"], r["updated_at"]) for r in rows]


async def insert_key(
    pool: asyncpg.Pool, org_id: str, key_id: str, project_id: str, name: str, cred: NewCredential,
    limits: dict[str, object], expires_at: datetime | None,
) -> bool:  # fmt: skip
    """Insert a key; False if the project is not the tenant's."""
    async with tenant_tx(pool, org_id) as conn:
        if not await conn.fetchval("SELECT 1 FROM auth.projects WHERE id = $1", project_id):
            return False
        await conn.execute(
            "INSERT INTO auth.api_keys (id, org_id, project_id, name, lookup, hash, masked, usage_limit_usd,"
            " rate_limit_rpm, allowed_models, allowed_ips, expires_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
            key_id, org_id, project_id, name, cred.lookup, cred.hash, cred.masked, limits["usage_limit_usd"],
            limits["rate_limit_rpm"], limits["allowed_models"], limits["allowed_ips"], expires_at,
        )  # fmt: skip
        return True


async def rotate_key(
    pool: asyncpg.Pool, org_id: str, key_id: str, cred: NewCredential, grace_s: int
) -> list[str] | None:
    """Swap in a new secret; the old digest moves to the grace slot for ``grace_s`` seconds (0 = gone).

    Returns the digests that must be dropped from caches now, or None if no such active key.
    """
    async with tenant_tx(pool, org_id) as conn:
        row = await conn.fetchrow(
            "SELECT lookup, grace_lookup FROM auth.api_keys WHERE id = $1 AND status = 'active' FOR UPDATE", key_id
        )
        if row is None:
            return None
        await conn.execute(
            "UPDATE auth.api_keys SET grace_lookup = CASE WHEN $5 > 0 THEN lookup END,"
            " grace_hash = CASE WHEN $5 > 0 THEN hash END,"
            " grace_until = CASE WHEN $5 > 0 THEN now() + make_interval(secs => $5) END,"
            " lookup = $2, hash = $3, masked = $4, updated_at = clock_timestamp() WHERE id = $1",
            key_id, cred.lookup, cred.hash, cred.masked, grace_s,
        )  # fmt: skip
        return [x for x in (row["lookup"], row["grace_lookup"]) if x]


async def revoke_key(pool: asyncpg.Pool, org_id: str, key_id: str) -> bool:
    """Revoke a key (and any grace secret)."""
    async with tenant_tx(pool, org_id) as conn:
        status = await conn.execute(
            "UPDATE auth.api_keys SET status = 'revoked', revoked_at = now(), grace_lookup = NULL,"
            " grace_hash = NULL, grace_until = NULL, updated_at = clock_timestamp() WHERE id = $1",
            key_id,
        )
        return bool(status.endswith(" 1"))


async def update_key(
    pool: asyncpg.Pool, org_id: str, key_id: str, name: str, limits: dict[str, object], expires_at: datetime | None
) -> bool:
    """Replace name, limits and expiry."""
    async with tenant_tx(pool, org_id) as conn:
        status = await conn.execute(
            "UPDATE auth.api_keys SET name = $2, usage_limit_usd = $3, rate_limit_rpm = $4, allowed_models = $5,"
            " allowed_ips = $6, expires_at = $7, updated_at = clock_timestamp() WHERE id = $1",
            key_id, name, limits["usage_limit_usd"], limits["rate_limit_rpm"], limits["allowed_models"],
            limits["allowed_ips"], expires_at,
        )  # fmt: skip
        return bool(status.endswith(" 1"))


async def insert_token(
    pool: asyncpg.Pool, org_id: str, token_id: str, role: str, name: str, cred: NewCredential,
    expires_at: datetime | None,
) -> None:  # fmt: skip
    """Insert a management token."""
    async with tenant_tx(pool, org_id) as conn:
        await conn.execute(
            "INSERT INTO auth.admin_tokens (id, org_id, name, role, lookup, hash, masked, expires_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            token_id, org_id, name, role, cred.lookup, cred.hash, cred.masked, expires_at,
        )  # fmt: skip


async def revoke_token(pool: asyncpg.Pool, org_id: str, token_id: str, max_role: str) -> str:
    """Revoke a management token at or below ``max_role``: ``revoked``, ``not_found``,
    ``forbidden`` (above ``max_role``) or ``last_owner`` (refused by the database: an
    organisation keeps one active owner token)."""
    async with tenant_tx(pool, org_id) as conn:
        row = await conn.fetchrow(
            "SELECT auth.role_rank(role) <= auth.role_rank(coalesce(nullif($2, ''), 'viewer')) AS allowed"
            " FROM auth.admin_tokens WHERE id = $1 AND status = 'active' FOR UPDATE",
            token_id, max_role,
        )  # fmt: skip
        if row is None:
            return "not_found"
        if not row["allowed"]:
            return "forbidden"
        try:
            await conn.execute(
                "UPDATE auth.admin_tokens SET status = 'revoked', revoked_at = now(), updated_at = clock_timestamp()"
                " WHERE id = $1",
                token_id,
            )
        except asyncpg.CheckViolationError as exc:
            if exc.constraint_name == "last_owner":
                return "last_owner"
            raise
        return "revoked"
