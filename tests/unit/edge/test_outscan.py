"""Incremental output scanning: values split across chunks are still redacted."""

from __future__ import annotations

import re

import pytest

from libs.contracts.messages import Denied, Finding, GuardVerdict
from services.edge.outscan import OutputBlocked, StreamGuard, apply_redactions, safe_cut

SECRET = re.compile(r"sk-[A-Za-z0-9]{20,}|\b\d{4}(?:[ -]?\d{4}){3}\b")


async def fake_check(texts: list[str]) -> GuardVerdict | Denied:
    """A stand-in for the guardrails service: redacts key- and card-shaped values, blocks 'FORBIDDEN'."""
    text = texts[0]
    if "FORBIDDEN" in text:
        return Denied(code="guard.blocked", reason="Response blocked by guardrail rule(s): r1", rule_ids=["r1"])
    findings = [Finding(rule_id="builtin.secrets", type="OPENAI_KEY" if m.group().startswith("sk-") else "CREDIT_CARD",
                        action="redact", text_index=0, start=m.start(), end=m.end()) for m in SECRET.finditer(text)]  # fmt: skip
    return GuardVerdict(action="redact" if findings else "allow", findings=findings)


async def run(chunks: list[str]) -> str:
    guard = StreamGuard(check=fake_check)
    out = [await guard.feed(c) for c in chunks]
    out.append(await guard.finish())
    return "".join(out)


async def test_secret_split_across_chunks_is_redacted() -> None:
    key = "sk-" + "A1b2C3d4E5f6G7h8I9j0K1"
    text = f"Here is the key {key} keep it safe."
    for size in (1, 2, 3, 5, 7, 11):
        chunks = [text[i : i + size] for i in range(0, len(text), size)]
        out = await run(chunks)
        assert key not in out
        assert "[REDACTED_OPENAI_KEY]" in out
        assert out.startswith("Here is the key ")
        assert out.endswith(" keep it safe.")


async def test_spaced_card_split_across_chunks_is_redacted() -> None:
    out = await run(["Card: 4539 ", "1488 ", "0343 ", "6467 and more text"])
    assert "4539" not in out
    assert "[REDACTED_CREDIT_CARD]" in out


async def test_clean_text_is_released_early_and_intact() -> None:
    guard = StreamGuard(check=fake_check)
    assert await guard.feed("Hello there") == "Hello "
    assert await guard.feed(", friend.") == "there, "
    assert await guard.finish() == "friend."


async def test_block_mid_stream_raises() -> None:
    guard = StreamGuard(check=fake_check)
    await guard.feed("fine words ")
    with pytest.raises(OutputBlocked) as blocked:
        await guard.feed("FORBIDDEN thing ")
    assert blocked.value.rule_ids == ["r1"]


def test_safe_cut_holds_unterminated_pem_and_numbers() -> None:
    assert safe_cut("abc def") == 4
    assert safe_cut("call me at 555 ") == len("call me at ")
    pem = "x -----BEGIN PRIVATE KEY----- MIIB abc"
    assert safe_cut(pem) == 2


def test_apply_redactions_merges_overlaps_and_skips_monitor() -> None:
    findings = [
        Finding(rule_id="a", type="EMAIL", action="redact", text_index=0, start=0, end=5),
        Finding(rule_id="b", type="X", action="redact", text_index=0, start=3, end=8),
        Finding(rule_id="c", type="PHONE", action="redact", text_index=0, start=9, end=11, monitor=True),
    ]
    assert apply_redactions("abcdefgh ij", findings) == "[REDACTED_EMAIL][REDACTED_X] ij"
