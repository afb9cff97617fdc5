"""Per-tenant policies: built from stored rules, cached briefly, dropped when rules change."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from libs.contracts.guard_types import PII_TYPES, SECRET_TYPES, expand
from services.guardrails.policy import DEFAULT_POLICY, InjectionRule, Policy, Rule
from services.guardrails.rules import CompiledRules, RuleSpec
from services.guardrails.store import RuleRow

LoadRules = Callable[[str, str], Awaitable[list[RuleRow]]]
_CUSTOM_KINDS = frozenset({"blocked_terms", "regex", "topic_restriction"})


def _directions(direction: str) -> frozenset[str]:
    return frozenset({"input", "output"}) if direction == "both" else frozenset({direction})


def check_builtin(kind: str, config: dict[str, Any]) -> str | None:
    """Why a ``pii``/``secrets`` rule's ``types`` cannot be stored (names outside the registry or the family),
    or None. API_KEY is accepted in a secrets rule (it stands for every provider key type)."""
    if kind not in ("pii", "secrets") or "types" not in config:
        return None
    types = config["types"]
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        return "config.types must be a list of type names"
    allowed = PII_TYPES if kind == "pii" else SECRET_TYPES | {"API_KEY"}
    wrong = sorted(set(types) - allowed)
    if wrong:
        return f"config.types: not {kind} types: {', '.join(wrong)[:200]} (allowed: {', '.join(sorted(allowed))})"
    return None


def build(rows: list[RuleRow]) -> Policy:
    """The built-in policy with the tenant's overrides and custom rules applied.

    A project rule of a built-in kind overrides the org rule of that kind (rows come org first).
    """
    builtin = {r.id.split(".", 1)[1]: r for r in DEFAULT_POLICY.rules}
    injection = DEFAULT_POLICY.injection
    custom: list[RuleSpec] = []
    directions: dict[str, frozenset[str]] = {}
    for row in rows:
        if row.kind in ("pii", "secrets"):
            allowed = PII_TYPES if row.kind == "pii" else SECRET_TYPES
            # API_KEY stands for every provider key type; unknown names drop out, none left = the whole family
            types = expand(row.config.get("types", allowed)) & allowed or allowed
            builtin[row.kind] = Rule(id=row.id, types=types, action=row.action, monitor=row.monitor,
                                     directions=_directions(row.direction))  # fmt: skip
        elif row.kind == "injection":
            injection = InjectionRule(id=row.id, action=row.action, monitor=row.monitor,
                                      threshold=float(row.config.get("threshold", 0.5)))  # fmt: skip
        elif row.kind in _CUSTOM_KINDS:
            custom.append(RuleSpec(id=row.id, kind=row.kind, action=row.action, monitor=row.monitor,
                                   config=row.config, scope="project" if row.project_id else "org"))  # fmt: skip
            directions[row.id] = _directions(row.direction)
    return replace(
        DEFAULT_POLICY,
        rules=tuple(builtin.values()),
        injection=injection,
        custom=CompiledRules.build(custom) if custom else None,
        custom_directions=directions,
    )


class PolicyCache:
    """(org, project) → Policy for ``ttl_s`` seconds; ``invalidate(org)`` on a rules-changed event."""

    def __init__(self, load: LoadRules, ttl_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._load = load
        self._ttl = ttl_s
        self._clock = clock
        self._items: dict[tuple[str, str], tuple[float, Policy]] = {}

    async def get(self, org_id: str, project_id: str) -> Policy:
        """The tenant's policy (loaded on a miss)."""
        key = (org_id, project_id)
        item = self._items.get(key)
        if item is not None and item[0] > self._clock():
            return item[1]
        policy = build(await self._load(org_id, project_id))
        self._items[key] = (self._clock() + self._ttl, policy)
        return policy

    def invalidate(self, org_id: str) -> None:
        """Forget every cached policy of ``org_id``."""
        for key in [k for k in self._items if k[0] == org_id]:
            del self._items[key]
