"""Auth's SQL for passkeys: only SECURITY DEFINER functions (``0016_sessions.sql``)."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec


class PasskeyRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A passkey found by credential id, with the organisation a sign-in opens (None: none)."""

    id: str
    user_id: str
    public_key: bytes
    sign_count: int
    org_id: str | None


class PasskeyRow(msgspec.Struct, frozen=True, kw_only=True):
    """A passkey as its owner lists it."""

    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    credential_id: bytes


class PasskeyStore:
    """The passkey functions on one pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def use_challenge(self, digest: str, expires_at: datetime) -> bool:
        """True the first time ``digest`` is used."""
        return bool(await self._pool.fetchval("SELECT auth.use_challenge($1, $2)", digest, expires_at))

    async def add(self, passkey_id: str, credential_id: bytes, user_id: str, public_key: bytes, sign_count: int,
                  name: str) -> bool:  # fmt: skip
        """Store a new passkey; False if that credential is registered already."""
        return bool(await self._pool.fetchval("SELECT auth.add_passkey($1, $2, $3, $4, $5, $6)", passkey_id,
                                              credential_id, user_id, public_key, sign_count, name))  # fmt: skip

    async def find(self, credential_id: bytes) -> PasskeyRecord | None:
        """The passkey with ``credential_id``."""
        row = await self._pool.fetchrow("SELECT * FROM auth.find_passkey($1)", credential_id)
        return None if row is None else msgspec.convert(dict(row), PasskeyRecord)

    async def used(self, passkey_id: str, old: int, new: int) -> bool:
        """Move the counter from ``old`` to ``new``; False if it moved meanwhile."""
        return bool(await self._pool.fetchval("SELECT auth.passkey_used($1, $2, $3)", passkey_id, old, new))

    async def of_user(self, user_id: str) -> list[PasskeyRow]:
        """The person's passkeys, oldest first."""
        rows = await self._pool.fetch("SELECT * FROM auth.user_passkeys($1)", user_id)
        return [msgspec.convert(dict(r), PasskeyRow) for r in rows]

    async def remove(self, user_id: str, passkey_id: str) -> bool:
        """Remove one of the person's passkeys."""
        return bool(await self._pool.fetchval("SELECT auth.remove_passkey($1, $2)", user_id, passkey_id))
