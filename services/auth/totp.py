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
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Protocol

import pyotp

from libs.contracts.errors import Code
from libs.contracts.messages import Denied, EnrollTotp, SteppedUp, StepUp, TotpSeed
from libs.crypto import aead
from libs.crypto.sealed import Sealer
from services.auth.sessions import INVALID_SESSION, Sessions

RECOVERY_CODES = 10
_WRONG = Denied(code=str(Code.FORBIDDEN), reason="That code is not valid (or was used already).")


class Store(Protocol):
    """What :class:`Totp` needs from the database (``TotpStore``)."""

    async def enroll(self, user_id: str, sealed: bytes) -> bool: ...
    async def get(self, user_id: str) -> tuple[bytes, bool, int] | None: ...
    async def accept(self, user_id: str, step: int) -> bool: ...
    async def confirm(self, user_id: str, digests: list[str]) -> None: ...
    async def use_recovery_code(self, user_id: str, digest: str) -> bool: ...


def _recovery_code() -> str:
    raw = secrets.token_hex(5)
    return f"{raw[:5]}-{raw[5:]}"


def _normal(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


class Totp:
    """TOTP enrolment and step-up for one auth replica."""

    def __init__(self, store: Store, sessions: Sessions, pepper: bytes, issuer: str = "Bastion",
                 clock: object = time.time) -> None:  # fmt: skip
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
        """A new seed for the person (replacing one not yet confirmed)."""
        seed = pyotp.random_base32()
        sealed = aead.seal(self._sealer.key("totp"), seed.encode(), self._aad(cmd.user_id))
        if not await self._store.enroll(cmd.user_id, sealed):
            return Denied(code=str(Code.CONFLICT), reason="Two-factor authentication is on already.")
        uri = pyotp.TOTP(seed).provisioning_uri(name=cmd.account or cmd.user_id, issuer_name=self._issuer)
        return TotpSeed(seed=seed, uri=uri)

    async def _check_code(self, user_id: str, code: str) -> bool | None:
        """True: a fresh valid code (accepted now); False: wrong or used; None: no TOTP."""
        found = await self._store.get(user_id)
        if found is None:
            return None
        sealed, _, last_step = found
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
        if cmd.recovery_code:
            found = await self._store.get(user_id)
            if found is None or not found[1] or not await self._store.use_recovery_code(
                    user_id, self._digest(user_id, cmd.recovery_code)):  # fmt: skip
                return _WRONG
        else:
            found = await self._store.get(user_id)
            if found is None:
                return Denied(code=str(Code.BAD_REQUEST), reason="Set up an authenticator app first.")
            if not await self._check_code(user_id, cmd.code):
                return _WRONG
            if not found[1]:  # the first code confirms the seed
                recovery = [_recovery_code() for _ in range(RECOVERY_CODES)]
                await self._store.confirm(user_id, [self._digest(user_id, c) for c in recovery])
        session = await self._sessions.step_up(secret, user_id)
        if isinstance(session, Denied):
            return INVALID_SESSION
        return SteppedUp(session=session, recovery_codes=recovery)
