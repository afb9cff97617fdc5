"""Auth's SQL. Lookups go by the HMAC digest of the presented secret (an indexed column)."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec


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


class TokenRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A management token row."""

    id: str
    org_id: str
    role: str
    hash: str
    status: str
    expires_at: datetime | None


_KEY_SQL = """
SELECT k.id, k.org_id, k.project_id, k.hash, k.status, o.plan, k.expires_at,
       k.usage_limit_usd::float8 AS usage_limit_usd, k.rate_limit_rpm, k.allowed_models, k.allowed_ips
FROM auth.api_keys k JOIN auth.orgs o ON o.id = k.org_id
WHERE k.lookup = $1
"""

_TOKEN_SQL = """
SELECT id, org_id, role, hash, status, expires_at FROM auth.admin_tokens WHERE lookup = $1
"""


async def find_key(pool: asyncpg.Pool, lookup: str) -> KeyRecord | None:
    """The key whose digest is ``lookup``."""
    row = await pool.fetchrow(_KEY_SQL, lookup)
    return None if row is None else msgspec.convert(dict(row), KeyRecord)


async def find_token(pool: asyncpg.Pool, lookup: str) -> TokenRecord | None:
    """The management token whose digest is ``lookup``."""
    row = await pool.fetchrow(_TOKEN_SQL, lookup)
    return None if row is None else msgspec.convert(dict(row), TokenRecord)
