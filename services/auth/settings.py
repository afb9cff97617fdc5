"""Auth service settings (``BASTION_*``)."""

from __future__ import annotations

import base64

import msgspec

from libs.svc.settings import BaseSettings, load


class AuthSettings(BaseSettings, frozen=True, kw_only=True):
    """``key_pepper`` is the server secret under which presented keys are HMAC'd (base64)."""

    key_pepper: str = ""
    cache_ttl_s: float = 30.0
    cache_size: int = 100_000
    negative_cache_ttl_s: float = 5.0
    miss_rate_per_s: float = 200.0
    """Global backstop on lookups of credentials not known to be good (per replica)."""
    source_miss_rate_per_s: float = 10.0
    """Lookups of not-known-good credentials per source (IP, IPv6 /64) per replica; beyond → 429."""
    source_miss_burst: float = 40.0
    known_good_ttl_s: float = 86_400.0
    """How long a credential that verified stays exempt from the miss budgets on this replica."""
    pool_size: int = 10
    session_idle_s: int = 3_600
    """A person's session ends after this long without a request (``BASTION_SESSION_IDLE_S``)."""
    session_lifetime_s: int = 43_200
    """…and this long after sign-in whatever happens (``BASTION_SESSION_LIFETIME_S``)."""
    session_touch_s: int = 60
    """``last_seen_at`` is written at most this often per session (the idle clock's resolution)."""
    step_up_s: int = 900
    """Adding or removing a second factor (when the person has one) needs a session that showed one
    this recently (``BASTION_STEP_UP_S``)."""
    enrol_fresh_s: int = 600
    """A person's first second factor may be added only by a session signed in this recently."""
    factor_max_failures: int = 5
    """Wrong TOTP / recovery codes in a row before the person's second-factor checks pause."""
    factor_lockout_s: int = 300
    """The first pause; each further one lasts twice as long (at most a day)."""

    def pepper(self) -> bytes:
        """The decoded pepper; refuses to run without one (fail closed)."""
        if not self.key_pepper:
            raise RuntimeError("BASTION_KEY_PEPPER is not set")
        return base64.urlsafe_b64decode(self.key_pepper + "=" * (-len(self.key_pepper) % 4))


class OAuthSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Identity providers, by the product's own names (no prefix; each with a ``_FILE`` variant).
    A provider without a client id is off."""

    github_client_id: str = ""
    github_client_secret: str = ""
    github_base_url: str = "https://github.com"
    """A GitHub Enterprise server's URL (its API at ``<base>/api/v3``), else github.com."""
    github_allowed_orgs: list[str] = []
    """When set, only members of one of these GitHub organisations may sign in."""
    google_client_id: str = ""
    google_client_secret: str = ""
    google_issuer: str = "https://accounts.google.com"
    google_allowed_domains: list[str] = []
    """When set, only accounts of these Google Workspace domains (the ID token's ``hd``) may sign in."""

    def __repr__(self) -> str:
        return (f"OAuthSettings(github_client_id={self.github_client_id!r}, google_client_id="
                f"{self.google_client_id!r}, secrets=<redacted>)")  # fmt: skip


class PasskeySettings(msgspec.Struct, frozen=True, kw_only=True):
    """WebAuthn relying party, by the product's own names (``PASSKEY_RP_ID``, ``PASSKEY_RP_NAME``,
    ``PASSKEY_ORIGINS``)."""

    passkey_rp_id: str = "localhost"
    """The registrable domain passkeys are bound to (never an IP address: browsers refuse it)."""
    passkey_rp_name: str = "Bastion"
    passkey_origins: list[str] = []
    """Origins the ceremonies may come from; empty: ``https://<rp id>``."""

    def origins(self) -> list[str]:
        """The expected origins."""
        return self.passkey_origins or [f"https://{self.passkey_rp_id}"]


def get_passkey_settings() -> PasskeySettings:
    """``PASSKEY_*`` from the environment."""
    return load(PasskeySettings, prefix="")


def get_oauth_settings() -> OAuthSettings:
    """``GITHUB_*`` and ``GOOGLE_*`` from the environment."""
    return load(OAuthSettings, prefix="")


def get_settings() -> AuthSettings:
    """Settings from the environment."""
    return load(AuthSettings)
