"""A signed-in person's own sessions: who am I (and the CSRF token), list, revoke, sign out."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, post

from libs.contracts import subjects
from libs.contracts.codec import Codec
from libs.contracts.messages import (
    AdminPrincipal,
    EnrollTotp,
    EnrollTotpReply,
    ListSessions,
    RevokeSessions,
    RevokeSessionsReply,
    SessionList,
    SessionListReply,
    SessionsRevoked,
    SteppedUp,
    StepUp,
    StepUpReply,
    TotpSeed,
)
from services.api import commands
from services.api.auditing import audited, record
from services.api.deps import Admin
from services.api.problems import Problem
from services.api.sessions import CookiePolicy, csrf_token, hand_out

_list: Codec[SessionListReply] = Codec(SessionListReply)
_revoked: Codec[RevokeSessionsReply] = Codec(RevokeSessionsReply)
_enroll: Codec[EnrollTotpReply] = Codec(EnrollTotpReply)
_step_up: Codec[StepUpReply] = Codec(StepUpReply)


class StepUpIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A TOTP code, or a recovery code."""

    code: str = ""
    recovery_code: str = ""


def _person(admin: AdminPrincipal) -> str:
    if not admin.user_id:
        raise Problem(403, "This needs a signed-in person (a session), not a management token.")
    return admin.user_id


async def _revoke(request: Request[Any, Any, Any], cmd: RevokeSessions) -> int:
    reply = await commands.ask(request, subjects.AUTH_SESSION_REVOKE, cmd, _revoked)
    assert isinstance(reply, SessionsRevoked)
    return reply.count


def _secret(request: Request[Any, Any, Any]) -> str:
    return str(request.scope.get("state", {}).get("session_secret", ""))


def _sign_out_here(request: Request[Any, Any, Any]) -> None:
    policy: CookiePolicy = request.app.state.cookie_policy
    hand_out(request, policy.clear())


