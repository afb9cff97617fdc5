"""Issuing, rotating and revoking credentials (commands from the management API).

After any change the old secret must stop working at once on every auth replica: the replica
doing the change drops its own cache entries, then publishes ``CredentialInvalidated`` on core
NATS to every replica before it replies. The reply travels on the same connection after the
event, so by the time the caller has the reply, the server has already routed the event to
every replica. A periodic poll of changed rows is the safety net for a replica that was
disconnected when the event went out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg

from libs.contracts.errors import Code
from libs.contracts.messages import (
    Changed,
    CredentialInvalidated,
    Denied,
    Issued,
    IssueKey,
    IssueToken,
    KeyLimits,
    RevokeKey,
    RevokeToken,
    RotateKey,
    UpdateKey,
)
from libs.crypto import apikeys
from libs.db.ids import new_id
from libs.db.pool import tenant_tx
from services.auth import store
from services.auth.verifier import Verifier

Publish = Callable[[CredentialInvalidated], Awaitable[None]]
_NOT_FOUND = Denied(code="auth.not_found", reason="No such credential in this organisation.")
ROLES = ("owner", "admin", "developer", "viewer")


def _limits(limits: KeyLimits) -> dict[str, object]:
    return {
        "usage_limit_usd": limits.usage_limit_usd,
        "rate_limit_rpm": limits.rate_limit_rpm,
        "allowed_models": list(limits.allowed_models),
        "allowed_ips": list(limits.allowed_ips),
    }


def _when(ts: int | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=UTC)


class Manager:
    """Credential commands for one auth replica."""

    def __init__(self, pool: asyncpg.Pool, verifier: Verifier, hasher: apikeys.KeyHasher, publish: Publish) -> None:
        self._pool = pool
        self._verifier = verifier
        self._hasher = hasher
        self._publish = publish

    async def _credential(self, secret: str) -> store.NewCredential:
        hashed = await asyncio.to_thread(self._hasher.hash, secret)
        return store.NewCredential(lookup=self._verifier.digest(secret), hash=hashed, masked=apikeys.mask(secret))

    async def _invalidate(self, cred_id: str, reason: str) -> None:
        self._verifier.invalidate(cred_id)
        await self._publish(CredentialInvalidated(id=cred_id, reason=reason))

    async def issue_key(self, cmd: IssueKey) -> Issued | Denied:
        """A new key in ``cmd.project_id``; the secret is returned once."""
        try:
            apikeys.validate_project_id(cmd.project_id)
        except ValueError:  # not an id a project can have: no such project (was an unhandled error → 503)
            return Denied(code="auth.not_found", reason="No such project in this organisation.")
        secret = apikeys.generate(cmd.project_id)
        cred = await self._credential(secret)
        key_id = new_id("key")
        ok = await store.insert_key(self._pool, cmd.org_id, key_id, cmd.project_id, cmd.name, cred,
                                    _limits(cmd.limits), _when(cmd.expires_at))  # fmt: skip
        if not ok:
            return Denied(code="auth.not_found", reason="No such project in this organisation.")
        return Issued(id=key_id, secret=secret, masked=cred.masked)

    async def rotate_key(self, cmd: RotateKey) -> Issued | Denied:
        """A new secret for an existing key."""
        project_id = await self._project_of(cmd.org_id, cmd.key_id)
        if project_id is None:
            return _NOT_FOUND
        secret = apikeys.generate(project_id)
        cred = await self._credential(secret)
        if await store.rotate_key(self._pool, cmd.org_id, cmd.key_id, cred, max(0, cmd.grace_s)) is None:
            return _NOT_FOUND
        await self._invalidate(cmd.key_id, "rotated")
        return Issued(id=cmd.key_id, secret=secret, masked=cred.masked)

    async def revoke_key(self, cmd: RevokeKey) -> Changed | Denied:
        """Revoke a key."""
        if not await store.revoke_key(self._pool, cmd.org_id, cmd.key_id):
            return _NOT_FOUND
        await self._invalidate(cmd.key_id, "revoked")
        return Changed(id=cmd.key_id, status="revoked")

    async def update_key(self, cmd: UpdateKey) -> Changed | Denied:
        """Replace a key's name, limits and expiry."""
        ok = await store.update_key(self._pool, cmd.org_id, cmd.key_id, cmd.name, _limits(cmd.limits),
                                    _when(cmd.expires_at))  # fmt: skip
        if not ok:
            return _NOT_FOUND
        await self._invalidate(cmd.key_id, "updated")
        return Changed(id=cmd.key_id, status="updated")

    async def issue_token(self, cmd: IssueToken) -> Issued | Denied:
        """A new management token."""
        if cmd.role not in ROLES:
            return Denied(code=str(Code.BAD_REQUEST), reason=f"role must be one of {', '.join(ROLES)}")
        secret = apikeys.generate_admin_token()
        cred = await self._credential(secret)
        token_id = new_id("tok")
        await store.insert_token(self._pool, cmd.org_id, token_id, cmd.role, cmd.name, cred, _when(cmd.expires_at))
        return Issued(id=token_id, secret=secret, masked=cred.masked)

    async def revoke_token(self, cmd: RevokeToken) -> Changed | Denied:
        """Revoke a management token, never one above the caller's role, never the last owner's."""
        outcome = await store.revoke_token(self._pool, cmd.org_id, cmd.token_id, cmd.max_role)
        if outcome == "not_found":
            return _NOT_FOUND
        if outcome == "forbidden":
            return Denied(code=str(Code.FORBIDDEN), reason="You cannot revoke a token with a role above your own.")
        if outcome == "last_owner":
            return Denied(code=str(Code.CONFLICT),
                          reason="This is the last owner token of the organisation; create another owner token first.")  # fmt: skip
        await self._invalidate(cmd.token_id, "revoked")
        return Changed(id=cmd.token_id, status="revoked")

    async def _project_of(self, org_id: str, key_id: str) -> str | None:
        async with tenant_tx(self._pool, org_id) as conn:
            value = await conn.fetchval(
                "SELECT project_id FROM auth.api_keys WHERE id = $1 AND status = 'active'", key_id
            )
            return None if value is None else str(value)
