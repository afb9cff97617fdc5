"""How much input a chat request sends upstream, for its USD hold: every part, not only the texts
the guardrails read — tool definitions, structured-output schemas, tool calls, names, images.

Texts count by length, images at :data:`libs.pricing.IMAGE_CHARS` each (their size is not what
they cost), anything else at the length of its JSON; the hold's estimate (``chars / 2 + 16``
tokens) then stays above what a provider bills.
"""

from __future__ import annotations

from typing import Any

import msgspec

from libs.pricing import IMAGE_CHARS
from services.edge.wire.openai import ChatRequest

_IMAGE_PARTS = frozenset({"image_url", "input_image", "image"})
_OPTIONS = frozenset({
    "model", "messages", "stream", "stream_options", "n", "max_tokens", "max_completion_tokens", "temperature",
    "top_p", "seed", "presence_penalty", "frequency_penalty", "logprobs", "top_logprobs", "parallel_tool_calls",
    "store", "user", "service_tier", "logit_bias",
})  # fmt: skip
"""Top-level fields that are options, not input (everything else counts)."""


def input_chars(payload: dict[str, Any]) -> int:
    """The characters a chat request (OpenAI's form) sends a model as input, images included."""
    total = 0
    for message in payload.get("messages") or []:
        if not isinstance(message, dict):
            total += _json_chars(message)
            continue
        for name, value in message.items():
            if name == "content":
                total += _content_chars(value)
            elif name != "role":
                total += _json_chars(value)
    for name, value in payload.items():
        if name not in _OPTIONS:
            total += _json_chars(value)
    return total


def _content_chars(content: Any) -> int:
    if isinstance(content, str):
        return len(content)
    if not isinstance(content, list):
        return _json_chars(content)
    total = 0
    for part in content:
        if isinstance(part, dict) and isinstance(part.get("text"), str) and part.get("type") in (None, "text"):
            total += len(part["text"])
        elif isinstance(part, dict) and part.get("type") in _IMAGE_PARTS:
            total += IMAGE_CHARS
        else:
            total += _json_chars(part)
    return total


def _json_chars(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, str):
        return len(value)
    try:
        return len(msgspec.json.encode(value))
    except (TypeError, msgspec.EncodeError):
        return len(str(value))


def max_tokens_field(adapter: str) -> str:
    """Where a completion limit the edge adds goes in the common (OpenAI) form: OpenAI itself
    wants ``max_completion_tokens`` (its reasoning models refuse ``max_tokens``); compatible
    servers know ``max_tokens``; the Anthropic and Gemini adapters read either."""
    return "max_completion_tokens" if adapter == "openai" else "max_tokens"


_DECLARED = frozenset(f.encode_name for f in msgspec.structs.fields(ChatRequest)) | {"_anthropic"}
_PREMIUM_TIERS = frozenset({"priority", "scale"})


def unpriced_option(payload: dict[str, Any]) -> str | None:
    """The first option of a chat request (OpenAI's form) whose cost the price table cannot know,
    else ``None``: a field the wire schema does not declare (a vendor's own knob — ``best_of``,
    ``n_predict``, ``options.num_predict`` — may multiply or lengthen the completion past the hold),
    a premium service tier, web search, or audio output. A key with a USD limit is refused these
    (its hold and its record would be at the plain text price)."""
    for name in payload:
        if name not in _DECLARED:
            return name
    if payload.get("service_tier") in _PREMIUM_TIERS:
        return f"service_tier={payload['service_tier']}"
    if payload.get("web_search_options") is not None:
        return "web_search_options"
    modalities = payload.get("modalities")
    if payload.get("audio") is not None or (isinstance(modalities, list) and "audio" in modalities):
        return "audio output"
    carried = payload.get("_anthropic")  # Messages-API fields passed to an Anthropic upstream
    if isinstance(carried, dict):
        if carried.get("service_tier") not in (None, "auto", "standard_only"):
            return f"service_tier={carried['service_tier']}"
        for name in ("container", "mcp_servers"):  # billed by the tool, not by the token
            if carried.get(name) is not None:
                return name
    return None
