"""Costs in integer micro-dollars (µ$), never floats: what metering charges and what a request
may cost at most (the hold its limit check takes). Shared by metering (which owns the price
table) and the edge (which admits requests from quota leases priced by metering)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_TOKENS = 4096
"""Completion tokens assumed for a request without ``max_tokens`` (``BASTION_DEFAULT_MAX_TOKENS``);
for a key with a USD limit the edge sends this value upstream, so the hold is what can be billed."""

IMAGE_PROMPT_TOKENS = 1600
"""Input tokens held per image part: above what OpenAI (gpt-4o class, high detail), Anthropic
(~1.15 megapixels) and Gemini bill for one image."""
IMAGE_CHARS = 2 * IMAGE_PROMPT_TOKENS
"""An image part in the character count the hold is estimated from (:func:`estimate_prompt_tokens`)."""

HOLD_MAX_MICROS = 2**53
"""The largest hold (about $9 billion): above any USD limit, so such a request is refused as over
its limit, and small enough that spent + reserved + hold never overflows the budget's bigint."""
MAX_PRICE_MICROS = 10_000_000_000
"""The largest price accepted for a provider's default: $10,000 per million tokens."""


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
    price: Price | None,
    prompt_chars: int,
    max_tokens: int | None,
    default_max_tokens: int = DEFAULT_MAX_TOKENS,
    n: int = 1,
) -> int:
    """What a request can cost at most: its prompt once, ``n`` answers of ``max_tokens`` each
    (0 for an unpriced model: nothing to hold — a USD-limited key never gets that far)."""
    if price is None:
        return 0
    completion = max_tokens if max_tokens is not None else default_max_tokens
    return min(cost_micros(price, estimate_prompt_tokens(prompt_chars), completion * max(1, n)), HOLD_MAX_MICROS)
