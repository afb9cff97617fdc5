"""Management API settings (``BASTION_*``)."""

from __future__ import annotations

from functools import lru_cache

from libs.svc.settings import BaseSettings, load


class ApiSettings(BaseSettings, frozen=True, kw_only=True):
    """Control-plane HTTP settings."""

    api_host: str = "127.0.0.1"
    api_port: int = 8081
    bus_timeout_s: float = 2.0
    pool_size: int = 5


@lru_cache(maxsize=1)
def get_settings() -> ApiSettings:
    """Settings from the environment (cached)."""
    return load(ApiSettings)
