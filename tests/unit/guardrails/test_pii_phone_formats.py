"""Phone formats: an international number written with the national trunk digit in parentheses, and a
national-format number whose phone word sits earlier in the same sentence."""

from __future__ import annotations

from services.guardrails.detectors.pii_numeric import find_phones


def _values(text: str) -> list[str]:
    return [text[s.start : s.end] for s in find_phones(text)]


def test_trunk_zero_in_parentheses() -> None:
    text = "Switchboard: +44 (0)161 496 0738, weekdays only."
    assert _values(text) == ["+44 (0)161 496 0738"]


def test_phone_word_earlier_in_sentence() -> None:
    text = "Her mobile number is with reception, and the Paris desk is 01 45 62 88 17 as well."
    assert "01 45 62 88 17" in _values(text)


def test_phone_word_in_previous_sentence_does_not_count() -> None:
    text = "Please call us at the front desk whenever you like. The quarterly batch totals were 01 45 62 88 17 here."
    assert _values(text) == []
