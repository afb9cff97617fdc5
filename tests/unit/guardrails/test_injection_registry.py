"""The injection rule registry: typed entries, unique names, one module per family, word lists as shipped
data, and every rule's examples (must fire) and counter-examples (pass its gates, must not fire) run."""

from __future__ import annotations

import json
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

from services.guardrails.detectors import injection_families
from services.guardrails.detectors.injection import _GATE, _fire
from services.guardrails.detectors.injection_families import RULES
from services.guardrails.detectors.injection_registry import (
    Family,
    InjectionRule,
    RuleMaker,
    check_unique,
    load_examples,
)
from services.guardrails.detectors.normalize import normalize

_RULES = load_examples(RULES)
_DETECTORS = Path(injection_families.__file__).parents[1]
_ROOT = _DETECTORS.parents[2]


def _fires(rule: InjectionRule, text: str) -> tuple[bool, bool]:
    """(passes the rule's gates, the rule fires) as the scorer decides it, on normalised text."""
    norm = normalize(text).text
    found = _GATE.scan("\n" + norm)
    return rule.gate_tags() <= found.tags, rule.name in _fire(norm, found)


def test_rule_names_are_unique() -> None:
    names = [r.name for r in RULES]
    assert len(names) == len(set(names))
    dup = InjectionRule("same", Family.HIJACK, 0.3, (("x",),), "x")
    with pytest.raises(ValueError, match="duplicate"):
        check_unique(dup, dup)


@pytest.mark.parametrize(
    ("name", "weight", "gates"),
    [("Bad Name", 0.3, (("x",),)), ("ok", 1.0, (("x",),)), ("ok", 0.3, ()), ("ok", 0.3, (("Upper",),))],
)
def test_malformed_entries_are_refused(name: str, weight: float, gates: tuple[tuple[str, ...], ...]) -> None:
    with pytest.raises(ValueError, match="rule"):
        RuleMaker(Family.HIJACK)(name, weight, gates, "x")


def test_every_family_lives_in_its_own_module() -> None:
    for family in Family:
        module = getattr(injection_families, family.value)
        assert module.RULES, f"family {family} has no rules"
        assert {r.family for r in module.RULES} == {family}
    assert {r.family for r in RULES} == set(Family)


def test_examples_file_names_only_registered_rules() -> None:
    data = json.loads((_DETECTORS / "injection_examples.json").read_text(encoding="utf-8"))
    assert set(data) == {r.name for r in RULES}


@pytest.mark.parametrize("rule", _RULES, ids=lambda r: r.name)
def test_rule_examples_fire_and_counter_examples_do_not(rule: InjectionRule) -> None:
    assert rule.examples, f"{rule.name}: no example"
    assert rule.counter_examples, f"{rule.name}: no counter-example"
    for text in rule.examples:
        assert _fires(rule, text)[1], f"{rule.name} should fire on {text!r}"
    for text in rule.counter_examples:
        gated, fired = _fires(rule, text)
        assert gated, f"{rule.name}: counter-example {text!r} does not reach the pattern (gates miss)"
        assert not fired, f"{rule.name} must not fire on {text!r}"


def test_word_lists_and_examples_ship_as_package_data() -> None:
    config = tomllib.loads((_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["*"]
    for name in ("injection_words.json", "injection_examples.json"):
        assert (_DETECTORS / name).is_file()
        assert any(fnmatch(name, p) for p in patterns), f"{name} is not package data"
    assert (_DETECTORS / "__init__.py").is_file()  # a package, so setuptools ships its data
