"""regex rules: RE2 only, creation-time rejection of unsafe shapes, linear-time matching."""

from __future__ import annotations

import time

import pytest

from services.guardrails.rules import CompiledRules, RuleError, RuleSpec, validate


def _spec(pattern: str, **config: object) -> RuleSpec:
    return RuleSpec(id="rx", kind="regex", action="block", config={"pattern": pattern, **config})


def _found(pattern: str, text: str, **config: object) -> list[str]:
    rules = CompiledRules.build([_spec(pattern, **config)])
    return [text[h.start : h.end] for h in rules.match(text)]


def test_matches_with_original_offsets_on_unicode_text() -> None:
    text = "🌳 Ünïcode: ticket ACME-123456 and ACME-654321."
    rules = CompiledRules.build([_spec(r"\bACME-\d{6}\b")])
    hits = rules.match(text)
    assert [text[h.start : h.end] for h in hits] == ["ACME-123456", "ACME-654321"]
    assert {h.type for h in hits} == {"CUSTOM_REGEX"}


def test_case_insensitive_flag() -> None:
    assert _found("secret", "Secret SECRET secret") == ["secret"]
    assert _found("secret", "Secret SECRET secret", flags="i") == ["Secret", "SECRET", "secret"]


@pytest.mark.parametrize(
    ("pattern", "fragment"),
    [
        (r"(a)\1", "backreferences are not supported"),
        (r"foo(?=bar)", "look-ahead/look-behind are not supported"),
        (r"(?<!x)foo", "look-ahead/look-behind are not supported"),
        (r"(a+)+$", "nested quantifier"),
        (r"(.*a){20}", "nested quantifier"),
        (r"(.*)*x", "nested quantifier"),
        (r"(a|a)*", "alternation whose branches can match the same text"),
        (r"(\d|[0-9])+x", "alternation whose branches can match the same text"),
        (r"a*", "empty string"),
        (r"\b", "empty string"),
        (r"a.{200}c", "too complex"),
        ("a" * 1001, "too long"),
        (r"x{1001}", "invalid pattern"),
        (r"foo\Z", "use \\z"),
    ],
)
def test_unsafe_or_unsupported_patterns_rejected(pattern: str, fragment: str) -> None:
    with pytest.raises(RuleError) as exc:
        validate(_spec(pattern))
    message = str(exc.value)
    assert fragment in message
    assert message.startswith("rule 'rx': ")
    assert len(message) < 300


@pytest.mark.parametrize(
    "pattern",
    [r"(a|b)*c", r"(?:\s+\w+){0,3}\s*secret", r"(cat|car)+s", r"[(+]+x", r"\Q(a+)+\E", r"(?P<n>ab+)c", r"\pL+\d"],
)
def test_safe_patterns_accepted(pattern: str) -> None:
    validate(_spec(pattern))


def test_bad_flags_rejected() -> None:
    with pytest.raises(RuleError, match="'flags'"):
        validate(_spec("x", flags="ix!"))


def test_catastrophic_looking_input_is_linear() -> None:
    # classic ReDoS input shapes against accepted patterns: RE2 has no backtracking to explode
    rules = CompiledRules.build(
        [
            RuleSpec(id="r1", kind="regex", action="block", config={"pattern": r"(a|b)*c"}),
            RuleSpec(id="r2", kind="regex", action="block", config={"pattern": r"\d+\.\d+\.x"}),
            RuleSpec(id="r3", kind="regex", action="block", config={"pattern": r"a[ab]{20}c"}),
        ]
    )
    for text in ("a" * 100_000 + "!", "ab" * 50_000, "1." * 50_000):
        t0 = time.perf_counter()
        assert rules.match(text) == []
        assert time.perf_counter() - t0 < 2.0  # loose: catastrophic backtracking would take minutes


def test_many_matches_are_capped_and_fail_closed() -> None:
    rules = CompiledRules.build([_spec("x")])
    text = "x" * 50_000
    t0 = time.perf_counter()
    hits = rules.match(text)
    assert time.perf_counter() - t0 < 2.0  # loose: a safety check (linear time), not a benchmark
    assert len(hits) == 1001
    assert (hits[-1].start, hits[-1].end) == (1000, len(text))
