"""A signed-in person on the management API: the session cookie and CSRF protection.

The cookie's value is the session's opaque secret; auth alone decides what it is worth
(``gw.auth.session_verify.v1``, no cache here). Attributes: ``HttpOnly`` (scripts cannot read it),
``SameSite=Lax`` (not sent on cross-site sub-requests or form POSTs), ``Path=/``, ``Secure`` when
served over TLS, ``Max-Age`` up to the session's absolute end. Name: ``__Host-bastion_session``
over TLS — the browser then refuses it unless Secure, host-only and Path=/, so a sibling
sub-domain cannot plant or shadow it — or ``bastion_session`` with ``Domain=COOKIE_DOMAIN``
when the operator shares it with sub-domains (or on a local plain-HTTP stack).

CSRF: every state-changing request (anything but GET, HEAD, OPTIONS) authenticated by the cookie
must carry ``x-csrf-token`` = base64url(HMAC-SHA256(K, session secret)), K derived from
``AUTH_SECRET`` for this purpose only; a page learns it from ``GET /v1/session``. A cross-site
page can make the browser send the cookie but can neither read the token nor set a custom header
without a CORS preflight the allow-list refuses. A request whose ``Origin`` (or, without one,
``Sec-Fetch-Site: cross-site``) names another site is refused too. Bearer tokens need none of
this: a browser never attaches them by itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from litestar import Request
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from libs.crypto.sealed import Sealer, decode_secret
from services.api.problems import Problem
from services.api.settings import ApiSettings, SignInSettings

BASE_NAME = "bastion_session"
HOST_NAME = "__Host-" + BASE_NAME
FLOW_NAME = "bastion_signin"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_STATE_KEY = "bastion_set_session"


@dataclass(frozen=True)
class CookiePolicy:
    """Name and attributes of the session cookie."""

    name: str
    secure: bool
    domain: str = ""

    def set(self, secret: str, expires_at: int, now: float | None = None) -> str:
        """A ``Set-Cookie`` value handing ``secret`` to the browser until ``expires_at`` (unix s)."""
        max_age = max(0, expires_at - int(time.time() if now is None else now))
        return self._attrs(f"{self.name}={secret}; Max-Age={max_age}")

    def clear(self) -> str:
        """A ``Set-Cookie`` value that makes the browser drop the cookie."""
        return self._attrs(f"{self.name}=; Max-Age=0")

    def flow(self) -> CookiePolicy:
        """The policy of the short-lived sign-in flow cookie (host-only, never shared)."""
        secure = self.secure
        return CookiePolicy(name=("__Host-" if secure else "") + FLOW_NAME, secure=secure)

    def _attrs(self, head: str) -> str:
        parts = [head, "Path=/", "HttpOnly", "SameSite=Lax"]
        if self.domain:
            parts.append(f"Domain={self.domain}")
        if self.secure:
            parts.append("Secure")
        return "; ".join(parts)


def cookie_policy(settings: ApiSettings, signin: SignInSettings) -> CookiePolicy:
    """The policy for this deployment (see the module docstring)."""
    if signin.cookie_domain:
        return CookiePolicy(name=BASE_NAME, secure=settings.cookie_secure, domain=signin.cookie_domain)
    if settings.cookie_secure:
        return CookiePolicy(name=HOST_NAME, secure=True)
    return CookiePolicy(name=BASE_NAME, secure=False)


def sealer_for(signin: SignInSettings) -> Sealer | None:
    """The sealer keyed by ``AUTH_SECRET``, or None when it is unset (sessions then refused).

    Raises:
        ValueError: ``AUTH_SECRET`` is set but weak or malformed (refuse to start).
    """
    return Sealer(decode_secret(signin.auth_secret)) if signin.auth_secret else None


def csrf_token(sealer: Sealer, secret: str) -> str:
    """The CSRF token bound to one session secret (changes when the secret is renewed)."""
    mac = hmac.new(sealer.key("csrf"), secret.encode("ascii", "replace"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def _same_site(request: Request[Any, Any, Any], allowed_origins: list[str], scheme: str) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return request.headers.get("sec-fetch-site", "same-origin") in {"same-origin", "same-site", "none"}
    if origin in allowed_origins:
        return True
    # an origin is scheme + host + port (RFC 6454): http://api.example is not https://api.example
    parts = urlsplit(origin)
    return parts.scheme == scheme and bool(parts.netloc) and parts.netloc == request.headers.get("host", "")


def check_csrf(request: Request[Any, Any, Any], sealer: Sealer, secret: str, allowed_origins: list[str],
               scheme: str = "https") -> None:  # fmt: skip
    """403 unless a state-changing cookie request proves it comes from our own pages.

    ``scheme`` is the one browsers reach the API by: ``https`` unless the deployment says it is
    served over plain HTTP (``BASTION_COOKIE_SECURE=false``); the request's own scheme would say
    ``http`` behind a TLS-terminating proxy.
    """
    if request.method in SAFE_METHODS:
        return
    if not _same_site(request, allowed_origins, scheme):
        raise Problem(403, "Cross-site request refused.", kind="csrf")
    presented = request.headers.get(CSRF_HEADER, "")
    if not presented or not hmac.compare_digest(presented.encode(), csrf_token(sealer, secret).encode()):
        raise Problem(403, f"A state-changing request with a session cookie needs the {CSRF_HEADER} header "
                           "from GET /v1/session.", kind="csrf")  # fmt: skip


def hand_out(request: Request[Any, Any, Any], set_cookie: str, csrf: str = "") -> None:
    """Have the response carry ``set_cookie`` (and the new CSRF token), whatever its status."""
    cookies, old_csrf = request.scope.setdefault("state", {}).get(_STATE_KEY, ((), ""))
    request.scope["state"][_STATE_KEY] = ((*cookies, set_cookie), csrf or old_csrf)


_PRIVATE_PREFIXES = ("/v1/session", "/v1/2fa", "/v1/passkeys", "/v1/signin")


def _private_path(path: str) -> bool:
    return path.startswith(_PRIVATE_PREFIXES)


def session_cookie_middleware(app: ASGIApp) -> ASGIApp:
    """Adds the ``Set-Cookie`` a request's authentication asked for (:func:`hand_out`) to its
    response, errors included (a refused session's cookie is cleared), and ``Cache-Control:
    no-store`` to every answer given to a session cookie or about sessions, sign-in, passkeys and
    2FA (CSRF tokens, TOTP seeds, recovery codes, session lists: never kept by a cache)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]
            await app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                state = scope.get("state", {})
                wanted = state.get(_STATE_KEY)
                headers = list(message.get("headers", []))
                if wanted is not None:
                    cookies, csrf = wanted
                    headers.extend((b"set-cookie", c.encode("latin-1")) for c in cookies)
                    if csrf:
                        headers.append((CSRF_HEADER.encode(), csrf.encode()))
                if wanted is not None or "session_secret" in state or _private_path(scope.get("path", "")):
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await app(scope, receive, send_with_cookie)

    return middleware
