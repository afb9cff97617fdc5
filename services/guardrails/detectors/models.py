"""Result types shared by every detector (msgspec structs, immutable)."""

from __future__ import annotations

import msgspec

# the type sets are the one registry's (libs/contracts/guard_types.py), re-exported for the detectors
from libs.contracts.guard_types import API_KEY_ALIASED, PII_TYPES, SECRET_TYPES

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
