"""OpenAI's answer formats (``chat.completion`` and ``chat.completion.chunk``), every field declared.

Every answer the client receives is in this form (Anthropic and Gemini answers are translated into
it first; a Messages-API client gets a translation of it after the output guardrails). The output
walker scans every ``str`` here unless marked: ``NotSent`` marks identifiers the provider assigns
(ids, model, finish reason, role); ``Drop`` values that cannot be scanned (log-prob byte arrays,
audio data) and are removed; ``Joined`` log-prob token lists, scanned as one text and removed if
any rule acts on them (always removed from streams). Undeclared fields are scanned free-form.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from services.edge.wire.marks import SCAN, NotSent

Drop = Annotated[Any, msgspec.Meta(extra={SCAN: "drop"})]


class Struct(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Base of the wire Structs."""


class TopLogprob(Struct):
    token: str
    logprob: float
    bytes: Drop = None


class TokenLogprob(Struct):
    token: str
    logprob: float
    bytes: Drop = None
    top_logprobs: list[TopLogprob] | None = None


Tokens = Annotated[list[TokenLogprob], msgspec.Meta(extra={SCAN: "joined"})]


class Logprobs(Struct):
    content: Tokens | None = None
    refusal: Tokens | None = None


class FunctionCall(Struct):
    name: str | None = None
    arguments: str | None = None


class CustomCall(Struct):
    name: str | None = None
    input: str | None = None


class ToolCall(Struct):
    index: int | None = None
    id: NotSent | None = None
    type: NotSent | None = None
    function: FunctionCall | None = None
    custom: CustomCall | None = None


class Audio(Struct):
    id: NotSent | None = None
    data: Drop = None
    expires_at: int | None = None
    transcript: str | None = None


class UrlCitation(Struct):
    start_index: int | None = None
    end_index: int | None = None
    url: str | None = None
    title: str | None = None


class Annotation(Struct):
    type: NotSent | None = None
    url_citation: UrlCitation | None = None


class ContentPart(Struct):
    type: NotSent | None = None
    text: str | None = None
    refusal: str | None = None


class Message(Struct):
    role: NotSent | None = None
    content: str | list[ContentPart] | None = None
    refusal: str | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None
    tool_calls: list[ToolCall] | None = None
    function_call: FunctionCall | None = None
    audio: Audio | None = None
    annotations: list[Annotation] | None = None


class Usage(Struct):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    prompt_tokens_details: dict[NotSent, int | None] | None = None
    completion_tokens_details: dict[NotSent, int | None] | None = None


class Choice(Struct):
    index: int | None = None
    finish_reason: NotSent | None = None
    message: Message | None = None
    logprobs: Logprobs | None = None


class Completion(Struct):
    """A complete answer."""

    id: NotSent | None = None
    object: NotSent | None = None
    created: int | None = None
    model: NotSent | None = None
    system_fingerprint: NotSent | None = None
    service_tier: NotSent | None = None
    choices: list[Choice] | None = None
    usage: Usage | None = None


class Delta(Message):
    """What one chunk adds to a choice (a message's fields; tool calls carry their ``index``)."""


class ChunkChoice(Struct):
    index: int | None = None
    finish_reason: NotSent | None = None
    delta: Delta | None = None
    logprobs: Logprobs | None = None


class ErrorBody(Struct):
    message: str | None = None
    type: NotSent | None = None
    param: NotSent | None = None
    code: NotSent | None = None


class Chunk(Struct):
    """One streamed chunk (or an error event in the stream)."""

    id: NotSent | None = None
    object: NotSent | None = None
    created: int | None = None
    model: NotSent | None = None
    system_fingerprint: NotSent | None = None
    service_tier: NotSent | None = None
    obfuscation: NotSent | None = None
    choices: list[ChunkChoice] | None = None
    usage: Usage | None = None
    error: ErrorBody | None = None
