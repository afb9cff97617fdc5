"""Prices and costs. Costs are integers in micro-dollars (µ$), never floats.

Prices are read once as decimal strings and kept as integer micro-dollars per million tokens,
so the cost of ``n`` tokens is ``n * price / 1e6`` µ$, rounded *up* to the micro-dollar (a
gateway that enforces budgets must never under-count).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

from libs.contracts.messages import UnitPrice
from libs.pricing import Price, cost_micros

__all__ = ["Price", "cost_micros", "load", "lookup", "price_of"]

DEFAULT_FILE = Path(__file__).with_name("prices.json")
_DATE_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8}|latest)$")


def _micro_per_million(value: object) -> int:
    return int(Decimal(str(value)) * 1_000_000)


def load(path: Path = DEFAULT_FILE, override: Path | None = None) -> dict[str, Price]:
    """The shipped table, with a deployment's overrides merged over it."""
    table: dict[str, Price] = {}
    for source in (path, override):
        if source is None:
            continue
        for model, entry in json.loads(source.read_text(encoding="utf-8"))["models"].items():
            input_price = _micro_per_million(entry["input"])
            table[model] = Price(
                input=input_price,
                output=_micro_per_million(entry.get("output", 0)),
                cached_input=_micro_per_million(entry.get("cached_input", entry["input"])),
            )
    return table


def lookup(table: dict[str, Price], model: str, provider: str = "") -> Price | None:
    """Exact name, then without ``provider/``, then without a date/``latest`` suffix."""
    candidates = [model]
    if "/" in model:
        candidates.append(model.split("/", 1)[1])
    candidates += [_DATE_SUFFIX.sub("", c) for c in list(candidates)]
    for name in candidates:
        if name in table:
            return table[name]
    return None


def price_of(table: dict[str, Price], model: str, default: UnitPrice | None, provider: str = "") -> Price | None:
    """The table's price of ``model``, else the provider's default price (set by an admin, carried
    by the request), else None: unpriced."""
    found = lookup(table, model, provider)
    if found is not None or default is None:
        return found
    return Price(input=default.input, output=default.output, cached_input=default.cached_input)
