"""Sign-in with GitHub / Google: the browser leaves here and comes back here; auth does the rest.

``GET /v1/signin/{provider}`` asks auth for the provider's authorize URL and keeps ``state``, the
OIDC ``nonce`` and the PKCE verifier in a cookie sealed with ``AUTH_SECRET`` (AES-GCM, 10 minutes,
host-only, HttpOnly, SameSite=Lax), then redirects. ``GET /v1/signin/{provider}/callback`` opens
that cookie (once: it is cleared whatever happens), refuses a ``state`` that is not the sealed one
(a forged or crossed callback: login CSRF), and hands the code, verifier and nonce to auth, which
exchanges the code, verifies who it is and opens a new session; the session cookie is set and the
browser goes on to ``/v1/session``. Every sign-in and every failed attempt is audited.
"""

from __future__ import annotations

import hmac
import time
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.params import Parameter
from litestar.response import Redirect

from libs.contracts import subjects
from libs.contracts.codec import Codec
from libs.contracts.messages import (
    AdminPrincipal,
    BeginOAuth,
    BeginOAuthReply,
    CompleteOAuth,
    CompleteOAuthReply,
    OAuthStart,
    SessionPrincipal,
)
from libs.crypto.sealed import Sealer, SealError
from services.api import commands
from services.api.auditing import client_ip, record
from services.api.problems import Problem
from services.api.sessions import CookiePolicy, csrf_token, hand_out
from services.api.settings import get_settings

FLOW_TTL_S = 600
_PURPOSE = "signin-flow"
_begin: Codec[BeginOAuthReply] = Codec(BeginOAuthReply)
_complete: Codec[CompleteOAuthReply] = Codec(CompleteOAuthReply)


class _Flow(msgspec.Struct, frozen=True, array_like=True):
    provider: str
    state: str
    nonce: str
    verifier: str
    redirect_uri: str


def _sealer(request: Request[Any, Any, Any]) -> Sealer:
    sealer: Sealer | None = request.app.state.sealer
    if sealer is None:
        raise Problem(503, "Sign-in is not configured on this server (AUTH_SECRET is not set).", kind="unavailable")
    return sealer


def _redirect_uri(request: Request[Any, Any, Any], provider: str) -> str:
    """The callback URL: from ``BASTION_PUBLIC_URL``, never from the request's ``Host`` header (a
    forged Host would send the provider's code elsewhere) — except on a local plain-HTTP stack."""
    base = get_settings().public_url.rstrip("/")
    if not base:
        policy: CookiePolicy = request.app.state.cookie_policy
        if policy.secure:
            raise Problem(503, "Sign-in with an identity provider needs BASTION_PUBLIC_URL (the API's URL as "
                               "browsers reach it) on this server.", kind="unavailable")  # fmt: skip
        base = str(request.base_url).rstrip("/")
    return f"{base}/v1/signin/{provider}/callback"


def _failed(request: Request[Any, Any, Any], provider: str, status: int, why: str, user_id: str = "") -> None:
    detail = {"provider": provider[:32], "reason": why}
    if user_id:
        detail["user_id"] = user_id
    record(request, None, "session.signin_failed", f"signin:{provider[:32]}", success=False, status=status,
           detail=detail)  # fmt: skip


class SignInController(Controller):
    """``/v1/signin``."""

    path = "/v1/signin"
    tags = ["sign-in"]

    @get("/{provider:str}", operation_id="signIn", status_code=302)
    async def begin(self, request: Request[Any, Any, Any], provider: str) -> Response[Any]:
        """Send the browser to the identity provider."""
        sealer = _sealer(request)
        redirect_uri = _redirect_uri(request, provider)
        start = await commands.ask(request, subjects.AUTH_OAUTH_BEGIN, BeginOAuth(
            request_id=commands.request_id(), provider=provider, redirect_uri=redirect_uri), _begin)  # fmt: skip
        assert isinstance(start, OAuthStart)
        flow = _Flow(provider, start.state, start.nonce, start.verifier, redirect_uri)
        policy: CookiePolicy = request.app.state.cookie_policy
        sealed = sealer.seal(_PURPOSE, msgspec.json.encode(flow), FLOW_TTL_S)
        hand_out(request, policy.flow().set(sealed, int(time.time()) + FLOW_TTL_S))
        return Redirect(start.authorize_url, status_code=302)

    @get("/{provider:str}/callback", operation_id="signInCallback", status_code=303)
    async def callback(
        self, request: Request[Any, Any, Any], provider: str, code: str = "",
        returned_state: Annotated[str, Parameter(query="state")] = "", error: str = "",
    ) -> Response[Any]:  # fmt: skip
        """The provider sent the browser back: open a session, or say why not."""
        sealer = _sealer(request)
        policy: CookiePolicy = request.app.state.cookie_policy
        flow_policy = policy.flow()
        hand_out(request, flow_policy.clear())  # one use, whatever happens
        try:
            flow = msgspec.json.decode(sealer.open(_PURPOSE, request.cookies.get(flow_policy.name, "")), type=_Flow)
        except (SealError, msgspec.DecodeError, msgspec.ValidationError):
            _failed(request, provider, 400, "no_flow")
            raise Problem(400, "This sign-in was not started here or took too long; start again.") from None
        state = returned_state
        if flow.provider != provider or not state or not hmac.compare_digest(state.encode(), flow.state.encode()):
            _failed(request, provider, 400, "state_mismatch")
            raise Problem(400, "This sign-in does not match the one started in this browser; start again.")
        if error or not code:
            _failed(request, provider, 401, "provider_refused")
            raise Problem(401, "The provider did not sign you in.")
        reply = await commands.ask(request, subjects.AUTH_OAUTH_COMPLETE, CompleteOAuth(
            request_id=commands.request_id(), provider=provider, code=code[:2048], verifier=flow.verifier,
            nonce=flow.nonce, redirect_uri=flow.redirect_uri, client_ip=client_ip(request),
            user_agent=request.headers.get("user-agent", "")[:256]), _complete)  # fmt: skip
        if not isinstance(reply, SessionPrincipal):
            _failed(request, provider, 401, getattr(reply, "code", "refused"), getattr(reply, "user_id", ""))
            raise Problem(401, getattr(reply, "reason", "Sign-in refused."))
        person = AdminPrincipal(org_id=reply.org_id, token_id="", role=reply.role, user_id=reply.user_id,
                                session_id=reply.session_id)  # fmt: skip
        record(request, person, "session.signed_in", f"session:{reply.session_id}", success=True, status=303,
               detail={"method": f"oauth:{provider[:32]}"})  # fmt: skip
        hand_out(request, policy.set(reply.renewed, reply.expires_at), csrf_token(sealer, reply.renewed))
        return Redirect("/v1/session", status_code=303)
