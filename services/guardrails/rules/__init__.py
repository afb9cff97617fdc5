"""Per-tenant custom guardrail rules: blocked terms, RE2 regexes and topic restrictions (pure, no I/O).

``validate`` checks one rule when it is created; ``CompiledRules.build`` compiles a tenant's rule list
once (cache it); ``CompiledRules.match`` returns ``RuleHit`` spans in ORIGINAL ``str`` offsets, so the
detection engine's ``redact()`` can use them directly.
"""

from __future__ import annotations

from .compiled import HIT_TYPES, CompiledRules, validate
from .spec import ACTIONS, KINDS, MAX_HITS_PER_RULE, MAX_RULES, SCOPES, RuleError, RuleHit, RuleSpec

__all__ = [
    "ACTIONS",
    "HIT_TYPES",
    "KINDS",
    "MAX_HITS_PER_RULE",
    "MAX_RULES",
    "SCOPES",
    "CompiledRules",
    "RuleError",
    "RuleHit",
    "RuleSpec",
    "validate",
]
