"""Auth: API-key and management-token verification."""

from __future__ import annotations

import msgspec

from libs.contracts.messages.common import Denied, Fault


class VerifyKey(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Verify a data-plane API key. ``key`` is the presented secret: never log this Struct."""

    request_id: str
    key: str
    client_ip: str = ""
    sent_at: int = 0

    def __repr__(self) -> str:
        return f"VerifyKey(request_id={self.request_id!r}, key=<redacted>)"


class KeyLimits(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Per-key limits carried in the verified principal (null/empty = no limit)."""

    usage_limit_usd: float | None = None
    rate_limit_rpm: int | None = None
    allowed_models: list[str] = []
    allowed_ips: list[str] = []


class Principal(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="ok", tag_field="kind"):
    """A verified API key: who is calling, for which project, under which limits."""

    org_id: str
    project_id: str
    key_id: str
    plan: str = "free"
    limits: KeyLimits = KeyLimits()
    cache_ttl_s: float = 0.0


AuthReply = Principal | Denied | Fault


class VerifyAdmin(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Verify a management token. ``token`` is secret: never log this Struct."""

    request_id: str
    token: str
    sent_at: int = 0
    client_ip: str = ""
    """The caller's address as the management API sees it: the source for the miss budgets."""

    def __repr__(self) -> str:
        return f"VerifyAdmin(request_id={self.request_id!r}, token=<redacted>)"


class AdminPrincipal(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="ok", tag_field="kind"):
    """A verified management token (org-scoped, bearing a role), or — built by the management
    API from a :class:`~libs.contracts.messages.sessions.SessionPrincipal`, never sent by auth —
    a signed-in person: then ``token_id`` is empty and ``user_id`` / ``session_id`` are set."""

    org_id: str
    token_id: str
    role: str
    user_id: str = ""
    session_id: str = ""
    mfa: bool = False
    """A person's session that has shown a second factor (owners and admins need it to act)."""
    mfa_at: int = 0
    """When that session last showed it (unix s): key operations of owners and admins need it recent."""

    @property
    def actor(self) -> tuple[str, str]:
        """(actor type, actor id) for audit rows: the person, else the token."""
        return ("user", self.user_id) if self.user_id else ("admin_token", self.token_id)


VerifyAdminReply = AdminPrincipal | Denied | Fault
