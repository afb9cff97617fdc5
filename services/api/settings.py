"""Management API settings (``BASTION_*``)."""

from __future__ import annotations

import os
from functools import lru_cache

import msgspec

from libs.svc.settings import HttpSettings, load


class ApiSettings(HttpSettings, frozen=True, kw_only=True):
    """Control-plane HTTP settings."""

    api_host: str = "127.0.0.1"
    api_port: int = 8081
    bus_timeout_s: float = 2.0
    pool_size: int = 5
    rate_limit: int = 100
    """Requests per client IP per window."""
    rate_window_s: float = 900.0
    origin_urls: list[str] = []
    """CORS allow-list (also read from ``ORIGIN_URLS``); credentials only for these origins."""
    auth_fail_window_s: float = 60.0
    """Rejected management tokens are audited as one event per (source, reason) per window."""
    audit_public_keys: list[str] = []
    """Ed25519 public keys (base64url) trusted to sign audit checkpoints (``_FILE`` accepted);
    without one, ``GET /v1/audit/verify`` answers 503."""
    public_url: str = ""
    """The API's own URL as browsers reach it (sign-in callbacks: ``<public_url>/v1/signin/<provider>/callback``;
    registered with each identity provider). Empty: the request's own base URL."""
    step_up_s: int = 900
    """Owners and admins signed in as people need a second factor shown this recently for API-key
    and provider-key operations (``BASTION_STEP_UP_S``; auth uses the same window for factor changes)."""
    cookie_secure: bool = True
    """The API is served over TLS (production): the session cookie is ``Secure`` and, without a
    ``COOKIE_DOMAIN``, named ``__Host-bastion_session``. Only a local plain-HTTP stack sets false."""


class SignInSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The product's own names, without the ``BASTION_`` prefix (each with a ``_FILE`` variant)."""

    auth_secret: str = ""
    """Seals what a browser keeps for us and keys the CSRF tokens (base64, >= 32 random bytes).
    Unset: cookie sessions are refused (management tokens still work)."""
    cookie_domain: str = ""
    """Share the session cookie with sub-domains (then it cannot be a ``__Host-`` cookie)."""

    def __repr__(self) -> str:
        return f"SignInSettings(cookie_domain={self.cookie_domain!r}, auth_secret=<redacted>)"


@lru_cache(maxsize=1)
def get_signin_settings() -> SignInSettings:
    """``AUTH_SECRET[_FILE]``, ``COOKIE_DOMAIN[_FILE]`` from the environment (cached)."""
    return load(SignInSettings, prefix="")


@lru_cache(maxsize=1)
def get_settings() -> ApiSettings:
    """Settings from the environment (cached)."""
    settings = load(ApiSettings)
    extra = [o.strip() for o in os.environ.get("ORIGIN_URLS", "").split(",") if o.strip()]
    if extra:
        settings = msgspec.structs.replace(settings, origin_urls=[*settings.origin_urls, *extra])
    return settings
