"""Validation entry point and the compiled, immutable rule set of one tenant policy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Protocol

from .patterns import compile_pattern
from .spec import MAX_RULES, RuleError, RuleHit, RuleSpec, validate_header
from .terms import compile_terms
from .topics import compile_topics

__all__ = ["HIT_TYPES", "CompiledRules", "validate"]


class _Matcher(Protocol):
    def find(self, text: str) -> list[tuple[int, int]]: ...


_COMPILERS: Final[dict[str, Callable[[dict[str, Any]], _Matcher]]] = {
    "blocked_terms": compile_terms,
    "regex": compile_pattern,
    "topic_restriction": compile_topics,
}
HIT_TYPES: Final = {"blocked_terms": "BLOCKED_TERM", "regex": "CUSTOM_REGEX", "topic_restriction": "OFF_TOPIC"}


def _compile(spec: RuleSpec) -> _Matcher:
    validate_header(spec)
    try:
        return _COMPILERS[spec.kind](spec.config)
    except RuleError as exc:
        raise RuleError(f"rule {spec.id!r}: {exc}") from None


def validate(spec: RuleSpec) -> None:
    """Raise ``RuleError`` (naming the rule) if ``spec`` would not compile; compiles and discards."""
    _compile(spec)


class CompiledRules:
    """A tenant's custom rules, compiled once; ``match`` is pure and safe to call from many threads."""

    __slots__ = ("_rules",)
    _rules: tuple[tuple[RuleSpec, str, _Matcher], ...]

    def __init__(self, rules: tuple[tuple[RuleSpec, str, _Matcher], ...] = ()) -> None:
        object.__setattr__(self, "_rules", rules)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("CompiledRules is immutable")

    @classmethod
    def build(cls, specs: list[RuleSpec]) -> CompiledRules:
        """Validate and compile ``specs``; raises ``RuleError`` naming the first bad rule."""
        if len(specs) > MAX_RULES:
            raise RuleError(f"too many rules: {len(specs)} (at most {MAX_RULES})")
        seen: set[str] = set()
        rules: list[tuple[RuleSpec, str, _Matcher]] = []
        for spec in specs:
            matcher = _compile(spec)
            if spec.id in seen:
                raise RuleError(f"rule {spec.id!r}: duplicate rule id")
            seen.add(spec.id)
            rules.append((spec, HIT_TYPES[spec.kind], matcher))
        return cls(tuple(rules))

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(spec.id for spec, _, _ in self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    def match(self, text: str) -> list[RuleHit]:
        """Every hit of every rule (monitor rules included), sorted by start offset, then rule order."""
        hits: list[RuleHit] = []
        for spec, hit_type, matcher in self._rules:
            for start, end in matcher.find(text):
                hits.append(RuleHit(spec.id, hit_type, spec.action, spec.monitor, start, end))
        hits.sort(key=lambda h: h.start)  # stable: ties keep rule order
        return hits
