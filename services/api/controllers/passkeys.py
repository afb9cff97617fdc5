"""Passkeys: a signed-in person registers, lists and removes theirs; anyone signs in with one.

Each ceremony is two requests: ``…/options`` answers the WebAuthn options for the browser and a
``ceremony`` token — the challenge (and, for registration, the person) sealed with ``AUTH_SECRET``
for 5 minutes — which the second request sends back beside the credential. Auth verifies the
credential against that challenge and uses each challenge once. Sign-in bodies must be JSON, so a
cross-site form cannot post one (a JSON POST from another site needs a preflight CORS refuses).
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect

from libs.contracts import subjects
from libs.contracts.codec import Codec
from libs.contracts.messages import (
    AdminPrincipal,
    ListPasskeys,
    PasskeyChallenge,
    PasskeyList,
    PasskeyListReply,
    PasskeyOptions,
    PasskeyOptionsReply,
    PasskeySignIn,
    PasskeySignInReply,
    RegisterPasskey,
    RemovePasskey,
    SessionPrincipal,
)
from libs.crypto.sealed import Sealer, SealError
from services.api import commands
from services.api.auditing import audited, client_ip, record
from services.api.deps import Admin
from services.api.problems import Problem
from services.api.sessions import CookiePolicy, csrf_token, hand_out

CEREMONY_TTL_S = 300
_options: Codec[PasskeyOptionsReply] = Codec(PasskeyOptionsReply)
_list: Codec[PasskeyListReply] = Codec(PasskeyListReply)
_signin: Codec[PasskeySignInReply] = Codec(PasskeySignInReply)


class CeremonyIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The second half of a ceremony: the token from ``…/options`` and the browser's credential."""

    ceremony: str
    credential: dict[str, Any]
    name: str = ""


def _sealer(request: Request[Any, Any, Any]) -> Sealer:
    sealer: Sealer | None = request.app.state.sealer
    if sealer is None:
        raise Problem(503, "Passkeys are not configured on this server (AUTH_SECRET is not set).", kind="unavailable")
    return sealer


def _person(admin: AdminPrincipal) -> str:
    if not admin.user_id:
        raise Problem(403, "This needs a signed-in person (a session), not a management token.")
    return admin.user_id


def _secret(request: Request[Any, Any, Any]) -> str:
    """This request's session secret (auth checks it may change the person's second factors)."""
    return str(request.scope.get("state", {}).get("session_secret", ""))


async def _ceremony(request: Request[Any, Any, Any], purpose: str, user_id: str, name: str) -> dict[str, Any]:
    reply = await commands.ask(request, subjects.AUTH_PASSKEY_OPTIONS, PasskeyOptions(
        request_id=commands.request_id(), user_id=user_id, user_name=name,
        secret=_secret(request) if user_id else ""), _options)  # fmt: skip
    assert isinstance(reply, PasskeyChallenge)
    sealed = _sealer(request).seal(purpose, f"{reply.challenge}\n{user_id}".encode(), CEREMONY_TTL_S)
    return {"options": json.loads(reply.options_json), "ceremony": sealed}


def _challenge(request: Request[Any, Any, Any], purpose: str, token: str, user_id: str) -> str:
    try:
        challenge, _, owner = _sealer(request).open(purpose, token).decode().partition("\n")
    except (SealError, UnicodeDecodeError):
        raise Problem(400, "This passkey ceremony expired or was not started here; start again.") from None
    if owner != user_id:
        raise Problem(400, "This passkey ceremony was started by someone else; start again.")
    return challenge


