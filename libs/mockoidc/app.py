"""A mock identity provider speaking GitHub (Enterprise) OAuth and OpenID Connect, like GitHub
and Google do — enough for the auth service's real client code (authlib, joserfc) to run against.

* ``GET /login/oauth/authorize`` (GitHub) and ``GET /authorize`` (OIDC): no login page; approves at
  once as the person named by ``login_hint`` (default ``demo``) and redirects to ``redirect_uri``
  with ``code`` and ``state``. ``code_challenge`` (S256) is required.
* ``POST /login/oauth/access_token`` and ``POST /token``: client id and secret (``mock-client`` /
  ``BASTION_MOCK_OAUTH_SECRET``, default ``mock-secret``; form or HTTP Basic), ``redirect_uri`` and ``code_verifier`` must match; a code
  works once (a second use is ``invalid_grant``) and for 60 s. OIDC answers carry an RS256
  ``id_token`` with the authorize request's ``nonce``.
* ``GET /api/v3/user``, ``/api/v3/user/emails``, ``/api/v3/user/orgs`` (GitHub Enterprise's API).
* ``GET /.well-known/openid-configuration``, ``GET /jwks``.

People (``PEOPLE``): ``demo`` (verified, org ``bastion-demo``, domain ``bastion.local``),
``unverified`` (primary e-mail not verified), ``outsider`` (org ``elsewhere``, domain ``other.example``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from litestar import Litestar, Request, Response, get, post
from litestar.response import Redirect

from libs.stack.config import DEMO_SUBJECT, MOCK_OAUTH_CLIENT

CLIENT_ID, CLIENT_SECRET = MOCK_OAUTH_CLIENT  # fixed, public test credentials


@dataclass(frozen=True)
class Person:
    """Someone the mock signs in."""

    id: int
    login: str
    email: str
    verified: bool
    orgs: tuple[str, ...]
    domain: str


PEOPLE = {
    "demo": Person(int(DEMO_SUBJECT), "demo", "demo@bastion.local", True, ("bastion-demo",), "bastion.local"),
    "unverified": Person(1002, "unverified", "unverified@bastion.local", False, ("bastion-demo",), "bastion.local"),
    "outsider": Person(1003, "outsider", "outsider@other.example", True, ("elsewhere",), "other.example"),
}


@dataclass
class _Grant:
    person: Person
    redirect_uri: str
    challenge: str
    nonce: str
    issued: float
    used: bool = False


class Provider:
    """The mock's state: signing key, outstanding codes, access tokens."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "mock-1", "use": "sig", "alg": "RS256"})
        self.codes: dict[str, _Grant] = {}
        self.tokens: dict[str, Person] = {}


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _client_ok(request: Request[Any, Any, Any], form: dict[str, str]) -> bool:
    expected: str = request.app.state.client_secret
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    basic = request.headers.get("authorization", "")
    if basic.lower().startswith("basic "):
        client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
    return client_id == CLIENT_ID and hmac.compare_digest(secret.encode(), expected.encode())


def _issuer(request: Request[Any, Any, Any]) -> str:
    return str(request.base_url).rstrip("/")


def _authorize(request: Request[Any, Any, Any]) -> Response[Any]:
    q = request.query_params
    person = PEOPLE.get(q.get("login_hint") or "demo")
    if q.get("client_id") != CLIENT_ID or person is None or q.get("code_challenge_method") != "S256":
        return Response({"error": "invalid_request"}, status_code=400)
    code = secrets.token_urlsafe(24)
    provider: Provider = request.app.state.provider
    provider.codes[code] = _Grant(person, q.get("redirect_uri", ""), q.get("code_challenge", ""),
                                  q.get("nonce", ""), time.time())  # fmt: skip
    return Redirect(f"{q.get('redirect_uri', '')}?{urlencode({'code': code, 'state': q.get('state', '')})}")


