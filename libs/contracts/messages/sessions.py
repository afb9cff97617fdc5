"""Auth: people's sessions (management API → auth).

A session's secret (the cookie value, ``bst_ses_…``) travels only in :class:`VerifySession` and,
once at sign-in or when auth renews it, in :class:`SessionPrincipal.renewed`; everything else
names a session by its public id (``ses_…``). Never log these Structs.
"""

from __future__ import annotations

import msgspec

from libs.contracts.messages.common import Denied, Fault


class VerifySession(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Who holds the session cookie ``secret`` presented from ``client_ip``."""

    request_id: str
    secret: str
    client_ip: str = ""

    def __repr__(self) -> str:
        return f"VerifySession(request_id={self.request_id!r}, secret=<redacted>)"


class SessionPrincipal(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="ok", tag_field="kind"):
    """A live session: the person, the organisation it was opened in, their current role there.

    ``renewed`` is non-empty when the person's role changed since the secret was issued: the old
    secret no longer works, and the caller must hand this one to the browser (a new id on every
    privilege change). ``expires_at`` is the absolute end (unix seconds), ``idle_s`` the idle timeout.
    """

    org_id: str
    user_id: str
    session_id: str
    role: str
    expires_at: int
    idle_s: int
    renewed: str = ""
    mfa: bool = False
    """A second factor was shown in this session (passkey sign-in, TOTP or a recovery code)."""
    mfa_at: int = 0
    """When the second factor was last shown (unix s; 0: never): key operations need it recent."""
    created_at: int = 0
    """When the person signed in (unix s)."""

    def __repr__(self) -> str:
        return (f"SessionPrincipal(org_id={self.org_id!r}, user_id={self.user_id!r}, "
                f"session_id={self.session_id!r}, role={self.role!r}, renewed=<redacted>)")  # fmt: skip


VerifySessionReply = SessionPrincipal | Denied | Fault


class ListSessions(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The live sessions of the person ``user_id`` (every organisation)."""

    request_id: str
    user_id: str


class SessionInfo(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One session as its owner may see it (no secret, no digest). Times are unix seconds."""

    id: str
    org_id: str
    method: str
    created_at: int
    last_seen_at: int
    expires_at: int
    ip: str = ""
    user_agent: str = ""


class SessionList(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="ok", tag_field="kind"):
    """Sessions, newest first."""

    sessions: list[SessionInfo]


SessionListReply = SessionList | Denied | Fault


class RevokeSessions(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Revoke the person's session ``session_id``, or (empty) all their sessions but ``keep``."""

    request_id: str
    user_id: str
    session_id: str = ""
    keep: str = ""
    secret: str = ""
    """With ``keep``: the kept session's secret (auth checks it showed a second factor, when the
    person has one, so a stolen first-factor cookie cannot sign the person out everywhere else).
    Never log this."""

    def __repr__(self) -> str:
        return (f"RevokeSessions(request_id={self.request_id!r}, user_id={self.user_id!r}, "
                f"session_id={self.session_id!r}, keep={self.keep!r}, secret=<redacted>)")  # fmt: skip


class SessionsRevoked(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="ok", tag_field="kind"):
    """How many sessions were revoked (0: none of the person's was live by that id)."""

    count: int


RevokeSessionsReply = SessionsRevoked | Denied | Fault


class BeginOAuth(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Start a sign-in with ``provider`` (``github``, ``google``) coming back to ``redirect_uri``."""

    request_id: str
    provider: str
    redirect_uri: str


class OAuthStart(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="ok", tag_field="kind"):
    """Where to send the browser, and what the caller must keep sealed until it comes back:
    ``state`` (compared with the callback's), ``nonce`` (in the ID token) and the PKCE ``verifier``."""

    authorize_url: str
    state: str
    nonce: str
    verifier: str

    def __repr__(self) -> str:
        return "OAuthStart(<redacted>)"


BeginOAuthReply = OAuthStart | Denied | Fault


class CompleteOAuth(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The provider sent the browser back with ``code``: exchange it (with the PKCE ``verifier``),
    check who it is (``nonce`` must be the ID token's) and open a session for them."""

    request_id: str
    provider: str
    code: str
    verifier: str
    nonce: str
    redirect_uri: str
    client_ip: str = ""
    user_agent: str = ""

    def __repr__(self) -> str:
        return f"CompleteOAuth(request_id={self.request_id!r}, provider={self.provider!r}, <redacted>)"


class SignInRefused(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="refused", tag_field="kind"):
    """No session: ``reason`` is safe to show; ``user_id`` names the person when auth knows who
    tried (for the audit trail)."""

    code: str
    reason: str
    user_id: str = ""


CompleteOAuthReply = SessionPrincipal | SignInRefused | Denied | Fault


class EnrollTotp(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A new (unconfirmed) TOTP seed for ``user_id``; ``account`` labels it in the app."""

    request_id: str
    user_id: str
    account: str = ""
    secret: str = ""
    """The session asking (auth checks it may add a second factor). Never log this."""

    def __repr__(self) -> str:
        return f"EnrollTotp(request_id={self.request_id!r}, user_id={self.user_id!r}, secret=<redacted>)"


class TotpSeed(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="ok", tag_field="kind"):
    """The seed, shown once (base32 and as an ``otpauth://`` URI for a QR code). Never log this."""

    seed: str
    uri: str

    def __repr__(self) -> str:
        return "TotpSeed(<redacted>)"


EnrollTotpReply = TotpSeed | Denied | Fault


class StepUp(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The holder of session ``secret`` shows a second factor: a TOTP ``code`` (which, for a seed
    not yet confirmed, confirms it) or a ``recovery_code``."""

    request_id: str
    secret: str
    code: str = ""
    recovery_code: str = ""

    def __repr__(self) -> str:
        return f"StepUp(request_id={self.request_id!r}, <redacted>)"


class SteppedUp(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="ok", tag_field="kind"):
    """The session, renewed and marked ``mfa``; ``recovery_codes`` only when this confirmed TOTP
    (shown once). Never log this."""

    session: SessionPrincipal
    recovery_codes: list[str] = []

    def __repr__(self) -> str:
        return f"SteppedUp(session={self.session!r}, recovery_codes=<redacted>)"


StepUpReply = SteppedUp | Denied | Fault
