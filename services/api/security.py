"""Management-token authentication (verified by the auth service over the bus)."""

from __future__ import annotations

import secrets
import time
from typing import Any

from litestar import Request

from libs.contracts import subjects
from libs.contracts.codec import Codec
from libs.contracts.errors import Code
from libs.contracts.messages import (
    AdminPrincipal,
    Denied,
    SessionPrincipal,
    VerifyAdmin,
    VerifyAdminReply,
    VerifySession,
    VerifySessionReply,
)
from libs.svc.authfail import FailedAuths, Failure
from libs.svc.bus import Bus, Unavailable
from services.api.auditing import client_ip
from services.api.problems import Problem
from services.api.sessions import CookiePolicy, check_csrf, csrf_token, hand_out
from services.api.settings import get_settings

_codec: Codec[VerifyAdminReply] = Codec(VerifyAdminReply)
_session_codec: Codec[VerifySessionReply] = Codec(VerifySessionReply)
ROLES = ("viewer", "developer", "admin", "owner")


async def admin(request: Request[Any, Any, Any]) -> AdminPrincipal:
    """The caller's management principal (a token, else a session cookie), or 401/403/429/503.

    An ``Authorization`` header always wins: a request that sends one is judged by it alone.
    """
    value = request.headers.get("authorization")
    if value is None:
        policy: CookiePolicy = request.app.state.cookie_policy
        cookie = request.cookies.get(policy.name)
        if cookie:
            return await _session(request, cookie, policy)
        value = ""
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(401, "A management token (Authorization: Bearer …) or a session is required.",
                      headers={"www-authenticate": "Bearer"})  # fmt: skip
    bus: Bus = request.app.state.bus
    message = VerifyAdmin(request_id=secrets.token_hex(8), token=token.strip(), client_ip=client_ip(request))
    try:
        reply = await bus.request("auth", subjects.AUTH_VERIFY_ADMIN, message, _codec)
    except Unavailable:
        raise Problem(503, "The auth service is unavailable; retry shortly.", kind="unavailable") from None
    if isinstance(reply, Denied):
        throttled = reply.code == Code.AUTH_THROTTLED
        failures: FailedAuths = request.app.state.failed_auths  # counted, not one row per refusal
        failures.add(Failure(client_ip=client_ip(request), reason=reply.code, status=429 if throttled else 401,
                             request_id=request.scope.get("state", {}).get("request_id", ""),
                             user_agent=request.headers.get("user-agent", "")))  # fmt: skip
        if throttled:
            raise Problem(429, "Too many unrecognised management tokens from your address; retry shortly.",
                          headers={"retry-after": "1"})  # fmt: skip
        raise Problem(401, "Invalid management token.", headers={"www-authenticate": "Bearer"})
    assert isinstance(reply, AdminPrincipal)
    return reply


async def _session(request: Request[Any, Any, Any], secret: str, policy: CookiePolicy) -> AdminPrincipal:
    """The person holding session cookie ``secret``; CSRF is checked before auth is asked."""
    sealer = request.app.state.sealer
    if sealer is None:  # no AUTH_SECRET: no CSRF key, so no cookie sessions (fail closed)
        raise Problem(401, "Sign-in is not configured on this server; use a management token.")
    check_csrf(request, sealer, secret, get_settings().origin_urls, "https" if policy.secure else "http")
    bus: Bus = request.app.state.bus
    message = VerifySession(request_id=secrets.token_hex(8), secret=secret, client_ip=client_ip(request))
    try:
        reply = await bus.request("auth", subjects.AUTH_SESSION_VERIFY, message, _session_codec)
    except Unavailable:
        raise Problem(503, "The auth service is unavailable; retry shortly.", kind="unavailable") from None
    if isinstance(reply, Denied):
        throttled = reply.code == Code.AUTH_THROTTLED
        failures: FailedAuths = request.app.state.failed_sessions
        failures.add(Failure(client_ip=client_ip(request), reason=reply.code, status=429 if throttled else 401,
                             request_id=request.scope.get("state", {}).get("request_id", ""),
                             user_agent=request.headers.get("user-agent", "")))  # fmt: skip
        if throttled:
            raise Problem(429, "Too many unrecognised sessions from your address; retry shortly.",
                          headers={"retry-after": "1"})  # fmt: skip
        hand_out(request, policy.clear())
        raise Problem(401, "Your session has ended; sign in again.")
    assert isinstance(reply, SessionPrincipal)
    if reply.renewed:  # the person's role changed: a new id, the old one no longer works
        hand_out(request, policy.set(reply.renewed, reply.expires_at), csrf_token(sealer, reply.renewed))
    request.scope.setdefault("state", {})["session_secret"] = reply.renewed or secret
    return AdminPrincipal(org_id=reply.org_id, token_id="", role=reply.role, user_id=reply.user_id,
                          session_id=reply.session_id, mfa=reply.mfa, mfa_at=reply.mfa_at)  # fmt: skip


def require(principal: AdminPrincipal, role: str, *, fresh: bool = False) -> None:
    """403 unless ``principal`` holds at least ``role`` — and, for a person acting as admin or
    owner, has shown a second factor in this session (a passkey sign-in, TOTP or a recovery code).

    ``fresh`` (API-key and provider-key operations): a person who is an owner or admin — whatever
    the action's own role — must have shown it in the last ``step_up_s`` seconds (issue 12: "a
    fresh confirmation for key and provider-key operations"); keys outlive the session, so a
    stolen first-factor cookie, or one whose second factor is hours old, must not mint them.
    """
    if ROLES.index(principal.role) < ROLES.index(role):
        raise Problem(403, f"This action needs the {role} role.")
    if not principal.user_id:
        return
    if not principal.mfa and ROLES.index(role) >= ROLES.index("admin"):
        raise Problem(403, "This action needs a second factor: confirm with your authenticator app "
                           "(POST /v1/session/step-up) or sign in with a passkey.", kind="second-factor-required")  # fmt: skip
    if fresh and ROLES.index(principal.role) >= ROLES.index("admin"):
        window = get_settings().step_up_s
        if not principal.mfa_at or time.time() - principal.mfa_at > window:
            raise Problem(403, f"Key operations need a second factor shown in the last {window // 60} minutes: "
                               "confirm again (POST /v1/session/step-up) or sign in with a passkey.",
                          kind="second-factor-required")  # fmt: skip


def may_grant(principal: AdminPrincipal, role: str) -> None:
    """403 unless ``role`` is at or below the caller's own (nobody hands out more than they hold)."""
    if ROLES.index(role) > ROLES.index(principal.role):
        raise Problem(403, f"You cannot grant the {role} role; it is above your own ({principal.role}).")


def may_act_on(principal: AdminPrincipal, role: str) -> None:
    """403 unless a member or token with ``role`` is at or below the caller's own role."""
    if ROLES.index(role) > ROLES.index(principal.role):
        raise Problem(403, f"You cannot change or remove a {role}; it is above your own role ({principal.role}).")