class PasskeyController(Controller):
    """``/v1/passkeys`` (mine)."""

    path = "/v1/passkeys"
    tags = ["passkeys"]

    @post("/options", operation_id="passkeyRegistrationOptions", status_code=200)
    async def options(self, request: Request[Any, Any, Any], admin: Admin) -> dict[str, Any]:
        """Options to create a passkey for me (user verification and a discoverable credential required)."""
        return await _ceremony(request, "webauthn-register", _person(admin), admin.user_id)

    @post("/", operation_id="registerPasskey", status_code=201)
    async def register(self, request: Request[Any, Any, Any], admin: Admin, data: CeremonyIn) -> dict[str, Any]:
        """Add the passkey the browser created."""
        user_id = _person(admin)
        async with audited(request, admin, "passkey.added", f"user:{user_id}"):
            challenge = _challenge(request, "webauthn-register", data.ceremony, user_id)
            reply = await commands.ask(request, subjects.AUTH_PASSKEY_REGISTER, RegisterPasskey(
                request_id=commands.request_id(), user_id=user_id, challenge=challenge,
                credential_json=json.dumps(data.credential), name=data.name[:64], secret=_secret(request)),
                _list)  # fmt: skip
        assert isinstance(reply, PasskeyList)
        return {"data": [msgspec.to_builtins(p) for p in reply.passkeys]}

    @get("/", operation_id="listPasskeys")
    async def list_passkeys(self, request: Request[Any, Any, Any], admin: Admin) -> dict[str, Any]:
        """My passkeys."""
        reply = await commands.ask(request, subjects.AUTH_PASSKEY_LIST, ListPasskeys(
            request_id=commands.request_id(), user_id=_person(admin)), _list)  # fmt: skip
        assert isinstance(reply, PasskeyList)
        return {"data": [msgspec.to_builtins(p) for p in reply.passkeys]}

    @post("/{passkey_id:str}/remove", operation_id="removePasskey", status_code=200)
    async def remove(self, request: Request[Any, Any, Any], admin: Admin, passkey_id: str) -> dict[str, Any]:
        """Remove one of my passkeys."""
        user_id = _person(admin)
        async with audited(request, admin, "passkey.removed", f"passkey:{passkey_id[:64]}"):
            reply = await commands.ask(request, subjects.AUTH_PASSKEY_REMOVE, RemovePasskey(
                request_id=commands.request_id(), user_id=user_id, passkey_id=passkey_id, secret=_secret(request)),
                _list)  # fmt: skip
        assert isinstance(reply, PasskeyList)
        return {"data": [msgspec.to_builtins(p) for p in reply.passkeys]}


class PasskeySignInController(Controller):
    """``/v1/signin/passkey`` (no session needed)."""

    path = "/v1/signin/passkey"
    tags = ["sign-in"]

    @post("/options", operation_id="passkeySignInOptions", status_code=200)
    async def options(self, request: Request[Any, Any, Any]) -> dict[str, Any]:
        """Options for a discoverable sign-in (the authenticator picks the passkey)."""
        return await _ceremony(request, "webauthn-signin", "", "")

    @post("/", operation_id="passkeySignIn", status_code=303)
    async def sign_in(self, request: Request[Any, Any, Any], data: CeremonyIn) -> Response[Any]:
        """Open a session for the passkey's owner."""
        if not request.headers.get("content-type", "").startswith("application/json"):
            raise Problem(415, "Send the credential as JSON.")
        challenge = _challenge(request, "webauthn-signin", data.ceremony, "")
        reply = await commands.ask(request, subjects.AUTH_PASSKEY_SIGNIN, PasskeySignIn(
            request_id=commands.request_id(), challenge=challenge, credential_json=json.dumps(data.credential),
            client_ip=client_ip(request), user_agent=request.headers.get("user-agent", "")[:256]), _signin)  # fmt: skip
        if not isinstance(reply, SessionPrincipal):
            detail = {"provider": "passkey", "reason": getattr(reply, "code", "refused")}
            if getattr(reply, "user_id", ""):
                detail["user_id"] = reply.user_id  # type: ignore[union-attr]
            record(request, None, "session.signin_failed", "signin:passkey", success=False, status=401, detail=detail)
            raise Problem(401, getattr(reply, "reason", "Sign-in refused."))
        person = AdminPrincipal(org_id=reply.org_id, token_id="", role=reply.role, user_id=reply.user_id,
                                session_id=reply.session_id)  # fmt: skip
        record(request, person, "session.signed_in", f"session:{reply.session_id}", success=True, status=303,
               detail={"method": "passkey"})  # fmt: skip
        policy: CookiePolicy = request.app.state.cookie_policy
        hand_out(request, policy.set(reply.renewed, reply.expires_at), csrf_token(_sealer(request), reply.renewed))
        return Redirect("/v1/session", status_code=303)
