"""People's sessions: start, verify, list, revoke (auth alone holds them).

* The secret is 256 random bits (``bst_ses_…``, :func:`libs.crypto.apikeys.generate_session_secret`)
  and stored as HMAC-SHA256(pepper, secret) only. Unlike API keys there is no argon2 hash: the
  secret is random, not chosen, so a keyed digest already makes a dump useless, and a session is
  verified on every request of the person (argon2 would add ~30 ms to each).
* No cache: every use reads the row, so a revocation, a removed membership, an idle timeout or
  the end of the lifetime takes effect on the very next request, on every replica.
* A new secret at sign-in (:meth:`Sessions.start` never reuses or accepts one: no fixation) and
  on any privilege change: when the person's role in the organisation differs from the one the
  secret was issued under, :meth:`Sessions.verify` renews the secret, answers with the new one
  (``renewed``) and the old one stops working. A person no longer a member is refused.
* Garbage costs nothing (shape and checksum are checked offline); well-formed unknown secrets
  pay from the same miss budget as keys and tokens (:class:`~services.auth.budget.MissBudget`).
"""

from __future__ import annotations

import secrets as _secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

import msgspec

from libs.contracts.errors import Code
from libs.contracts.messages import (
    Denied,
    RevokeSessions,
    SessionInfo,
    SessionList,
    SessionPrincipal,
    SessionsRevoked,
)
from libs.crypto import apikeys
from services.auth.budget import MissBudget, Verdict
from services.auth.logic import BUSY, THROTTLED
from services.auth.session_store import SessionRecord, SessionRow
from services.auth.settings import AuthSettings

INVALID_SESSION = Denied(code=str(Code.SESSION_INVALID), reason="Not signed in, or the session has ended.")
STEP_UP_FIRST = Denied(code=str(Code.SECOND_FACTOR_REQUIRED), reason=(
    "Confirm with your second factor first (POST /v1/session/step-up, or sign in with a passkey): "
    "adding or removing one needs a recent confirmation."))  # fmt: skip
SIGN_IN_AGAIN = Denied(
    code=str(Code.SECOND_FACTOR_REQUIRED),
    reason=("Sign in again to set up your first second factor: it needs a session opened in the last few minutes."),
)
Clock = Callable[[], datetime]


class Store(Protocol):
    """What :class:`Sessions` needs from the database (``SessionStore``; a fake in unit tests)."""

    async def start(self, session_id: str, lookup: str, user_id: str, org_id: str, method: str, ip: str,
                    user_agent: str, expires_at: datetime, mfa: bool = False) -> str | None: ...  # fmt: skip
    async def find(self, lookup: str) -> SessionRecord | None: ...
    async def touch(self, session_id: str) -> None: ...
    async def renew(self, session_id: str, old_lookup: str, new_lookup: str, role: str,
                    mfa: bool = False) -> bool: ...  # fmt: skip
    async def revoke(self, user_id: str, session_id: str | None, keep: str | None) -> int: ...
    async def of_user(self, user_id: str) -> list[SessionRow]: ...
    async def has_factor(self, user_id: str) -> bool: ...


def judge(record: SessionRecord, now: datetime, idle: timedelta) -> Denied | bool:
    """A refusal, else whether the secret must be renewed (the role changed since it was issued)."""
    if record.revoked_at is not None or now >= record.expires_at or now >= record.last_seen_at + idle:
        return INVALID_SESSION
    if record.member_role is None:  # removed from the organisation
        return INVALID_SESSION
    return record.member_role != record.role


def _unix(ts: datetime) -> int:
    return int(ts.timestamp())


