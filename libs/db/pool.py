"""asyncpg pools and tenant-scoped transactions."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import asyncpg

TENANT_SETTING = "bastion.org_id"


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A pool whose connections decode jsonb to Python objects."""
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection, command_timeout=10
    )
    assert pool is not None
    return pool


@asynccontextmanager
async def tenant_tx(pool: asyncpg.Pool, org_id: str) -> AsyncIterator[asyncpg.Connection]:
    """A transaction scoped to one tenant: row-level security policies read this setting."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT set_config($1, $2, true)", TENANT_SETTING, org_id)
        yield conn


def ready_check(pool: asyncpg.Pool) -> Callable[[], Awaitable[bool]]:
    """A readiness probe: can the pool run ``SELECT 1``?"""

    async def ready() -> bool:
        try:
            return bool(await pool.fetchval("SELECT 1"))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False

    return ready
