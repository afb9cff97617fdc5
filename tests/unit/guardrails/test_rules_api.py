"""Custom rules: spec validation, RuleError messages, CompiledRules.build/match, monitor flag."""

from __future__ import annotations

import msgspec
import pytest

from services.guardrails.detectors.engine import Span, redact
from services.guardrails.rules import CompiledRules, RuleError, RuleHit, RuleSpec, validate


def _terms(rule_id: str = "t1", *, monitor: bool = False) -> RuleSpec:
    return RuleSpec(id=rule_id, kind="blocked_terms", action="redact", config={"terms": ["falcon"]}, monitor=monitor)


def test_spec_decodes_from_json_with_defaults() -> None:
    raw = b'{"id":"r1","kind":"regex","action":"warn","config":{"pattern":"x+"}}'
    spec = msgspec.json.decode(raw, type=RuleSpec)
    assert spec.monitor is False
    assert spec.scope == "org"
    validate(spec)


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        (RuleSpec(id="r1", kind="nope", action="block"), "unknown kind 'nope'"),
        (RuleSpec(id="r1", kind="regex", action="delete", config={"pattern": "x"}), "unknown action 'delete'"),
        (RuleSpec(id="r1", kind="regex", action="block", scope="team", config={"pattern": "x"}), "unknown scope"),
        (RuleSpec(id="", kind="regex", action="block"), "invalid rule id"),
        (RuleSpec(id="builtin.secrets", kind="regex", action="block"), "reserved"),
        (RuleSpec(id="r1", kind="regex", action="block", config={"patern": "x"}), "unknown config key(s) ['patern']"),
        (RuleSpec(id="r1", kind="blocked_terms", action="block", config={"terms": []}), "non-empty list"),
        (RuleSpec(id="r1", kind="blocked_terms", action="block", config={"terms": ["ok", 3]}), "term #2"),
        (RuleSpec(id="r1", kind="blocked_terms", action="block", config={"terms": ["\u200b "]}), "empty"),
        (
            RuleSpec(id="r1", kind="blocked_terms", action="block", config={"terms": ["x"], "whole_words": 1}),
            "'whole_words' must be true or false",
        ),
        (RuleSpec(id="r1", kind="topic_restriction", action="block", config={}), "allowed_topics"),
    ],
)
def test_validate_rejects_with_clear_message(spec: RuleSpec, fragment: str) -> None:
    with pytest.raises(RuleError) as exc:
        validate(spec)
    assert fragment in str(exc.value)
    assert isinstance(exc.value, ValueError)


def test_error_names_rule_and_never_echoes_huge_input() -> None:
    huge = "k" * 100_000
    with pytest.raises(RuleError) as exc:
        validate(RuleSpec(id="r-big", kind=huge, action="block"))
    assert "'r-big'" in str(exc.value)
    assert len(str(exc.value)) < 200
    with pytest.raises(RuleError) as exc:
        validate(RuleSpec(id="r-big", kind="blocked_terms", action="block", config={"terms": [huge]}))
    assert "too long" in str(exc.value)
    assert len(str(exc.value)) < 200


def test_build_names_the_bad_rule_and_rejects_duplicates() -> None:
    bad = RuleSpec(id="bad-regex", kind="regex", action="block", config={"pattern": "(a)\\1"})
    with pytest.raises(RuleError, match=r"rule 'bad-regex'.*backreferences"):
        CompiledRules.build([_terms(), bad])
    with pytest.raises(RuleError, match="rule 't1': duplicate"):
        CompiledRules.build([_terms(), _terms()])


def test_match_returns_hits_for_every_kind_in_offset_order() -> None:
    rules = CompiledRules.build(
        [
            RuleSpec(id="topic", kind="topic_restriction", action="warn", config={"allowed_topics": ["billing"]}),
            RuleSpec(id="ids", kind="regex", action="redact", config={"pattern": r"\bACME-\d{4}\b"}),
            _terms("terms", monitor=True),
        ]
    )
    text = "Project Falcon code is ACME-1234, write a poem about it"
    hits = rules.match(text)
    assert hits == [
        RuleHit("topic", "OFF_TOPIC", "warn", False, 0, len(text)),
        RuleHit("terms", "BLOCKED_TERM", "redact", True, 8, 14),
        RuleHit("ids", "CUSTOM_REGEX", "redact", False, 23, 32),
    ]
    assert rules.rule_ids == ("topic", "ids", "terms")
    assert len(rules) == 3
    # offsets work with the engine's redact()
    spans = [Span(h.start, h.end, h.type) for h in hits if h.type != "OFF_TOPIC"]
    assert (
        redact(text, spans) == "Project [REDACTED_BLOCKED_TERM] code is [REDACTED_CUSTOM_REGEX], write a poem about it"
    )


def test_monitor_flag_and_action_are_carried() -> None:
    rules = CompiledRules.build([_terms(monitor=True)])
    (hit,) = rules.match("the falcon lands")
    assert hit.monitor is True
    assert hit.action == "redact"
    assert hit.rule_id == "t1"


def test_compiled_rules_is_immutable_and_empty_is_fine() -> None:
    rules = CompiledRules.build([])
    assert rules.match("anything") == []
    with pytest.raises(AttributeError):
        rules._rules = ()
