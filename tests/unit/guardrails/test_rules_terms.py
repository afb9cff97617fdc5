"""blocked_terms rules: normalisation, whole words, one pass over many terms, original offsets."""

from __future__ import annotations

import time

import pytest

from services.guardrails.rules import MAX_HITS_PER_RULE, CompiledRules, RuleError, RuleSpec, validate


def _rules(terms: list[str], **config: object) -> CompiledRules:
    spec = RuleSpec(id="terms", kind="blocked_terms", action="redact", config={"terms": terms, **config})
    return CompiledRules.build([spec])


def _found(rules: CompiledRules, text: str) -> list[str]:
    return [text[h.start : h.end] for h in rules.match(text)]


def test_case_insensitive_by_default_and_typed() -> None:
    rules = _rules(["Project Falcon"])
    hits = rules.match("about PROJECT falcon today")
    assert [(h.type, h.start, h.end) for h in hits] == [("BLOCKED_TERM", 6, 20)]


def test_case_sensitive_option() -> None:
    rules = _rules(["Falcon"], case_sensitive=True)
    assert _found(rules, "falcon Falcon FALCON") == ["Falcon"]


def test_full_width_ligature_and_casefold_normalisation() -> None:
    rules = _rules(["falcon", "strasse", "file"])
    text = "ＦＡＬＣＯＮ on the Straße, see the \ufb01le"  # full-width, sharp s, "fi" ligature
    assert _found(rules, text) == ["ＦＡＬＣＯＮ", "Straße", "\ufb01le"]


def test_decomposed_accents_and_zero_width_splitting() -> None:
    rules = _rules(["café", "secret"])
    text = "a cafe\u0301 and a se\u200bcr\u00adet"
    assert _found(rules, text) == ["cafe\u0301", "se\u200bcr\u00adet"]


def test_offsets_are_original_after_expanding_characters() -> None:
    rules = _rules(["falcon"])
    text = "ß\ufb01 ＦＡＬＣＯＮ!"  # both folded characters before the hit change length
    (hit,) = rules.match(text)
    assert text[hit.start : hit.end] == "ＦＡＬＣＯＮ"


def test_whole_words_default_and_off() -> None:
    text = "falconry, falcon_x, falcons and a falcon."
    assert _found(_rules(["falcon"]), text) == ["falcon"]
    assert _found(_rules(["falcon"], whole_words=False), text) == ["falcon"] * 4


def test_whole_word_boundary_only_applies_to_word_edges() -> None:
    rules = _rules(["c++", "$sku"])
    # "+" and "$" are not word characters, so no boundary is required on that side
    assert _found(rules, "we use c++17 and $sku9") == ["c++"]
    assert _found(rules, "xc++ and a$sku") == ["$sku"]


def test_cjk_terms_match_inside_running_text() -> None:
    assert _found(_rules(["機密"]), "これは機密情報です") == ["機密"]


def test_longest_non_overlapping_match_and_overlap_fallback() -> None:
    rules = _rules(["bad", "bad guy"])
    assert _found(rules, "a bad guy here") == ["bad guy"]
    assert _found(rules, "bad guys") == ["bad"]  # "bad guy" fails the whole-word check, "bad" does not


def test_ten_thousand_terms_in_one_pass() -> None:
    terms = [f"codename{i:05d}" for i in range(10_000)]
    t0 = time.perf_counter()
    rules = _rules(terms)
    build = time.perf_counter() - t0
    text = ("routine status update with nothing special " * 12) + "codename09999 and CODENAME00042"
    t0 = time.perf_counter()
    for _ in range(100):
        found = _found(rules, text)
    per_match = (time.perf_counter() - t0) / 100
    assert found == ["codename09999", "CODENAME00042"]
    assert build < 2.0
    assert per_match < 0.005  # loose: a safety check, not a benchmark


def test_too_many_terms_rejected() -> None:
    spec = RuleSpec(id="big", kind="blocked_terms", action="block", config={"terms": ["x"] * 10_001})
    with pytest.raises(RuleError, match="too many terms: 10001"):
        validate(spec)


def test_pathological_overlaps_fail_closed_and_stay_bounded() -> None:
    rules = _rules(["a" * i for i in range(1, 201)], whole_words=False)
    text = "a" * 100_000
    t0 = time.perf_counter()
    hits = rules.match(text)
    assert time.perf_counter() - t0 < 1.0
    assert len(hits) <= MAX_HITS_PER_RULE + 1
    assert hits[-1].end == len(text)  # the uninspected rest is reported (redacted), not silently passed
