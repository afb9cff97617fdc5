"""What the edge validates of client bodies (unknown fields are kept and forwarded as-is)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

NonEmpty = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
ModelName = Annotated[str, msgspec.Meta(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$")]
"""A model name: no control characters (a NUL would reach the vault's and metering's queries)."""


class StreamOptions(msgspec.Struct, kw_only=True):
    """``stream_options``."""

    include_usage: bool = False


class ChatMessage(msgspec.Struct, kw_only=True):
    """One chat message; ``content`` is a string, a list of parts, or null (tool calls)."""

    role: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    content: str | list[dict[str, Any]] | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    name: str | None = None


class ChatRequest(msgspec.Struct, kw_only=True):
    """``POST /v1/chat/completions``."""

    model: ModelName
    messages: Annotated[list[ChatMessage], msgspec.Meta(min_length=1)]
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: Annotated[int, msgspec.Meta(ge=1)] | None = None
    max_completion_tokens: Annotated[int, msgspec.Meta(ge=1)] | None = None
    n: Annotated[int, msgspec.Meta(ge=1, le=128)] | None = None


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