class SessionController(Controller):
    """``/v1/session`` (this one) and ``/v1/sessions`` (all of mine)."""

    path = "/v1"
    tags = ["sessions"]

    @get("/session", operation_id="getSession")
    async def current(self, request: Request[Any, Any, Any], admin: Admin) -> dict[str, Any]:
        """The signed-in person, their role here, and the CSRF token state-changing requests need."""
        _person(admin)
        secret = request.scope.get("state", {}).get("session_secret", "")
        return {"user_id": admin.user_id, "org_id": admin.org_id, "role": admin.role, "session_id": admin.session_id,
                "csrf_token": csrf_token(request.app.state.sealer, secret)}  # fmt: skip

    @get("/sessions", operation_id="listSessions")
    async def list_sessions(self, request: Request[Any, Any, Any], admin: Admin) -> dict[str, Any]:
        """My live sessions in every organisation, newest first (``current`` marks this one)."""
        user_id = _person(admin)
        reply = await commands.ask(request, subjects.AUTH_SESSION_LIST,
                                   ListSessions(request_id=commands.request_id(), user_id=user_id), _list)  # fmt: skip
        assert isinstance(reply, SessionList)
        return {"data": [{"id": s.id, "org_id": s.org_id, "method": s.method, "ip": s.ip, "user_agent": s.user_agent,
                          "created_at": s.created_at, "last_seen_at": s.last_seen_at, "expires_at": s.expires_at,
                          "current": s.id == admin.session_id} for s in reply.sessions]}  # fmt: skip

    @post("/session/signout", operation_id="signOut", status_code=200)
    async def sign_out(self, request: Request[Any, Any, Any], admin: Admin) -> dict[str, Any]:
        """End this session and drop the cookie."""
        user_id = _person(admin)
        async with audited(request, admin, "session.signed_out", f"session:{admin.session_id}"):
            await _revoke(request, RevokeSessions(request_id=commands.request_id(), user_id=user_id,
                                                  session_id=admin.session_id))  # fmt: skip
            _sign_out_here(request)
        return {"signed_out": True}

    @post("/sessions/{session_id:str}/revoke", operation_id="revokeSession", status_code=200)
    async def revoke_one(self, request: Request[Any, Any, Any], admin: Admin, session_id: str) -> dict[str, Any]:
        """End one of my sessions (404 if none of mine has that id)."""
        user_id = _person(admin)
        async with audited(request, admin, "session.revoked", f"session:{session_id[:64]}"):
            count = await _revoke(request, RevokeSessions(request_id=commands.request_id(), user_id=user_id,
                                                          session_id=session_id))  # fmt: skip
            if count == 0:
                raise Problem(404, "You have no live session with this id.")
            if session_id == admin.session_id:
                _sign_out_here(request)
        return {"revoked": count}

    @post("/sessions/revoke", operation_id="revokeAllSessions", status_code=200)
    async def revoke_all(
        self, request: Request[Any, Any, Any], admin: Admin, keep_current: bool = False
    ) -> dict[str, Any]:
        """Sign out everywhere (``keep_current=true``: everywhere but here)."""
        user_id = _person(admin)
        async with audited(request, admin, "session.revoked_all", f"user:{user_id}") as detail:
            count = await _revoke(request, RevokeSessions(request_id=commands.request_id(), user_id=user_id,
                                                          keep=admin.session_id if keep_current else "",
                                                          secret=_secret(request) if keep_current else ""))  # fmt: skip
            detail["count"] = str(count)
            if not keep_current:
                _sign_out_here(request)
        return {"revoked": count}

    @post("/2fa/totp", operation_id="enrollTotp", status_code=201)
    async def enroll_totp(self, request: Request[Any, Any, Any], admin: Admin) -> dict[str, Any]:
        """A new authenticator-app seed for me, shown once; the first code (step-up) confirms it."""
        user_id = _person(admin)
        async with audited(request, admin, "totp.enrolled", f"user:{user_id}"):
            seed = await commands.ask(request, subjects.AUTH_TOTP_ENROLL, EnrollTotp(
                request_id=commands.request_id(), user_id=user_id, account=user_id,
                secret=request.scope.get("state", {}).get("session_secret", "")), _enroll)  # fmt: skip
        assert isinstance(seed, TotpSeed)
        return {"seed": seed.seed, "otpauth_uri": seed.uri}

    @post("/session/step-up", operation_id="stepUp", status_code=200)
    async def step_up(self, request: Request[Any, Any, Any], admin: Admin, data: StepUpIn) -> dict[str, Any]:
        """Show a second factor: this session gets a new id and may then act as admin or owner."""
        _person(admin)
        if bool(data.code) == bool(data.recovery_code):
            raise Problem(400, "Send either code or recovery_code.")
        secret = request.scope.get("state", {}).get("session_secret", "")
        async with audited(request, admin, "session.stepped_up", f"session:{admin.session_id}") as detail:
            detail["factor"] = "recovery_code" if data.recovery_code else "totp"
            try:
                reply = await commands.ask(request, subjects.AUTH_SESSION_STEP_UP, StepUp(
                    request_id=commands.request_id(), secret=secret, code=data.code[:16],
                    recovery_code=data.recovery_code[:32]), _step_up)  # fmt: skip
            except Problem as exc:
                if exc.kind == "second-factor-locked":  # this wrong code paused the person's checks
                    record(request, admin, "second_factor.locked", f"user:{admin.user_id}", success=False,
                           status=429, detail={"factor": detail["factor"]})  # fmt: skip
                raise
            assert isinstance(reply, SteppedUp)
            policy: CookiePolicy = request.app.state.cookie_policy
            hand_out(request, policy.set(reply.session.renewed, reply.session.expires_at),
                     csrf_token(request.app.state.sealer, reply.session.renewed))  # fmt: skip
        out: dict[str, Any] = {"mfa": True, "csrf_token": csrf_token(request.app.state.sealer, reply.session.renewed)}
        if reply.recovery_codes:
            out["recovery_codes"] = reply.recovery_codes
        return out
