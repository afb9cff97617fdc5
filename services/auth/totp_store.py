"""Auth's SQL for TOTP and recovery codes: only SECURITY DEFINER functions (``0016_sessions.sql``)."""

from __future__ import annotations

import asyncpg


class TotpStore:
    """The TOTP functions on one pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def enroll(self, user_id: str, sealed: bytes) -> bool:
        """Store a new unconfirmed seed; False if TOTP is on already."""
        return bool(await self._pool.fetchval("SELECT auth.totp_enroll($1, $2)", user_id, sealed))

    async def get(self, user_id: str) -> tuple[bytes, bool, int] | None:
        """(sealed seed, confirmed, last accepted step), or None."""
        row = await self._pool.fetchrow("SELECT * FROM auth.totp_get($1)", user_id)
        return None if row is None else (bytes(row["sealed_seed"]), bool(row["confirmed"]), int(row["last_step"]))

    async def accept(self, user_id: str, step: int) -> bool:
        """Accept a code for ``step`` once."""
        return bool(await self._pool.fetchval("SELECT auth.totp_accept($1, $2)", user_id, step))

    async def confirm(self, user_id: str, digests: list[str]) -> None:
        """Turn TOTP on with these recovery codes."""
        await self._pool.execute("SELECT auth.totp_confirm($1, $2)", user_id, digests)

    async def use_recovery_code(self, user_id: str, digest: str) -> bool:
        """Spend one recovery code."""
        return bool(await self._pool.fetchval("SELECT auth.use_recovery_code($1, $2)", user_id, digest))
