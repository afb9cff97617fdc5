"""The one registry of PII and secret types: detectors emit them, policies select them, findings carry them.

Each type is defined once: its name (what a ``Finding.type`` and a span carry), its family, the built-in
policy's action for it, and the label a redaction leaves in the text. ``API_KEY`` is the PII family's name
for a provider key or token: the detectors report such a value under its provider type (OPENAI_KEY, …)
and mark it as an API key, so ``API_KEY`` in a tenant's type list stands for every aliased secret type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final, Literal

__all__ = [
    "API_KEY_ALIASED",
    "PII_TYPES",
    "REGISTRY",
    "SECRET_TYPES",
    "Family",
    "GuardType",
    "TypeInfo",
    "expand",
    "family_types",
    "redaction_label",
]


class Family(StrEnum):
    PII = "pii"
    SECRET = "secret"


class GuardType(StrEnum):
    EMAIL = "EMAIL"
    PHONE = "PHONE"
    SSN = "SSN"
    CREDIT_CARD = "CREDIT_CARD"
    IP_ADDRESS = "IP_ADDRESS"
    API_KEY = "API_KEY"
    OPENAI_KEY = "OPENAI_KEY"
    ANTHROPIC_KEY = "ANTHROPIC_KEY"
    GOOGLE_API_KEY = "GOOGLE_API_KEY"
    AWS_ACCESS_KEY = "AWS_ACCESS_KEY"
    AWS_SECRET_KEY = "AWS_SECRET_KEY"
    GITHUB_TOKEN = "GITHUB_TOKEN"
    STRIPE_KEY = "STRIPE_KEY"
    SLACK_TOKEN = "SLACK_TOKEN"
    PRIVATE_KEY = "PRIVATE_KEY"
    JWT = "JWT"
    GENERIC_SECRET = "GENERIC_SECRET"


Action = Literal["redact", "monitor"]


@dataclass(frozen=True)
class TypeInfo:
    """One registered type. ``default_action`` is the built-in policy's: ``redact`` replaces the value before
    it travels on, ``monitor`` only records it. ``api_key``: the value is a provider key/token, which the PII
    label set calls API_KEY."""

    name: GuardType
    family: Family
    default_action: Action
    label: str
    api_key: bool = False


def _secret(name: GuardType, *, api_key: bool = True) -> TypeInfo:
    return TypeInfo(name, Family.SECRET, "redact", f"[REDACTED_{name}]", api_key)


def _pii(name: GuardType) -> TypeInfo:
    return TypeInfo(name, Family.PII, "monitor", f"[REDACTED_{name}]")


_T = GuardType
REGISTRY: Final[Mapping[str, TypeInfo]] = MappingProxyType(
    {
        t.name.value: t
        for t in (
            _pii(_T.EMAIL),
            _pii(_T.PHONE),
            _pii(_T.SSN),
            _pii(_T.CREDIT_CARD),
            _pii(_T.IP_ADDRESS),
            _pii(_T.API_KEY),
            _secret(_T.OPENAI_KEY),
            _secret(_T.ANTHROPIC_KEY),
            _secret(_T.GOOGLE_API_KEY),
            _secret(_T.AWS_ACCESS_KEY),
            _secret(_T.AWS_SECRET_KEY),
            _secret(_T.GITHUB_TOKEN),
            _secret(_T.STRIPE_KEY),
            _secret(_T.SLACK_TOKEN),
            _secret(_T.PRIVATE_KEY, api_key=False),
            _secret(_T.JWT),
            # a GENERIC_SECRET is an API key only when it came from a key/token-named assignment or a
            # provider pattern, not from a password: the detector decides per finding
            _secret(_T.GENERIC_SECRET, api_key=False),
        )
    }
)


def family_types(family: Family) -> frozenset[str]:
    return frozenset(n for n, t in REGISTRY.items() if t.family is family)


PII_TYPES: Final = family_types(Family.PII)
SECRET_TYPES: Final = family_types(Family.SECRET)
API_KEY_ALIASED: Final = frozenset(n for n, t in REGISTRY.items() if t.api_key)


def expand(types: Iterable[str]) -> frozenset[str]:
    """Registered names only, with API_KEY standing for every provider key/token type as well."""
    out = {t for t in types if t in REGISTRY}
    if GuardType.API_KEY in out:
        out |= API_KEY_ALIASED | {GuardType.GENERIC_SECRET.value}
    return frozenset(out)


def redaction_label(type_name: str) -> str:
    """What replaces a redacted value; custom-rule types (not registered) follow the same pattern."""
    info = REGISTRY.get(type_name)
    return info.label if info is not None else f"[REDACTED_{type_name}]"
