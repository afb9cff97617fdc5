from __future__ import annotations

import json
from pathlib import Path

from services.metering import pricing


def test_costs_are_integer_micro_dollars_rounded_up() -> None:
    table = pricing.load()
    price = pricing.lookup(table, "gpt-4o")
    assert price == pricing.Price(input=2_500_000, output=10_000_000, cached_input=1_250_000)
    # 1M prompt + 1M completion tokens of gpt-4o = $12.50
    assert pricing.cost_micros(price, 1_000_000, 1_000_000) == 12_500_000
    # 1 token at $2.50/M is 2.5 µ$ -> 3 µ$ (never under-count)
    assert pricing.cost_micros(price, 1, 0) == 3
    # cached tokens are part of the prompt and cheaper
    assert pricing.cost_micros(price, 1000, 0, cached_tokens=1000) == 1250
    assert isinstance(pricing.cost_micros(price, 123, 45, 6), int)


def test_lookup_by_provider_prefix_and_dated_names() -> None:
    table = pricing.load()
    assert pricing.lookup(table, "openai/gpt-4o-mini") == pricing.lookup(table, "gpt-4o-mini")
    assert pricing.lookup(table, "gpt-4o-2024-08-06") == pricing.lookup(table, "gpt-4o")
    assert pricing.lookup(table, "no-such-model") is None


def test_deployment_override_merges(tmp_path: Path) -> None:
    override = tmp_path / "prices.json"
    override.write_text(json.dumps({"models": {"gpt-4o": {"input": "1.1", "output": 2}, "my-model": {"input": 0.5}}}))
    table = pricing.load(override=override)
    assert table["gpt-4o"].input == 1_100_000
    assert table["gpt-4o"].cached_input == 1_100_000
    assert table["my-model"].output == 0
    assert "gpt-4o-mini" in table
