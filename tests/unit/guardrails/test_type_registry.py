"""The PII/secret type registry: every registered type has a detector, detectors emit only registered
types, and the policy, the tenant rules and the redaction labels all take their types from it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from libs.contracts.guard_types import (
    API_KEY_ALIASED,
    PII_TYPES,
    REGISTRY,
    SECRET_TYPES,
    Family,
    redaction_label,
)
from services.guardrails import policy as policy_mod
from services.guardrails.detectors import engine
from services.guardrails.detectors.engine import Span, detect, redact
from services.guardrails.detectors.secret_rules import PROVIDER_RULES
from services.guardrails.policy import DEFAULT_POLICY, evaluate
from services.guardrails.store import RuleRow
from services.guardrails.tenant import build, check_builtin

_ALNUM = "Zk8Qw2Lm5Np7Rt9Vw1Yb3Cd6Fg0Hj4Kl8Mn2Pq5Rs7Tu9Vx1Ab3Cd5Ef7Gh9"
_JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiIsImlhdCI6MTcwMDAwMDAwMH0.Q2xhc3NpY1NpZ25hdHVyZTEyMzQ1"
_PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7Zk8Qw2Lm\n-----END RSA PRIVATE KEY-----"
# one text per registered type that its detector must find (all values fake)
EXAMPLES: dict[str, str] = {
    "EMAIL": "write to maria.gonzalez@fastmail.fm",
    "PHONE": "call me on 212-836-4471",
    "SSN": "ssn 401-82-7710 on file",
    "CREDIT_CARD": "pay with 4024 0071 4566 3711",
    "IP_ADDRESS": "connection from 10.0.12.7 refused",
    "API_KEY": f"token ghp_{_ALNUM[:36]}",
    "OPENAI_KEY": f"OPENAI_API_KEY=sk-proj-{_ALNUM[:40]}",
    "ANTHROPIC_KEY": f"claude: sk-ant-api03-{_ALNUM}AA",
    "GOOGLE_API_KEY": f"maps AIza{_ALNUM[:35]};",
    "AWS_ACCESS_KEY": "AKIA2E0A8F3B244C9986",
    "AWS_SECRET_KEY": f"aws_secret_access_key = {_ALNUM[1:41]}",
    "GITHUB_TOKEN": f"token ghp_{_ALNUM[:36]}",
    "STRIPE_KEY": f"stripe sk_live_{_ALNUM[:24]}",
    "SLACK_TOKEN": "xoxb-2847561093-5829104736-Qw8Er7Ty6Ui5Op4As3Df2Gh1",
    "PRIVATE_KEY": _PEM + "\nthanks",
    "JWT": f"Bearer {_JWT}",
    "GENERIC_SECRET": "the wifi password is Sunfl0wer!92",
}


def _emitted(text: str) -> set[str]:
    out: set[str] = set()
    for s in detect(text):
        out.add(s.type)
        if s.api_key:
            out.add("API_KEY")
    return out


def test_every_registered_type_has_an_example() -> None:
    assert set(EXAMPLES) == set(REGISTRY)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_registered_type_has_a_detector(name: str) -> None:
    assert name in _emitted(EXAMPLES[name])


def _literal_types(path: Path) -> set[str]:
    """Type names written as literals where detectors build their results: Span(…, "X"), Finding(…, "X")."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {"Span", "Finding"}:
            args = [*node.args[2:3], *(k.value for k in node.keywords if k.arg == "type")]
            found |= {a.value for a in args if isinstance(a, ast.Constant) and isinstance(a.value, str)}
    return found


def test_detectors_emit_only_registered_types() -> None:
    detectors = Path(engine.__file__).parent
    literals = set().union(*(_literal_types(p) for p in detectors.glob("*.py")))
    assert literals, "the scan found no detector results; the test would pass vacuously"
    assert literals | {rule[0] for rule in PROVIDER_RULES} <= set(REGISTRY)
    emitted = set().union(*(_emitted(t) for t in EXAMPLES.values()))
    assert emitted <= set(REGISTRY)


def test_families_partition_the_registry() -> None:
    assert set(REGISTRY) == PII_TYPES | SECRET_TYPES
    assert not PII_TYPES & SECRET_TYPES
    assert API_KEY_ALIASED <= SECRET_TYPES
    assert all(REGISTRY[t].family is Family.PII for t in PII_TYPES)


def test_default_policy_covers_exactly_the_registry_by_family() -> None:
    assert not hasattr(policy_mod, "PII_TYPES")  # no second list of type names
    assert not hasattr(policy_mod, "SECRET_TYPES")
    by_id: dict[str, set[str]] = {}
    for rule in DEFAULT_POLICY.rules:
        by_id.setdefault(rule.id, set()).update(rule.types)
    assert by_id == {"builtin.secrets": SECRET_TYPES, "builtin.pii": PII_TYPES}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_default_policy_applies_each_types_default_action(name: str) -> None:
    rule = next(r for r in DEFAULT_POLICY.rules if name in r.types)
    info = REGISTRY[name]
    assert rule.monitor == (info.default_action == "monitor")
    assert rule.action == "redact"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_redaction_uses_the_registry_label(name: str) -> None:
    assert redact("abc secret", [Span(4, 10, name)]) == f"abc {REGISTRY[name].label}"
    assert redaction_label(name) == REGISTRY[name].label


def test_a_secrets_rule_listing_api_key_covers_provider_keys() -> None:
    row = RuleRow(id="r1", project_id=None, kind="secrets", action="block", monitor=False, direction="both",
                  config={"types": ["API_KEY"]})  # fmt: skip
    verdict = evaluate([EXAMPLES["OPENAI_KEY"]], build([row]))
    assert getattr(verdict, "rule_ids", None) == ["r1"]


def test_unknown_types_in_a_tenant_rule_fall_back_to_the_family() -> None:
    row = RuleRow(id="r2", project_id=None, kind="pii", action="redact", monitor=False, direction="both",
                  config={"types": ["NOT_A_TYPE"]})  # fmt: skip
    pii_rule = next(r for r in build([row]).rules if r.id == "r2")
    assert pii_rule.types == PII_TYPES


@pytest.mark.parametrize(
    ("kind", "config", "problem"),
    [
        ("pii", {}, None),
        ("pii", {"types": ["EMAIL", "PHONE"]}, None),
        ("secrets", {"types": ["API_KEY", "JWT"]}, None),
        ("pii", {"types": ["EMAIL", "PHNOE"]}, "PHNOE"),
        ("pii", {"types": ["OPENAI_KEY"]}, "OPENAI_KEY"),
        ("secrets", {"types": "JWT"}, "list"),
        ("injection", {"threshold": 0.7}, None),
    ],
)
def test_builtin_rule_types_are_checked_against_the_registry(
    kind: str, config: dict[str, object], problem: str | None
) -> None:
    error = check_builtin(kind, config)
    if problem is None:
        assert error is None
    else:
        assert error is not None
        assert problem in error
