"""Auth's SQL for people's sessions: only SECURITY DEFINER functions (``0016_sessions.sql``)."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec


class SessionRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A session row with the person's current role in its organisation (None: not a member)."""

    id: str
    user_id: str
    org_id: str
    role: str
    member_role: str | None
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    mfa_at: datetime | None = None


class SessionRow(msgspec.Struct, frozen=True, kw_only=True):
    """A live session as its owner lists it."""

    id: str
    org_id: str
    method: str
    ip: str
    user_agent: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


class SessionStore:
    """The session functions on one pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def start(
        self, session_id: str, lookup: str, user_id: str, org_id: str, method: str, ip: str, user_agent: str,
        expires_at: datetime, mfa: bool = False,
    ) -> str | None:  # fmt: skip
        """Insert a session; its role, or None if the person is not a member of ``org_id``."""
        row = await self._pool.fetchrow(
            "SELECT role FROM auth.start_session($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            session_id, lookup, user_id, org_id, method, ip, user_agent, expires_at, mfa,
        )  # fmt: skip
        return None if row is None else str(row["role"])

    async def find(self, lookup: str) -> SessionRecord | None:
        """The session whose digest is ``lookup``."""
        row = await self._pool.fetchrow("SELECT * FROM auth.find_session($1)", lookup)
        return None if row is None else msgspec.convert(dict(row), SessionRecord)

    async def touch(self, session_id: str) -> None:
        """The session was used now."""
        await self._pool.execute("SELECT auth.touch_session($1)", session_id)

    async def renew(self, session_id: str, old_lookup: str, new_lookup: str, role: str, mfa: bool = False) -> bool:
        """Swap the secret (if it is still ``old_lookup``) and record ``role`` (and a second factor)."""
        return bool(await self._pool.fetchval("SELECT auth.renew_session($1, $2, $3, $4, $5)",
                                              session_id, old_lookup, new_lookup, role, mfa))  # fmt: skip

    async def revoke(self, user_id: str, session_id: str | None, keep: str | None) -> int:
        """Revoke one of the person's sessions, or all but ``keep``; how many."""
        return int(await self._pool.fetchval("SELECT auth.revoke_sessions($1, $2, $3)", user_id, session_id, keep))

    async def of_user(self, user_id: str) -> list[SessionRow]:
        """The person's live sessions, newest first."""
        rows = await self._pool.fetch("SELECT * FROM auth.user_sessions($1)", user_id)
        return [msgspec.convert(dict(r), SessionRow) for r in rows]

    async def has_factor(self, user_id: str) -> bool:
        """Whether the person has a passkey or TOTP turned on."""
        return bool(await self._pool.fetchval("SELECT auth.has_second_factor($1)", user_id))

    async def identity_signin(self, provider: str, subject: str) -> tuple[str, str | None] | None:
        """(person, the organisation a sign-in opens) for a linked identity, or None."""
        row = await self._pool.fetchrow("SELECT user_id, org_id FROM auth.identity_signin($1, $2)", provider, subject)
        return None if row is None else (str(row["user_id"]), row["org_id"])
