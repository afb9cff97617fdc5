"""Key and token management commands (management API → auth) and cache invalidation events.

Only auth knows the pepper and writes credential hashes; the management API asks it to.
"""

from __future__ import annotations

import msgspec

from libs.contracts.messages.auth import KeyLimits
from libs.contracts.messages.common import Denied, Fault


class Actor(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Who asked (for auth's own audit trail)."""

    type: str
    id: str
    ip: str = ""
    user_agent: str = ""


class IssueKey(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Create an API key in a project."""

    request_id: str
    org_id: str
    project_id: str
    name: str = ""
    limits: KeyLimits = KeyLimits()
    expires_at: int | None = None  # unix seconds
    actor: Actor | None = None


class RotateKey(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Replace a key's secret; the old one stops working at once unless ``grace_s`` > 0."""

    request_id: str
    org_id: str
    key_id: str
    grace_s: int = 0
    actor: Actor | None = None


class RevokeKey(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Revoke a key for good."""

    request_id: str
    org_id: str
    key_id: str
    actor: Actor | None = None


class UpdateKey(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Replace a key's name, limits and expiry (the caller merges partial updates)."""

    request_id: str
    org_id: str
    key_id: str
    name: str
    limits: KeyLimits
    expires_at: int | None = None
    actor: Actor | None = None


class IssueToken(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Create a management token bearing ``role``."""

    request_id: str
    org_id: str
    role: str
    name: str = ""
    expires_at: int | None = None
    actor: Actor | None = None


class RevokeToken(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Revoke a management token."""

    request_id: str
    org_id: str
    token_id: str
    actor: Actor | None = None
    max_role: str = ""
    """The caller's role: a token above it is refused (empty: only viewer tokens may be revoked)."""


class Issued(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="ok", tag_field="kind"):
    """A new secret, returned exactly once. Never log this Struct."""

    id: str
    secret: str
    masked: str

    def __repr__(self) -> str:
        return f"Issued(id={self.id!r}, masked={self.masked!r}, secret=<redacted>)"


class Changed(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="ok", tag_field="kind"):
    """A credential was changed (revoked, updated)."""

    id: str
    status: str


IssueReply = Issued | Denied | Fault
ChangeReply = Changed | Denied | Fault


class CredentialInvalidated(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Drop cached verifications of credential ``id`` (core NATS, every auth replica and edge)."""

    id: str
    reason: str
