"""Request and response bodies of the management API (unknown fields are rejected)."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from services.api import inputs

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Role = Literal["owner", "admin", "developer", "viewer"]
Usd = Annotated[float, msgspec.Meta(ge=0, le=1_000_000)]
Rpm = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
Globs = Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=256)]], msgspec.Meta(max_length=100)]
Cidrs = Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]], msgspec.Meta(max_length=100)]
Grace = Annotated[int, msgspec.Meta(ge=0, le=86_400)]


class Body(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base of client bodies: no unknown fields, and no string a row could not store."""

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            inputs.check(getattr(self, name))


class ProjectIn(Body):
    """Create or rename a project."""

    name: Name


class KeyIn(Body):
    """Create an API key."""

    project_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    name: Annotated[str, msgspec.Meta(max_length=128)] = ""
    usage_limit_usd: Usd | None = None
    rate_limit_rpm: Rpm | None = None
    allowed_models: Globs = []
    allowed_ips: Cidrs = []
    expires_at: datetime | None = None


class KeyPatch(Body):
    """Change some of a key's settings (absent fields are left alone; null clears a limit)."""

    name: Annotated[str, msgspec.Meta(max_length=128)] | msgspec.UnsetType = msgspec.UNSET
    usage_limit_usd: Usd | msgspec.UnsetType | None = msgspec.UNSET
    rate_limit_rpm: Rpm | msgspec.UnsetType | None = msgspec.UNSET
    allowed_models: Globs | msgspec.UnsetType = msgspec.UNSET
    allowed_ips: Cidrs | msgspec.UnsetType = msgspec.UNSET
    expires_at: datetime | msgspec.UnsetType | None = msgspec.UNSET


class RotateIn(Body):
    """Rotation options: keep the old secret valid for ``grace_seconds`` (default 0: none)."""

    grace_seconds: Grace = 0


class TokenIn(Body):
    """Create a management token."""

    role: Role
    name: Annotated[str, msgspec.Meta(max_length=128)] = ""
    expires_at: datetime | None = None


class MemberIn(Body):
    """Add a user to the organisation."""

    email: Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
    role: Role
    name: Annotated[str, msgspec.Meta(max_length=128)] = ""


class MemberPatch(Body):
    """Change a member's role."""

    role: Role


class OrgPatch(Body):
    """Rename the organisation; an enterprise organisation may also set how many days its audit
    trail is kept (``null``: the default, 365)."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    audit_retention_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] | msgspec.UnsetType | None = msgspec.UNSET


def bad_cidrs(cidrs: list[str]) -> list[str]:
    """Entries of ``cidrs`` that are not IPv4/IPv6 networks."""
    bad = []
    for cidr in cidrs:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            bad.append(cidr)
    return bad
