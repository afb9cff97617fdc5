"""Result types shared by every detector (msgspec structs, immutable)."""

from __future__ import annotations

from typing import Final

import msgspec

__all__ = [
    "API_KEY_ALIASED",
    "PII_TYPES",
    "SECRET_TYPES",
    "Injection",
    "ScanResult",
    "Span",
]


class Span(msgspec.Struct, frozen=True):
    """A detected region: offsets into the ORIGINAL text (code points, end exclusive)."""

    start: int
    end: int
    type: str


class Injection(msgspec.Struct, frozen=True):
    """Prompt-injection verdict: ``score`` in [0, 1], ``label`` is "attack" or "benign"."""

    score: float
    label: str


class ScanResult(msgspec.Struct, frozen=True):
    spans: list[Span]
    injection: Injection


PII_TYPES: Final = frozenset({"EMAIL", "PHONE", "SSN", "CREDIT_CARD", "IP_ADDRESS", "API_KEY"})
SECRET_TYPES: Final = frozenset(
    {
        "OPENAI_KEY",
        "ANTHROPIC_KEY",
        "GOOGLE_API_KEY",
        "AWS_ACCESS_KEY",
        "AWS_SECRET_KEY",
        "GITHUB_TOKEN",
        "STRIPE_KEY",
        "SLACK_TOKEN",
        "PRIVATE_KEY",
        "JWT",
        "GENERIC_SECRET",
    }
)
# Secret types that are "credential-like keys/tokens of a provider" and therefore count as API_KEY
# under the PII label set. GENERIC_SECRET is aliased only when it came from a provider key pattern
# or a key/token-named assignment (not from a password), see ``secrets.Finding.api_key``.
API_KEY_ALIASED: Final = frozenset(
    {
        "OPENAI_KEY",
        "ANTHROPIC_KEY",
        "GOOGLE_API_KEY",
        "AWS_ACCESS_KEY",
        "AWS_SECRET_KEY",
        "GITHUB_TOKEN",
        "STRIPE_KEY",
        "SLACK_TOKEN",
        "JWT",
    }
)
