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


@lru_cache(maxsize=1)
def get_settings() -> ApiSettings:
    """Settings from the environment (cached)."""
    settings = load(ApiSettings)
    extra = [o.strip() for o in os.environ.get("ORIGIN_URLS", "").split(",") if o.strip()]
    if extra:
        settings = msgspec.structs.replace(settings, origin_urls=[*settings.origin_urls, *extra])
    return settings
