"""Passkeys (WebAuthn) with py_webauthn: registration, discoverable sign-in, several per person,
removal.

* User verification is **required** in both ceremonies (options say ``required``, and the
  verification refuses an authenticator that did not set the UV flag): a passkey is a whole
  second factor by itself, never a bare "something you have".
* Sign counters: an assertion whose counter does not move past the stored one (when either is
  non-zero) is refused by the library — a cloned authenticator — and the stored counter is moved
  on with a compare-and-swap, so two concurrent uses of one assertion cannot both pass.
* Challenges: 32 random bytes; the management API keeps them sealed for the browser, and each is
  usable once (``auth.use_challenge``, across replicas) for 5 minutes.
* Discoverable sign-in: the assertion's ``userHandle`` must be present (WebAuthn §7.2 step 6) and
  be the person the credential belongs to.
* Adding or removing a passkey needs a session that may change the person's second factors
  (:meth:`Sessions.may_change_factors`): a recent second factor if they have one, else a fresh
  sign-in. A new passkey marks no session ``mfa``; signing in with it does.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Protocol

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, parse_authentication_credential_json
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidJSONStructure, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from libs.contracts.errors import Code
from libs.contracts.messages import (
    Denied,
    PasskeyChallenge,
    PasskeyInfo,
    PasskeyList,
    PasskeyOptions,
    PasskeySignIn,
    RegisterPasskey,
    SessionPrincipal,
    SignInRefused,
)
from services.auth.oauth import refused
from services.auth.passkey_store import PasskeyRecord, PasskeyRow
from services.auth.sessions import Sessions
from services.auth.settings import PasskeySettings

CHALLENGE_TTL = timedelta(minutes=5)
MAX_PASSKEYS = 20


class Store(Protocol):
    """What :class:`Passkeys` needs from the database (``PasskeyStore``)."""

    async def use_challenge(self, digest: str, expires_at: datetime) -> bool: ...
    async def add(self, passkey_id: str, credential_id: bytes, user_id: str, public_key: bytes, sign_count: int,
                  name: str) -> bool: ...  # fmt: skip
    async def find(self, credential_id: bytes) -> PasskeyRecord | None: ...
    async def used(self, passkey_id: str, old: int, new: int) -> bool: ...
    async def of_user(self, user_id: str) -> list[PasskeyRow]: ...
    async def remove(self, user_id: str, passkey_id: str) -> bool: ...


def _info(row: PasskeyRow) -> PasskeyInfo:
    last = int(row.last_used_at.timestamp()) if row.last_used_at else 0
    return PasskeyInfo(id=row.id, name=row.name, created_at=int(row.created_at.timestamp()), last_used_at=last)


class Passkeys:
    """Passkey ceremonies for one auth replica."""

    def __init__(self, store: Store, sessions: Sessions, settings: PasskeySettings) -> None:
        self._store = store
        self._sessions = sessions
        self._rp_id = settings.passkey_rp_id
        self._rp_name = settings.passkey_rp_name
        self._origins = settings.origins()

    async def options(self, cmd: PasskeyOptions) -> PasskeyChallenge | Denied:
        """Registration options for a person (their passkeys excluded), or sign-in options."""
        if cmd.user_id:
            allowed = await self._sessions.may_change_factors(cmd.secret, cmd.user_id)
            if isinstance(allowed, Denied):
                return allowed
            existing = await self._store.of_user(cmd.user_id)
            options = generate_registration_options(
                rp_id=self._rp_id, rp_name=self._rp_name, user_id=cmd.user_id.encode(),
                user_name=cmd.user_name or cmd.user_id,
                authenticator_selection=AuthenticatorSelectionCriteria(
                    resident_key=ResidentKeyRequirement.REQUIRED,
                    user_verification=UserVerificationRequirement.REQUIRED),
                exclude_credentials=[PublicKeyCredentialDescriptor(id=r.credential_id) for r in existing],
            )  # fmt: skip
        else:
            options = generate_authentication_options(  # type: ignore[assignment]
                rp_id=self._rp_id, user_verification=UserVerificationRequirement.REQUIRED)  # fmt: skip
        return PasskeyChallenge(options_json=options_to_json(options), challenge=bytes_to_base64url(options.challenge))

    async def _fresh(self, challenge: str) -> bytes | None:
        """The challenge's bytes, if this is its first use."""
        try:
            raw = base64url_to_bytes(challenge)
        except (ValueError, TypeError):
            return None
        if len(raw) < 16:
            return None
        digest = hashlib.sha256(b"bastion/webauthn-challenge/" + raw).hexdigest()
        return raw if await self._store.use_challenge(digest, datetime.now(UTC) + CHALLENGE_TTL) else None

    async def register(self, cmd: RegisterPasskey) -> PasskeyList | Denied:
        """Verify a new credential (user verification required) and add it."""
        allowed = await self._sessions.may_change_factors(cmd.secret, cmd.user_id)
        if isinstance(allowed, Denied):
            return allowed
        challenge = await self._fresh(cmd.challenge)
        if challenge is None:
            return Denied(code=str(Code.BAD_REQUEST), reason="This passkey ceremony expired or was used; start again.")
        if len(await self._store.of_user(cmd.user_id)) >= MAX_PASSKEYS:
            return Denied(code=str(Code.CONFLICT), reason=f"You have {MAX_PASSKEYS} passkeys; remove one first.")
        try:
            verified = verify_registration_response(
                credential=cmd.credential_json, expected_challenge=challenge, expected_rp_id=self._rp_id,
                expected_origin=self._origins, require_user_verification=True)  # fmt: skip
        except (InvalidRegistrationResponse, InvalidJSONStructure, ValueError, KeyError, TypeError):
            return Denied(code=str(Code.BAD_REQUEST), reason="The passkey could not be verified.")
        added = await self._store.add("pk_" + secrets.token_hex(10), verified.credential_id, cmd.user_id,
                                      verified.credential_public_key, verified.sign_count, cmd.name[:64])  # fmt: skip
        if not added:
            return Denied(code=str(Code.CONFLICT), reason="This passkey is registered already.")
        return await self.list(cmd.user_id)

    async def sign_in(self, cmd: PasskeySignIn) -> SessionPrincipal | SignInRefused:
        """A new session for the person whose passkey signed the challenge."""
        challenge = await self._fresh(cmd.challenge)
        if challenge is None:
            return refused("This passkey sign-in expired or was used; start again.")
        try:
            credential = parse_authentication_credential_json(cmd.credential_json)
        except (InvalidJSONStructure, ValueError, KeyError, TypeError):
            return refused("The passkey could not be verified.")
        record = await self._store.find(credential.raw_id)
        if record is None:
            return refused("This passkey is not registered here.")
        handle = credential.response.user_handle
        if handle is None or handle != record.user_id.encode():
            return refused("The passkey could not be verified.")
        try:
            verified = verify_authentication_response(
                credential=credential, expected_challenge=challenge, expected_rp_id=self._rp_id,
                expected_origin=self._origins, credential_public_key=record.public_key,
                credential_current_sign_count=record.sign_count, require_user_verification=True)  # fmt: skip
        except (InvalidAuthenticationResponse, ValueError, KeyError, TypeError):
            return SignInRefused(code=refused("").code, reason="The passkey could not be verified.",
                                 user_id=record.user_id)  # fmt: skip
        if not await self._store.used(record.id, record.sign_count, verified.new_sign_count):
            return SignInRefused(code=refused("").code, reason="The passkey was used twice at once.",
                                 user_id=record.user_id)  # fmt: skip
        if record.org_id is None:
            return SignInRefused(code=refused("").code, reason="You are not a member of any organisation here.",
                                 user_id=record.user_id)  # fmt: skip
        # a user-verified passkey is two factors at once (possession + the device's PIN or biometrics)
        started = await self._sessions.start(record.user_id, record.org_id, "passkey", cmd.client_ip, cmd.user_agent,
                                             mfa=True)  # fmt: skip
        if isinstance(started, Denied):
            return SignInRefused(code=started.code, reason=started.reason, user_id=record.user_id)
        return started

    async def list(self, user_id: str) -> PasskeyList:
        """The person's passkeys."""
        return PasskeyList(passkeys=[_info(r) for r in await self._store.of_user(user_id)])

    async def remove(self, user_id: str, passkey_id: str, secret: str) -> PasskeyList | Denied:
        """Remove one of the person's passkeys (from a session that showed a second factor recently)."""
        allowed = await self._sessions.may_change_factors(secret, user_id)
        if isinstance(allowed, Denied):
            return allowed
        if not await self._store.remove(user_id, passkey_id):
            return Denied(code="auth.not_found", reason="You have no passkey with this id.")
        return await self.list(user_id)
