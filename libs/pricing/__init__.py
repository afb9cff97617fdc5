"""Costs in integer micro-dollars (µ$), never floats: what metering charges and what a request
may cost at most (the hold its limit check takes). Shared by metering (which owns the price
table) and the edge (which admits requests from quota leases priced by metering)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_TOKENS = 4096
"""Completion tokens assumed for a request without ``max_tokens`` (``BASTION_DEFAULT_MAX_TOKENS``)."""


@dataclass(frozen=True)
class Price:
    """Micro-dollars per million tokens."""

    input: int
    output: int
    cached_input: int


def cost_micros(price: Price, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> int:
    """Cost in µ$: uncached prompt + cached prompt + completion, rounded up once."""
    cached = min(max(cached_tokens, 0), max(prompt_tokens, 0))
    pico = (
        (max(prompt_tokens, 0) - cached) * price.input
        + cached * price.cached_input
        + max(completion_tokens, 0) * price.output
    )
    return -(-pico // 1_000_000)


def estimate_prompt_tokens(chars: int) -> int:
    """An upper-bound guess: tokenizers average ~4 chars per token; count 1 per 2 chars plus slack."""
    return chars // 2 + 16


def worst_case_micros(
    price: Price | None, prompt_chars: int, max_tokens: int | None, default_max_tokens: int = DEFAULT_MAX_TOKENS
) -> int:
    """What a request can cost at most (0 for an unpriced model: nothing to hold)."""
    if price is None:
        return 0
    completion = max_tokens if max_tokens is not None else default_max_tokens
    return cost_micros(price, estimate_prompt_tokens(prompt_chars), completion)
