"""Prompt-injection rules, one module per family (typed entries, see ``injection_registry``)."""

from __future__ import annotations

from typing import Final

from ..injection_registry import InjectionRule, check_unique
from . import delimiter, encoded, exfiltration, extraction, hijack, multilingual, refusal, role, smuggling

__all__ = ["RULES"]

RULES: Final[tuple[InjectionRule, ...]] = check_unique(
    *hijack.RULES,
    *extraction.RULES,
    *role.RULES,
    *refusal.RULES,
    *delimiter.RULES,
    *smuggling.RULES,
    *exfiltration.RULES,
    *encoded.RULES,
    *multilingual.RULES,
)
