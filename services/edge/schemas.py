"""Decoding and validating client bodies; the OpenAI schemas themselves are in ``wire/openai.py``
(unknown fields are kept and forwarded, and scanned as free-form text by the guardrail walker)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from services.edge.wire.openai import ChatRequest, EmbeddingsRequest

NonEmpty = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]

__all__ = ["ChatRequest", "EmbeddingsRequest", "NonEmpty", "decode_object", "validate"]


def decode_object(raw: bytes) -> dict[str, Any]:
    """Parse a JSON object; raises ``ValueError`` with a client-safe message."""
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise ValueError("We could not parse the JSON body of your request.") from None
    if not isinstance(value, dict):
        raise ValueError("The request body must be a JSON object.")
    return value


def validate(raw: dict[str, Any], schema: type[msgspec.Struct]) -> Any:
    """Check ``raw`` against ``schema``; raises ``ValueError`` naming the bad field."""
    try:
        return msgspec.convert(raw, schema)
    except msgspec.ValidationError as exc:
        raise ValueError(f"Invalid request: {exc}") from None
