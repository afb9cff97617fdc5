"""TOTP (RFC 6238, pyotp) with recovery codes: the second factor of owners and admins who did not
sign in with a passkey.

* The seed (160 random bits) is shown once, at enrolment, and stored sealed (AES-256-GCM under a
  key derived by HKDF from auth's pepper, bound to the person), so a database dump does not give
  anyone the codes. It works only after the first code confirms it.
* A code is accepted for the current 30-second step or one either side (clock drift), each step
  at most once (``last_step``): an observed code cannot be replayed.
* Ten recovery codes (40 random bits each, ``xxxxx-xxxxx``) are shown once, at confirmation, and stored as HMAC
  digests; each works once.
* Showing a factor renews the session's id (a privilege change) and marks it ``mfa``.
* Enrolment needs a session that may add a second factor (:meth:`Sessions.may_change_factors`)
  and is bound to it: only that session may confirm the seed, and another may replace a pending
  seed only after 10 minutes (a stolen first-factor cookie cannot swap the person's seed for its own).
* Wrong codes (TOTP or recovery) are counted per person in the database, so every replica shares
  the count: after ``max_failures`` in a row the person's checks pause for ``lockout_s``, twice as
  long each further time (at most a day), the right code included; the pause is audited.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import datetime
from typing import Protocol

import pyotp

from libs.contracts.errors import Code
from libs.contracts.messages import Denied, EnrollTotp, SteppedUp, StepUp, TotpSeed
from libs.crypto import aead
from libs.crypto.sealed import Sealer
from services.auth.sessions import INVALID_SESSION, Sessions
from services.auth.totp_store import TotpRecord

RECOVERY_CODES = 10
_WRONG = Denied(code=str(Code.FORBIDDEN), reason="That code is not valid (or was used already).")


class Store(Protocol):
    """What :class:`Totp` needs from the database (``TotpStore``)."""

    async def enroll(self, user_id: str, sealed: bytes, session_id: str) -> bool: ...
    async def get(self, user_id: str) -> TotpRecord | None: ...
    async def accept(self, user_id: str, step: int) -> bool: ...
    async def confirm(self, user_id: str, digests: list[str]) -> None: ...
    async def use_recovery_code(self, user_id: str, digest: str) -> bool: ...
    async def failed(self, user_id: str, threshold: int, base_s: int) -> datetime | None: ...
    async def succeeded(self, user_id: str) -> None: ...


def _locked(until: datetime, started: bool) -> Denied:
    code = Code.FACTOR_LOCKED if started else Code.AUTH_THROTTLED
    return Denied(code=str(code), reason=f"Too many wrong codes: second-factor checks are paused until "
                                         f"{until.strftime('%H:%M:%S')} UTC.")  # fmt: skip


def _recovery_code() -> str:
    raw = secrets.token_hex(5)
    return f"{raw[:5]}-{raw[5:]}"


def _normal(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


class Totp:
    """TOTP enrolment and step-up for one auth replica."""

    def __init__(self, store: Store, sessions: Sessions, pepper: bytes, issuer: str = "Bastion",
                 clock: object = time.time, max_failures: int = 5, lockout_s: int = 300) -> None:  # fmt: skip
        self._max_failures = max_failures
        self._lockout_s = lockout_s
        self._store = store
        self._sessions = sessions
        self._sealer = Sealer(hashlib.sha256(b"bastion/v1/totp-seed-root" + pepper).digest())
        self._mac = hmac.new(pepper, b"bastion/v1/recovery-codes", hashlib.sha256).digest()
        self._issuer = issuer
        self._clock = clock

    def _aad(self, user_id: str) -> bytes:
        return aead.make_aad("totp-seed", user_id)

    def _digest(self, user_id: str, code: str) -> str:
        return hmac.new(self._mac, f"{user_id}\n{_normal(code)}".encode(), hashlib.sha256).hexdigest()

    async def enroll(self, cmd: EnrollTotp) -> TotpSeed | Denied:
        """A new seed for the person (replacing one not yet confirmed), if the session may add it."""
        session = await self._sessions.may_change_factors(cmd.secret, cmd.user_id)
        if isinstance(session, Denied):
            return session
        seed = pyotp.random_base32()
        sealed = aead.seal(self._sealer.key("totp"), seed.encode(), self._aad(cmd.user_id))
        if not await self._store.enroll(cmd.user_id, sealed, session.session_id):
            found = await self._store.get(cmd.user_id)
            if found is not None and found.confirmed:
                return Denied(code=str(Code.CONFLICT), reason="Two-factor authentication is on already.")
            return Denied(code=str(Code.CONFLICT), reason="Another of your sessions is setting up an authenticator "
                                                          "app; finish there, or retry in 10 minutes.")  # fmt: skip
        uri = pyotp.TOTP(seed).provisioning_uri(name=cmd.account or cmd.user_id, issuer_name=self._issuer)
        return TotpSeed(seed=seed, uri=uri)

    async def _check_code(self, user_id: str, found: TotpRecord, code: str) -> bool:
        """True: a fresh valid code (accepted now); False: wrong or used."""
        sealed, last_step = found.sealed_seed, found.last_step
        try:
            seed = aead.open_sealed(self._sealer.key("totp"), sealed, self._aad(user_id)).decode()
        except aead.DecryptError:
            return False
        totp = pyotp.TOTP(seed)
        now = self._clock()  # type: ignore[operator]
        step_now = int(now // totp.interval)
        given = _normal(code)
        for step in (step_now - 1, step_now, step_now + 1):
            expected = totp.at(step * totp.interval)
            if hmac.compare_digest(given.encode(), expected.encode()) and step > last_step:
                return await self._store.accept(user_id, step)
        return False

    async def step_up(self, cmd: StepUp) -> SteppedUp | Denied:
        """Check the factor, then renew the session as ``mfa``; confirming TOTP returns recovery codes."""
        current = await self._sessions.verify(cmd.secret)
        if isinstance(current, Denied):
            return INVALID_SESSION
        user_id, secret = current.user_id, current.renewed or cmd.secret
        recovery: list[str] = []
        found = await self._store.get(user_id)
        if found is None:
            return Denied(code=str(Code.BAD_REQUEST), reason="Set up an authenticator app first.")
        if found.locked_until is not None:
            return _locked(found.locked_until, started=False)
        if not found.confirmed and found.session_id != current.session_id:
            return Denied(code=str(Code.FORBIDDEN), reason="This authenticator app is being set up from another "
                                                           "session; confirm it there.")  # fmt: skip
        if cmd.recovery_code:
            right = found.confirmed and await self._store.use_recovery_code(
                user_id, self._digest(user_id, cmd.recovery_code))  # fmt: skip
        else:
            right = await self._check_code(user_id, found, cmd.code)
        if not right:
            until = await self._store.failed(user_id, self._max_failures, self._lockout_s)
            return _WRONG if until is None else _locked(until, started=True)
        await self._store.succeeded(user_id)
        if not found.confirmed:  # the first code confirms the seed (a recovery code cannot: there is none yet)
            recovery = [_recovery_code() for _ in range(RECOVERY_CODES)]
            await self._store.confirm(user_id, [self._digest(user_id, c) for c in recovery])
        session = await self._sessions.step_up(secret, user_id)
        if isinstance(session, Denied):
            return INVALID_SESSION
        return SteppedUp(session=session, recovery_codes=recovery)
