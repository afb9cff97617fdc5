"""Auth endpoints: verification (edge, api), credential commands (api), invalidations (all replicas)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from libs.contracts import subjects
from libs.contracts.codec import Codec
from libs.contracts.messages import (
    AdminPrincipal,
    BeginOAuth,
    Changed,
    CompleteOAuth,
    CredentialInvalidated,
    Denied,
    EnrollTotp,
    Fault,
    Issued,
    IssueKey,
    IssueToken,
    ListPasskeys,
    ListSessions,
    OAuthStart,
    PasskeyChallenge,
    PasskeyList,
    PasskeyOptions,
    PasskeySignIn,
    Principal,
    RegisterPasskey,
    RemovePasskey,
    RevokeKey,
    RevokeSessions,
    RevokeToken,
    RotateKey,
    SessionList,
    SessionPrincipal,
    SessionsRevoked,
    SignInRefused,
    SteppedUp,
    StepUp,
    TotpSeed,
    UpdateKey,
    VerifyAdmin,
    VerifyKey,
    VerifySession,
)
from libs.svc.micro import Service
from services.auth.lazy import Lazy
from services.auth.manager import Manager
from services.auth.sessions import Sessions
from services.auth.verifier import Verifier

if TYPE_CHECKING:  # built lazily (services/auth/lazy.py): their libraries load on first use
    from services.auth.passkeys import Passkeys
    from services.auth.signin import SignIn
    from services.auth.totp import Totp

SERVICE = "auth"
log = logging.getLogger("bastion.auth")
_invalidation: Codec[CredentialInvalidated] = Codec(CredentialInvalidated)


def register(svc: Service, verifier: Verifier) -> None:
    """Verification endpoints and the invalidation listener."""

    @svc.endpoint(subjects.AUTH_VERIFY, VerifyKey)
    async def verify_key(request: VerifyKey) -> Principal | Denied | Fault:
        return await verifier.verify_key(request.key, request.client_ip)

    @svc.endpoint(subjects.AUTH_VERIFY_ADMIN, VerifyAdmin)
    async def verify_admin(request: VerifyAdmin) -> AdminPrincipal | Denied | Fault:
        return await verifier.verify_token(request.token, request.client_ip)

    # No queue group: every replica must drop its cached copy.
    @svc.listen(subjects.CREDENTIAL_INVALIDATED)
    async def on_invalidated(body: bytes) -> None:
        try:
            event = _invalidation.decode(body)
        except ValueError:
            log.warning("malformed invalidation event")
            verifier.invalidate_all()
            return
        verifier.invalidate(event.id)


def register_commands(svc: Service, manager: Manager) -> None:
    """Credential commands from the management API (queue group: one replica handles each)."""

    @svc.endpoint(subjects.AUTH_KEY_ISSUE, IssueKey)
    async def issue_key(cmd: IssueKey) -> Issued | Denied:
        return await manager.issue_key(cmd)

    @svc.endpoint(subjects.AUTH_KEY_ROTATE, RotateKey)
    async def rotate_key(cmd: RotateKey) -> Issued | Denied:
        return await manager.rotate_key(cmd)

    @svc.endpoint(subjects.AUTH_KEY_REVOKE, RevokeKey)
    async def revoke_key(cmd: RevokeKey) -> Changed | Denied:
        return await manager.revoke_key(cmd)

    @svc.endpoint(subjects.AUTH_KEY_UPDATE, UpdateKey)
    async def update_key(cmd: UpdateKey) -> Changed | Denied:
        return await manager.update_key(cmd)

    @svc.endpoint(subjects.AUTH_TOKEN_ISSUE, IssueToken)
    async def issue_token(cmd: IssueToken) -> Issued | Denied:
        return await manager.issue_token(cmd)

    @svc.endpoint(subjects.AUTH_TOKEN_REVOKE, RevokeToken)
    async def revoke_token(cmd: RevokeToken) -> Changed | Denied:
        return await manager.revoke_token(cmd)


def register_sessions(svc: Service, sessions: Sessions) -> None:
    """People's sessions, for the management API (queue group)."""

    @svc.endpoint(subjects.AUTH_SESSION_VERIFY, VerifySession)
    async def verify_session(request: VerifySession) -> SessionPrincipal | Denied:
        return await sessions.verify(request.secret, request.client_ip)

    @svc.endpoint(subjects.AUTH_SESSION_LIST, ListSessions)
    async def list_sessions(request: ListSessions) -> SessionList:
        return await sessions.list(request.user_id)

    @svc.endpoint(subjects.AUTH_SESSION_REVOKE, RevokeSessions)
    async def revoke_sessions(request: RevokeSessions) -> SessionsRevoked | Denied:
        return await sessions.revoke(request)


def register_signin(svc: Service, signin: Lazy[SignIn]) -> None:
    """OAuth sign-in, for the management API (queue group)."""

    @svc.endpoint(subjects.AUTH_OAUTH_BEGIN, BeginOAuth)
    async def oauth_begin(request: BeginOAuth) -> OAuthStart | Denied:
        return await (await signin.get()).begin(request)

    @svc.endpoint(subjects.AUTH_OAUTH_COMPLETE, CompleteOAuth)
    async def oauth_complete(request: CompleteOAuth) -> SessionPrincipal | SignInRefused:
        return await (await signin.get()).complete(request)


def register_passkeys(svc: Service, passkeys: Lazy[Passkeys]) -> None:
    """Passkeys (WebAuthn), for the management API (queue group)."""

    @svc.endpoint(subjects.AUTH_PASSKEY_OPTIONS, PasskeyOptions)
    async def passkey_options(request: PasskeyOptions) -> PasskeyChallenge | Denied:
        return await (await passkeys.get()).options(request)

    @svc.endpoint(subjects.AUTH_PASSKEY_REGISTER, RegisterPasskey)
    async def passkey_register(request: RegisterPasskey) -> PasskeyList | Denied:
        return await (await passkeys.get()).register(request)

    @svc.endpoint(subjects.AUTH_PASSKEY_SIGNIN, PasskeySignIn)
    async def passkey_signin(request: PasskeySignIn) -> SessionPrincipal | SignInRefused:
        return await (await passkeys.get()).sign_in(request)

    @svc.endpoint(subjects.AUTH_PASSKEY_LIST, ListPasskeys)
    async def passkey_list(request: ListPasskeys) -> PasskeyList:
        return await (await passkeys.get()).list(request.user_id)

    @svc.endpoint(subjects.AUTH_PASSKEY_REMOVE, RemovePasskey)
    async def passkey_remove(request: RemovePasskey) -> PasskeyList | Denied:
        return await (await passkeys.get()).remove(request.user_id, request.passkey_id, request.secret)


def register_totp(svc: Service, totp: Lazy[Totp]) -> None:
    """TOTP enrolment and session step-up, for the management API (queue group)."""

    @svc.endpoint(subjects.AUTH_TOTP_ENROLL, EnrollTotp)
    async def totp_enroll(request: EnrollTotp) -> TotpSeed | Denied:
        return await (await totp.get()).enroll(request)

    @svc.endpoint(subjects.AUTH_SESSION_STEP_UP, StepUp)
    async def session_step_up(request: StepUp) -> SteppedUp | Denied:
        return await (await totp.get()).step_up(request)
