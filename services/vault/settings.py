"""Vault settings. Master keys come from ``BASTION_MASTER_KEYS`` or ``BASTION_MASTER_KEYS_FILE``."""

from __future__ import annotations

from libs.svc.settings import BaseSettings, load


class VaultSettings(BaseSettings, frozen=True, kw_only=True):
    """Vault's own knobs (the keyring is read separately so it never sits in a settings repr)."""

    pool_size: int = 10
    route_cache_ttl_s: float = 5.0
    probe_timeout_s: float = 10.0  # a provider test call, whole (the management API waits a little longer)


def get_settings() -> VaultSettings:
    """Settings from the environment."""
    return load(VaultSettings)
