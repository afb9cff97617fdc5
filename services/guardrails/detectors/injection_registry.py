"""The injection rule registry: every rule is a typed entry, checked when the registry is built.

A rule runs only when every gate group has a literal hit (one Aho-Corasick pass over the normalised text),
fires at most once, and weights combine as ``1 - prod(1 - w)`` (see ``injection``). An ``anchored`` rule is
matched only where a keyword of its first gate group starts, so that group's keywords must start exactly
where a match starts. A leading ``\\b`` is stripped at compile time (it disables ``re``'s first-character
skip) and re-checked by the scorer.

Examples (texts that must fire the rule) and counter-examples (texts that pass its gates but must not fire
it) live in ``injection_examples.json`` beside this module, keyed by rule name; a unit test runs every one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from importlib import resources
from typing import Final

__all__ = ["Family", "InjectionRule", "RuleMaker", "check_unique", "load_examples"]

Gates = tuple[tuple[str, ...], ...]
_NAME: Final = re.compile(r"[a-z][a-z0-9_]*")


class Family(StrEnum):
    HIJACK = "hijack"
    EXTRACTION = "extraction"
    ROLE = "role"
    REFUSAL = "refusal"
    DELIMITER = "delimiter"
    SMUGGLING = "smuggling"
    EXFILTRATION = "exfiltration"
    ENCODED = "encoded"
    MULTILINGUAL = "multilingual"


@dataclass(frozen=True)
class InjectionRule:
    """One weighted feature: ``pattern`` runs over normalised (casefolded) text when every gate group hits."""

    name: str
    family: Family
    weight: float
    gates: Gates
    pattern: str
    anchored: bool = False
    examples: tuple[str, ...] = field(default=(), compare=False)
    counter_examples: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"rule name {self.name!r}: lowercase letters, digits and _ only")
        if not 0.0 < self.weight < 1.0:
            raise ValueError(f"rule {self.name}: weight must be in (0, 1)")
        if not self.gates or not all(self.gates) or any(w != w.lower() for g in self.gates for w in g):
            raise ValueError(f"rule {self.name}: every gate group needs lowercase keywords")

    @cached_property
    def compiled(self) -> re.Pattern[str]:
        return re.compile(_strip_leading_boundaries(self.pattern), re.DOTALL)

    def gate_tags(self) -> frozenset[str]:
        return frozenset(f"{self.name}#{i}" for i in range(len(self.gates)))


class RuleMaker:
    """``rule = RuleMaker(Family.X)`` then ``rule(name, weight, gates, pattern)`` in a family module."""

    def __init__(self, family: Family) -> None:
        self.family = family

    def __call__(
        self, name: str, weight: float, gates: Gates, pattern: str, *, anchored: bool = False
    ) -> InjectionRule:
        return InjectionRule(name, self.family, weight, gates, pattern, anchored)


def check_unique(*rules: InjectionRule) -> tuple[InjectionRule, ...]:
    seen: set[str] = set()
    for r in rules:
        if r.name in seen:
            raise ValueError(f"duplicate injection rule name {r.name!r}")
        seen.add(r.name)
    return rules


def load_examples(rules: Iterable[InjectionRule]) -> tuple[InjectionRule, ...]:
    """The rules with their examples and counter-examples from the data file (for tests and tooling)."""
    data = json.loads(resources.files(__package__).joinpath("injection_examples.json").read_text(encoding="utf-8"))
    out = []
    for r in rules:
        entry = data.get(r.name, {})
        out.append(
            InjectionRule(r.name, r.family, r.weight, r.gates, r.pattern, r.anchored,
                          tuple(entry.get("examples", ())), tuple(entry.get("counter_examples", ())))
        )  # fmt: skip
    return tuple(out)


def _strip_leading_boundaries(pattern: str) -> str:
    """Drop ``\\b`` at the start of each top-level alternative (see module docstring)."""
    out: list[str] = []
    depth = 0
    i = 0
    in_class = False
    at_branch_start = True
    while i < len(pattern):
        ch = pattern[i]
        if at_branch_start and pattern.startswith("\\b", i):
            i += 2
            continue
        at_branch_start = False
        if ch == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            at_branch_start = True
        out.append(ch)
        i += 1
    return "".join(out)