async def _token(request: Request[Any, Any, Any], oidc: bool) -> Response[Any]:
    form = dict(await request.form())
    provider: Provider = request.app.state.provider
    grant = provider.codes.get(form.get("code", ""))
    if not _client_ok(request, form):
        return Response({"error": "invalid_client"}, status_code=401)
    if (grant is None or grant.used or time.time() - grant.issued > 60 or grant.redirect_uri != form.get("redirect_uri")
            or _s256(form.get("code_verifier", "")) != grant.challenge):  # fmt: skip
        if grant is not None:
            grant.used = True
        return Response({"error": "invalid_grant"}, status_code=400)
    grant.used = True
    access = "mock_at_" + secrets.token_urlsafe(24)
    provider.tokens[access] = grant.person
    body: dict[str, Any] = {"access_token": access, "token_type": "bearer", "scope": form.get("scope", "")}
    if oidc:
        now = int(time.time())
        p = grant.person
        claims = {"iss": _issuer(request), "aud": CLIENT_ID, "sub": str(p.id), "iat": now, "exp": now + 300,
                  "nonce": grant.nonce, "email": p.email, "email_verified": p.verified, "hd": p.domain,
                  "name": p.login}  # fmt: skip
        body["id_token"] = jwt.encode({"alg": "RS256", "kid": "mock-1"}, claims, provider.key)
    return Response(body)


def _person(request: Request[Any, Any, Any]) -> Person | None:
    provider: Provider = request.app.state.provider
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return provider.tokens.get(token) if scheme.lower() in {"bearer", "token"} else None


@get("/login/oauth/authorize", sync_to_thread=False)
def github_authorize(request: Request[Any, Any, Any]) -> Response[Any]:
    """GitHub's authorize endpoint."""
    return _authorize(request)


@get("/authorize", sync_to_thread=False)
def oidc_authorize(request: Request[Any, Any, Any]) -> Response[Any]:
    """The OIDC authorize endpoint."""
    return _authorize(request)


@post("/login/oauth/access_token")
async def github_token(request: Request[Any, Any, Any]) -> Response[Any]:
    """GitHub's token endpoint (no ID token)."""
    return await _token(request, oidc=False)


@post("/token")
async def oidc_token(request: Request[Any, Any, Any]) -> Response[Any]:
    """The OIDC token endpoint."""
    return await _token(request, oidc=True)


@get("/api/v3/user", sync_to_thread=False)
def user(request: Request[Any, Any, Any]) -> Response[Any]:
    """The signed-in GitHub user."""
    p = _person(request)
    return (
        Response({"message": "Bad credentials"}, status_code=401)
        if p is None
        else Response({"id": p.id, "login": p.login, "name": p.login, "email": None})
    )


@get("/api/v3/user/emails", sync_to_thread=False)
def emails(request: Request[Any, Any, Any]) -> Response[Any]:
    """The user's e-mail addresses: the primary one, verified or not, and an unverified extra."""
    p = _person(request)
    if p is None:
        return Response({"message": "Bad credentials"}, status_code=401)
    return Response([{"email": f"other-{p.login}@example.com", "primary": False, "verified": False},
                     {"email": p.email, "primary": True, "verified": p.verified}])  # fmt: skip


@get("/api/v3/user/orgs", sync_to_thread=False)
def orgs(request: Request[Any, Any, Any]) -> Response[Any]:
    """The user's organisations."""
    p = _person(request)
    return (
        Response({"message": "Bad credentials"}, status_code=401)
        if p is None
        else Response([{"login": o} for o in p.orgs])
    )


@get("/.well-known/openid-configuration", sync_to_thread=False)
def discovery(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """OIDC discovery."""
    base = _issuer(request)
    return {"issuer": base, "authorization_endpoint": f"{base}/authorize", "token_endpoint": f"{base}/token",
            "jwks_uri": f"{base}/jwks", "response_types_supported": ["code"],
            "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256"]}  # fmt: skip


@get("/jwks", sync_to_thread=False)
def jwks(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The public signing key."""
    provider: Provider = request.app.state.provider
    return {"keys": [provider.key.as_dict(private=False)]}


def create_app(client_secret: str = "") -> Litestar:
    """The mock provider app; the client secret is ``client_secret``, else
    ``BASTION_MOCK_OAUTH_SECRET``, else the public test one."""
    app = Litestar(route_handlers=[github_authorize, oidc_authorize, github_token, oidc_token, user, emails, orgs,
                                   discovery, jwks], debug=False)  # fmt: skip
    app.state.provider = Provider()
    app.state.client_secret = client_secret or os.environ.get("BASTION_MOCK_OAUTH_SECRET") or CLIENT_SECRET
    return app
