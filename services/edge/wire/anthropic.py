"""Anthropic's Messages request (``POST /v1/messages``, ``/count_tokens``), every field declared.

A Messages request is translated into the OpenAI form (``formats/anthropic.py``) before anything
else, and the guardrail walker scans that translated body with the OpenAI schema: what reaches an
upstream comes only from it. These Structs validate the client's body and give the field list
that ``tests/unit/edge/test_guard_fields.py`` plants markers in, to prove every field either
reaches the upstream scanned or does not reach it at all. Content blocks are a closed union: a
block type not declared here is refused (400).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from services.edge.wire.marks import NotSent, Opaque

Model = Annotated[NotSent, msgspec.Meta(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$")]
"""A model name: no control characters (a NUL would reach the vault's and metering's queries)."""


class Struct(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Base of the wire Structs."""


class CacheControl(Struct):
    type: str
    ttl: str | None = None


class TextBlock(Struct, tag_field="type", tag="text"):
    text: str
    cache_control: CacheControl | None = None
    citations: list[Any] | None = None


class Base64Source(Struct, tag_field="type", tag="base64"):
    media_type: str
    data: Opaque


class UrlSource(Struct, tag_field="type", tag="url"):
    url: str


class FileSource(Struct, tag_field="type", tag="file"):
    file_id: Opaque


class TextSource(Struct, tag_field="type", tag="text"):
    media_type: str
    data: str


class ContentSource(Struct, tag_field="type", tag="content"):
    content: str | list[TextBlock]


class ImageBlock(Struct, tag_field="type", tag="image"):
    source: Base64Source | UrlSource | FileSource
    cache_control: CacheControl | None = None


class DocumentBlock(Struct, tag_field="type", tag="document"):
    source: Base64Source | UrlSource | FileSource | TextSource | ContentSource
    title: str | None = None
    context: str | None = None
    citations: dict[str, Any] | None = None
    cache_control: CacheControl | None = None


class ToolUseBlock(Struct, tag_field="type", tag="tool_use"):
    id: str
    name: str
    input: Any
    cache_control: CacheControl | None = None


class ToolResultBlock(Struct, tag_field="type", tag="tool_result"):
    tool_use_id: str
    content: str | list[TextBlock | ImageBlock | DocumentBlock] | None = None
    is_error: bool | None = None
    cache_control: CacheControl | None = None


class ThinkingBlock(Struct, tag_field="type", tag="thinking"):
    thinking: str
    signature: str | None = None


class RedactedThinkingBlock(Struct, tag_field="type", tag="redacted_thinking"):
    data: Opaque


Block = TextBlock | ImageBlock | DocumentBlock | ToolUseBlock | ToolResultBlock | ThinkingBlock | RedactedThinkingBlock


class Message(Struct):
    """One Messages-API turn."""

    role: Literal["user", "assistant"]
    content: str | list[Block]


class Tool(Struct):
    name: str
    description: str | None = None
    input_schema: Any = None
    type: str | None = None
    cache_control: CacheControl | None = None


class ToolChoice(Struct):
    type: str
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class Metadata(Struct):
    user_id: str | None = None


class Thinking(Struct):
    type: str
    budget_tokens: int | None = None


class McpToolConfig(Struct):
    enabled: bool | None = None
    allowed_tools: list[str] | None = None


class McpServer(Struct):
    type: str
    url: str
    name: str
    authorization_token: str | None = None
    tool_configuration: McpToolConfig | None = None


class CountRequest(Struct):
    """``POST /v1/messages/count_tokens``: a Messages request without ``max_tokens``."""

    model: Model
    messages: Annotated[list[Message], msgspec.Meta(min_length=1)]
    system: str | list[TextBlock] | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    thinking: Thinking | None = None
    mcp_servers: list[McpServer] | None = None


class MessagesRequest(CountRequest, kw_only=True):
    """``POST /v1/messages``."""

    max_tokens: Annotated[int, msgspec.Meta(ge=1)]
    stream: bool = False
    metadata: Metadata | None = None
    stop_sequences: list[str] | None = None
    temperature: float | None = None
    top_k: int | None = None
    top_p: float | None = None
    service_tier: str | None = None
    container: str | None = None