class Sessions:
    """Session commands for one auth replica."""

    def __init__(self, store: Store, settings: AuthSettings, budget: MissBudget,
                 clock: Clock = lambda: datetime.now(UTC)) -> None:  # fmt: skip
        self._store = store
        self._pepper = settings.pepper()
        self._idle = timedelta(seconds=settings.session_idle_s)
        self._lifetime = timedelta(seconds=settings.session_lifetime_s)
        self._touch = timedelta(seconds=settings.session_touch_s)
        self._budget = budget
        self._clock = clock
        self._step_up = timedelta(seconds=settings.step_up_s)
        self._enrol_fresh = timedelta(seconds=settings.enrol_fresh_s)

    def _digest(self, secret: str) -> str:
        return apikeys.lookup_digest(self._pepper, secret)

    async def start(self, user_id: str, org_id: str, method: str, ip: str = "", user_agent: str = "",
                    *, mfa: bool = False) -> SessionPrincipal | Denied:  # fmt: skip
        """A new session for a person who just proved who they are; its secret is ``renewed``."""
        secret = apikeys.generate_session_secret()
        session_id = "ses_" + _secrets.token_hex(12)
        now = self._clock()
        expires = now + self._lifetime
        role = await self._store.start(session_id, self._digest(secret), user_id, org_id, method, ip[:64],
                                       user_agent[:256], expires, mfa)  # fmt: skip
        if role is None:
            return Denied(code=str(Code.FORBIDDEN), reason="You are not a member of this organisation.")
        return SessionPrincipal(org_id=org_id, user_id=user_id, session_id=session_id, role=role,
                                expires_at=_unix(expires), idle_s=int(self._idle.total_seconds()),
                                renewed=secret, mfa=mfa, mfa_at=_unix(now) if mfa else 0, created_at=_unix(now))  # fmt: skip

    async def verify(self, secret: str, client_ip: str = "") -> SessionPrincipal | Denied:
        """The person holding ``secret``, or why not."""
        if not apikeys.parse_session_secret(secret):
            return INVALID_SESSION
        digest = self._digest(secret)
        verdict = self._budget.admit(digest, client_ip)
        if verdict is not Verdict.ALLOW:
            return THROTTLED if verdict is Verdict.THROTTLED else BUSY
        record = await self._store.find(digest)
        now = self._clock()
        outcome = INVALID_SESSION if record is None else judge(record, now, self._idle)
        if isinstance(outcome, Denied) or record is None:
            self._budget.forget(digest)
            return outcome if isinstance(outcome, Denied) else INVALID_SESSION
        renewed = ""
        role = record.member_role or record.role
        if outcome:
            renewed = apikeys.generate_session_secret()
            if not await self._store.renew(record.id, digest, self._digest(renewed), role):
                return INVALID_SESSION  # another request renewed it first: this secret is the old one
            self._budget.forget(digest)
        elif now - record.last_seen_at >= self._touch:
            await self._store.touch(record.id)
        self._budget.known_good(self._digest(renewed) if renewed else digest)
        return SessionPrincipal(org_id=record.org_id, user_id=record.user_id, session_id=record.id, role=role,
                                expires_at=_unix(record.expires_at), idle_s=int(self._idle.total_seconds()),
                                renewed=renewed, mfa=record.mfa_at is not None,
                                mfa_at=_unix(record.mfa_at) if record.mfa_at else 0,
                                created_at=_unix(record.created_at))  # fmt: skip

    async def step_up(self, secret: str, user_id: str) -> SessionPrincipal | Denied:
        """The session ``secret`` of ``user_id`` has shown a second factor: a new id (a privilege
        change), marked ``mfa``. The caller has checked the factor."""
        current = await self.verify(secret)
        if isinstance(current, Denied) or current.user_id != user_id:
            return INVALID_SESSION
        old = current.renewed or secret
        renewed = apikeys.generate_session_secret()
        if not await self._store.renew(current.session_id, self._digest(old), self._digest(renewed), current.role,
                                       True):  # fmt: skip
            return INVALID_SESSION
        self._budget.forget(self._digest(old))
        return msgspec.structs.replace(current, renewed=renewed, mfa=True, mfa_at=_unix(self._clock()))

    async def may_change_factors(self, secret: str, user_id: str) -> SessionPrincipal | Denied:
        """The session ``secret`` of ``user_id``, if it may add or remove a second factor.

        Without this, a first-factor-only session (a stolen cookie, a hijacked GitHub or Google
        account) could add a factor of its own and so obtain the second factor. A person who has
        one already must have shown it in this session recently (``step_up_s``); a person who has
        none yet may add their first only from a session signed in recently (``enrol_fresh_s``),
        and that factor's first use (not its registration) is what marks a session ``mfa``.
        """
        current = await self.verify(secret)
        if isinstance(current, Denied) or current.user_id != user_id:
            return INVALID_SESSION
        now = self._clock()
        if await self._store.has_factor(user_id):
            shown = datetime.fromtimestamp(current.mfa_at, UTC) if current.mfa_at else None
            if shown is None or now - shown > self._step_up:
                return STEP_UP_FIRST
        elif now - datetime.fromtimestamp(current.created_at, UTC) > self._enrol_fresh:
            return SIGN_IN_AGAIN
        return current

    async def list(self, user_id: str) -> SessionList:
        """The person's live sessions (lifetime not passed, not revoked, idle timeout not passed)."""
        now = self._clock()
        rows = [r for r in await self._store.of_user(user_id) if now < r.last_seen_at + self._idle]
        return SessionList(sessions=[
            SessionInfo(id=r.id, org_id=r.org_id, method=r.method, created_at=_unix(r.created_at),
                        last_seen_at=_unix(r.last_seen_at), expires_at=_unix(r.expires_at), ip=r.ip,
                        user_agent=r.user_agent)
            for r in rows
        ])  # fmt: skip

    async def revoke(self, cmd: RevokeSessions) -> SessionsRevoked | Denied:
        """Revoke one of the person's sessions by id, or all of them but ``keep`` — which, when the
        person has a second factor, must have shown it (else a stolen first-factor cookie would
        sign the real person out everywhere and stay)."""
        if cmd.keep:
            kept = await self.verify(cmd.secret)
            if isinstance(kept, Denied) or kept.session_id != cmd.keep or kept.user_id != cmd.user_id:
                return INVALID_SESSION
            if not kept.mfa and await self._store.has_factor(cmd.user_id):
                return STEP_UP_FIRST
        count = await self._store.revoke(cmd.user_id, cmd.session_id or None, cmd.keep or None)
        return SessionsRevoked(count=count)
