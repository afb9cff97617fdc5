"""Auth's SQL for TOTP and recovery codes: only SECURITY DEFINER functions (``0016_sessions.sql``)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import asyncpg


class TotpRecord(NamedTuple):
    """A person's TOTP: sealed seed, turned on, last accepted step, the session that started a
    pending enrolment, and the end of a pause after too many wrong codes (None: not paused)."""

    sealed_seed: bytes
    confirmed: bool
    last_step: int
    session_id: str = ""
    locked_until: datetime | None = None


class TotpStore:
    """The TOTP functions on one pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def enroll(self, user_id: str, sealed: bytes, session_id: str) -> bool:
        """Store a new unconfirmed seed started by ``session_id``; False if TOTP is on already or
        another session's enrolment is in progress."""
        return bool(await self._pool.fetchval("SELECT auth.totp_enroll($1, $2, $3)", user_id, sealed, session_id))

    async def get(self, user_id: str) -> TotpRecord | None:
        """The person's TOTP, or None."""
        row = await self._pool.fetchrow("SELECT * FROM auth.totp_get($1)", user_id)
        if row is None:
            return None
        return TotpRecord(bytes(row["sealed_seed"]), bool(row["confirmed"]), int(row["last_step"]),
                          str(row["session_id"]), row["locked_until"])  # fmt: skip

    async def accept(self, user_id: str, step: int) -> bool:
        """Accept a code for ``step`` once."""
        return bool(await self._pool.fetchval("SELECT auth.totp_accept($1, $2)", user_id, step))

    async def confirm(self, user_id: str, digests: list[str]) -> None:
        """Turn TOTP on with these recovery codes."""
        await self._pool.execute("SELECT auth.totp_confirm($1, $2)", user_id, digests)

    async def use_recovery_code(self, user_id: str, digest: str) -> bool:
        """Spend one recovery code."""
        return bool(await self._pool.fetchval("SELECT auth.use_recovery_code($1, $2)", user_id, digest))

    async def failed(self, user_id: str, threshold: int, base_s: int) -> datetime | None:
        """Count a wrong code; the end of the pause if this one started it."""
        until: datetime | None = await self._pool.fetchval("SELECT auth.totp_failed($1, $2, $3)", user_id,
                                                           threshold, base_s)  # fmt: skip
        return until

    async def succeeded(self, user_id: str) -> None:
        """A right code: misses start counting again."""
        await self._pool.execute("SELECT auth.totp_succeeded($1)", user_id)
