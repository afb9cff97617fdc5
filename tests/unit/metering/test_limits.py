from __future__ import annotations

from libs.contracts.messages import LimitCheck, UnitPrice
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


def test_worst_case_holds_every_one_of_n_answers() -> None:
    price = pricing.lookup(pricing.load(), "gpt-4o")
    assert price is not None
    one = limits.worst_case_micros(price, check(prompt_chars=100, max_tokens=10))
    three = limits.worst_case_micros(price, check(prompt_chars=100, max_tokens=10, n=3))
    assert three - one == 2 * 100  # two more answers of 10 tokens at $10/M; the prompt is billed once
    # the default completion size counts n times too
    assert limits.worst_case_micros(price, check(n=2), default_max_tokens=1000) == 20_040


def test_a_model_the_table_lacks_is_priced_at_the_providers_default_or_not_at_all() -> None:
    table = pricing.load()
    default = UnitPrice(input=1_000_000, output=3_000_000, cached_input=500_000)
    assert pricing.price_of(table, "gpt-4o", default) == pricing.lookup(table, "gpt-4o")  # the table wins
    assert pricing.price_of(table, "my-local-llama", default) == pricing.Price(1_000_000, 3_000_000, 500_000)
    assert pricing.price_of(table, "my-local-llama", None) is None
    refused = limits.unpriced(check(model="my-local-llama"))
    assert refused.code == "metering.model_unpriced"
    assert "no price" in refused.reason
    assert "usage_limit_usd" in refused.reason
