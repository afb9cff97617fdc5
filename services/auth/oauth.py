"""Sign-in with GitHub (or a GitHub Enterprise server) and Google: OAuth 2.0 authorization code
with PKCE (S256), ``state`` and, for Google, an OpenID Connect ``nonce``.

Auth alone holds the client secrets. The management API only relays: it asks :meth:`OAuth.begin`
for the authorize URL and the values to keep (sealed in a cookie under ``AUTH_SECRET``), checks
``state`` when the browser comes back, and hands code, verifier and nonce to
:meth:`OAuth.complete`. What the provider says is believed only as far as it proves it:

* Google: the ID token's signature against Google's published keys (JWKS, fetched from its
  discovery document, re-fetched on an unknown key id), RS256 only, ``iss``, ``aud`` = our client
  id, ``azp`` (when present, or when there are several audiences) = our client id (OIDC Core
  3.1.3.7), ``exp``, the ``nonce`` we sealed, ``email_verified``, and ``hd`` when Workspace domains are set.
* GitHub: the token is exchanged, then the API says who it is (``/user``) and which address is
  its *verified primary* one (``/user/emails``); organisation membership from ``/user/orgs``.

A person is found by (provider, subject) — never by e-mail — through an identity linked before.
The protocol work is authlib's (``AsyncOAuth2Client``) and joserfc's (JWT, JWK); HTTP (httpx2,
which authlib's client is built on) never follows redirects and ignores proxy variables.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx2 as httpx  # what authlib's client is built on (its httpx2 compatibility layer)
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from libs.contracts.errors import Code
from libs.contracts.messages import Denied, OAuthStart, SignInRefused
from services.auth.settings import OAuthSettings

_TIMEOUT = httpx.Timeout(10.0)
_JWKS_TTL_S = 3600.0


@dataclass(frozen=True)
class Identity:
    """Who the provider vouched for."""

    provider: str  # the identity key: github, github-enterprise, google
    subject: str
    email: str


@dataclass(frozen=True)
class Provider:
    """One configured identity provider."""

    name: str
    identity_key: str
    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str
    scope: str
    api_base: str = ""
    issuer: str = ""
    allowed: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"Provider({self.name!r}, client_id={self.client_id!r}, secret=<redacted>)"


def providers(settings: OAuthSettings) -> dict[str, Provider]:
    """The providers this deployment has a client id for."""
    found: dict[str, Provider] = {}
    if settings.github_client_id:
        base = settings.github_base_url.rstrip("/")
        public = urlsplit(base).netloc == "github.com"
        orgs = tuple(o.lower() for o in settings.github_allowed_orgs)
        found["github"] = Provider(
            name="github", identity_key="github" if public else "github-enterprise",
            client_id=settings.github_client_id, client_secret=settings.github_client_secret,
            authorize_url=f"{base}/login/oauth/authorize", token_url=f"{base}/login/oauth/access_token",
            scope="read:user user:email" + (" read:org" if orgs else ""),
            api_base="https://api.github.com" if public else f"{base}/api/v3", allowed=orgs,
        )  # fmt: skip
    if settings.google_client_id:
        issuer = settings.google_issuer.rstrip("/")
        found["google"] = Provider(
            name="google", identity_key="google", client_id=settings.google_client_id,
            client_secret=settings.google_client_secret, authorize_url="", token_url="", scope="openid email profile",
            issuer=issuer, allowed=tuple(d.lower() for d in settings.google_allowed_domains),
        )  # fmt: skip
    return found


def refused(reason: str) -> SignInRefused:
    """A sign-in refusal safe to show."""
    return SignInRefused(code=str(Code.SIGNIN_REFUSED), reason=reason)


def issued_to(claims: dict[str, Any], client_id: str) -> bool:
    """The ID token was issued to us: OIDC Core 3.1.3.7 — with several audiences ``azp`` must be
    present, and when present it must be our client id (a token Google issued to another client
    that merely lists us as an audience is not ours)."""
    aud = claims.get("aud")
    several = isinstance(aud, list) and len(aud) > 1
    if "azp" in claims or several:
        return claims.get("azp") == client_id
    return True


class OAuth:
    """Begin and complete sign-ins with the configured providers."""

    def __init__(self, settings: OAuthSettings) -> None:
        self._providers = providers(settings)
        self._discovery: dict[str, dict[str, Any]] = {}
        self._jwks: dict[str, tuple[float, KeySet]] = {}

    def _client(self, provider: Provider, redirect_uri: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(client_id=provider.client_id, client_secret=provider.client_secret,
                                 code_challenge_method="S256", redirect_uri=redirect_uri, scope=provider.scope,
                                 timeout=_TIMEOUT, follow_redirects=False, trust_env=False)  # fmt: skip

    def _http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=_TIMEOUT, follow_redirects=False, trust_env=False)

    async def _oidc(self, provider: Provider) -> dict[str, Any]:
        found = self._discovery.get(provider.name)
        if found is None:
            async with self._http() as http:
                response = await http.get(f"{provider.issuer}/.well-known/openid-configuration")
                response.raise_for_status()
                found = self._discovery[provider.name] = response.json()
        return found

    async def _keys(self, provider: Provider, *, refresh: bool = False) -> KeySet:
        cached = self._jwks.get(provider.name)
        if cached is not None and not refresh and time.monotonic() - cached[0] < _JWKS_TTL_S:
            return cached[1]
        config = await self._oidc(provider)
        async with self._http() as http:
            response = await http.get(config["jwks_uri"])
            response.raise_for_status()
            keys = KeySet.import_key_set(response.json())
        self._jwks[provider.name] = (time.monotonic(), keys)
        return keys

    async def begin(self, name: str, redirect_uri: str) -> OAuthStart | Denied:
        """The authorize URL and the state, nonce and PKCE verifier to keep until the callback."""
        provider = self._providers.get(name)
        if provider is None:
            return Denied(code=str(Code.SIGNIN_REFUSED), reason=f"Sign-in with {name[:32]} is not configured.")
        state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        url = provider.authorize_url or (await self._oidc(provider))["authorization_endpoint"]
        extra = {"nonce": nonce} if provider.issuer else {}
        async with self._client(provider, redirect_uri) as client:
            authorize_url, _ = client.create_authorization_url(url, state=state, code_verifier=verifier, **extra)
        return OAuthStart(authorize_url=authorize_url, state=state, nonce=nonce, verifier=verifier)

    async def complete(self, name: str, code: str, verifier: str, nonce: str,
                       redirect_uri: str) -> Identity | SignInRefused:  # fmt: skip
        """Exchange ``code`` and establish who signed in, or why not."""
        provider = self._providers.get(name)
        if provider is None:
            return refused("This sign-in method is not configured.")
        token_url = provider.token_url or (await self._oidc(provider))["token_endpoint"]
        async with self._client(provider, redirect_uri) as client:
            try:
                token = await client.fetch_token(token_url, code=code, code_verifier=verifier,
                                                 headers={"accept": "application/json"})  # fmt: skip
            except (OAuthError, httpx.HTTPError, ValueError):
                return refused("The provider did not accept this sign-in (expired or already used); try again.")
            if provider.issuer:
                return await self._google(provider, token, nonce)
            return await self._github(provider, client)

    async def _google(self, provider: Provider, token: dict[str, Any], nonce: str) -> Identity | SignInRefused:
        raw = token.get("id_token")
        if not isinstance(raw, str):
            return refused("The provider sent no ID token.")
        try:
            try:
                decoded = jwt.decode(raw, await self._keys(provider), algorithms=["RS256"])
            except JoseError:  # perhaps a rotated key: look again once
                decoded = jwt.decode(raw, await self._keys(provider, refresh=True), algorithms=["RS256"])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": provider.issuer}, aud={"essential": True, "value": provider.client_id},
                exp={"essential": True}, sub={"essential": True}, nonce={"essential": True, "value": nonce},
            ).validate(decoded.claims)  # fmt: skip
        except (JoseError, ValueError, httpx.HTTPError):
            return refused("The identity token could not be verified.")
        claims = decoded.claims
        if not issued_to(claims, provider.client_id):
            return refused("The identity token could not be verified.")
        if claims.get("email_verified") is not True or not claims.get("email"):
            return refused("Your e-mail address is not verified with the provider.")
        if provider.allowed and str(claims.get("hd", "")).lower() not in provider.allowed:
            return refused("Your Google account is not in a Workspace domain allowed here.")
        return Identity(provider=provider.identity_key, subject=str(claims["sub"]), email=str(claims["email"]))

    async def _github(self, provider: Provider, client: AsyncOAuth2Client) -> Identity | SignInRefused:
        try:
            user = (await client.get(f"{provider.api_base}/user")).raise_for_status().json()
            emails = (await client.get(f"{provider.api_base}/user/emails")).raise_for_status().json()
            orgs = []
            if provider.allowed:
                orgs = (await client.get(f"{provider.api_base}/user/orgs")).raise_for_status().json()
        except (httpx.HTTPError, ValueError):
            return refused("GitHub did not say who you are; try again.")
        primary = next((e for e in emails if isinstance(e, dict) and e.get("primary")), None)
        if primary is None or primary.get("verified") is not True:
            return refused("Your primary e-mail address is not verified on GitHub.")
        if provider.allowed and not {str(o.get("login", "")).lower() for o in orgs} & set(provider.allowed):
            return refused("You are not a member of a GitHub organisation allowed here.")
        return Identity(provider=provider.identity_key, subject=str(user["id"]), email=str(primary["email"]))
