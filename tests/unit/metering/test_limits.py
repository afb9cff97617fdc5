from __future__ import annotations

from libs.contracts.messages import LimitCheck
from libs.pricing import estimate_prompt_tokens
from services.metering import limits, pricing


def check(**kw: object) -> LimitCheck:
    base: dict[str, object] = {"request_id": "r", "org_id": "o", "key_id": "k", "model": "gpt-4o"}
    return LimitCheck(**{**base, **kw})  # type: ignore[arg-type]


def test_worst_case_covers_prompt_estimate_and_max_tokens() -> None:
    price = pricing.lookup(pricing.load(), "gpt-4o")
    assert price is not None
    # 100 chars -> 66 prompt tokens at $2.50/M (165 µ$) + 10 completion tokens at $10/M (100 µ$)
    assert limits.worst_case_micros(price, check(prompt_chars=100, max_tokens=10)) == 265
    # without max_tokens the configured default output is held
    assert limits.worst_case_micros(price, check(prompt_chars=0), default_max_tokens=1000) == 10_040
    assert limits.worst_case_micros(None, check(prompt_chars=100)) == 0


def test_prompt_estimate_is_an_upper_bound_for_common_text() -> None:
    text = "The quick brown fox jumps over the lazy dog. " * 20
    words = len(text.split())
    assert estimate_prompt_tokens(len(text)) > words * 1.3  # ~1.3 tokens per English word
