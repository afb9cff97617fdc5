"""OpenAI's request formats (chat completions, embeddings), every field of the wire declared.

These Structs validate client bodies and are the guardrail walker's map of what is text: every
``str`` reached from the root is scanned unless marked (``wire/marks.py``). Fields a client sends
that are not declared here are still forwarded to OpenAI-format upstreams, so the walker treats
them as free-form JSON: every string and every object key in them is scanned. Content parts are a
closed union: a part type not declared here is refused (400), since it cannot be classified.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import msgspec

from services.edge.wire.marks import ImageUrl, NotSent, Opaque

Model = Annotated[NotSent, msgspec.Meta(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]+$")]
"""A model name: no control characters (a NUL would reach the vault's and metering's queries)."""
Json = Any
"""Free-form JSON (JSON Schemas, tool-call inputs): every string and key in it is text."""


class Struct(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Base of the wire Structs."""


# --- content parts -------------------------------------------------------------------------


class TextPart(Struct, tag_field="type", tag="text"):
    text: str


class ImageUrlRef(Struct):
    url: ImageUrl
    detail: str | None = None


class ImagePart(Struct, tag_field="type", tag="image_url"):
    image_url: ImageUrlRef | ImageUrl


class InputAudio(Struct):
    data: Opaque
    format: str


class AudioPart(Struct, tag_field="type", tag="input_audio"):
    unreadable: ClassVar[str] = "input_audio"
    input_audio: InputAudio


class FileRef(Struct):
    file_data: Opaque | None = None
    file_id: Opaque | None = None
    filename: str | None = None


class FilePart(Struct, tag_field="type", tag="file"):
    unreadable: ClassVar[str] = "file"
    file: FileRef


class RefusalPart(Struct, tag_field="type", tag="refusal"):
    refusal: str


Part = TextPart | ImagePart | AudioPart | FilePart | RefusalPart
Content = str | list[Part]


# --- messages ------------------------------------------------------------------------------


class FunctionCall(Struct):
    name: str
    arguments: str


class ToolCallFunction(Struct, tag_field="type", tag="function"):
    id: str
    function: FunctionCall


class CustomCall(Struct):
    name: str
    input: str


class ToolCallCustom(Struct, tag_field="type", tag="custom"):
    id: str
    custom: CustomCall


class AudioRef(Struct):
    """A previous audio answer, by id: audio the guardrails cannot read."""

    unreadable: ClassVar[str] = "audio"
    id: Opaque


class SystemMessage(Struct, tag_field="role", tag="system"):
    content: Content
    name: str | None = None


class DeveloperMessage(Struct, tag_field="role", tag="developer"):
    content: Content
    name: str | None = None


class UserMessage(Struct, tag_field="role", tag="user"):
    content: Content
    name: str | None = None


class AssistantMessage(Struct, tag_field="role", tag="assistant"):
    content: Content | None = None
    refusal: str | None = None
    name: str | None = None
    audio: AudioRef | None = None
    tool_calls: list[ToolCallFunction | ToolCallCustom] | None = None
    function_call: FunctionCall | None = None


class ToolMessage(Struct, tag_field="role", tag="tool"):
    content: Content
    tool_call_id: str


class FunctionMessage(Struct, tag_field="role", tag="function"):
    content: str | None
    name: str


Message = SystemMessage | DeveloperMessage | UserMessage | AssistantMessage | ToolMessage | FunctionMessage


# --- tools and output options --------------------------------------------------------------


class FunctionDef(Struct):
    name: str
    description: str | None = None
    parameters: Json = None
    strict: bool | None = None


class FunctionTool(Struct, tag_field="type", tag="function"):
    function: FunctionDef


class Grammar(Struct):
    definition: str
    syntax: str


class CustomFormat(Struct):
    type: str
    grammar: Grammar | None = None


class CustomDef(Struct):
    name: str
    description: str | None = None
    format: CustomFormat | None = None


class CustomTool(Struct, tag_field="type", tag="custom"):
    custom: CustomDef


class NamedFunction(Struct):
    name: str


class NamedTool(Struct, tag_field="type", tag="function"):
    function: NamedFunction


class NamedCustom(Struct, tag_field="type", tag="custom"):
    custom: NamedFunction


class AllowedTools(Struct):
    mode: str
    tools: list[Json]


class AllowedToolsChoice(Struct, tag_field="type", tag="allowed_tools"):
    allowed_tools: AllowedTools


class JsonSchemaFormat(Struct):
    name: str
    description: str | None = None
    schema: Json = None
    strict: bool | None = None


class TextFormat(Struct, tag_field="type", tag="text"):
    pass


class JsonObjectFormat(Struct, tag_field="type", tag="json_object"):
    pass


class JsonSchemaResponse(Struct, tag_field="type", tag="json_schema"):
    json_schema: JsonSchemaFormat


class Prediction(Struct, tag_field="type", tag="content"):
    content: str | list[TextPart]


class AudioOutput(Struct):
    voice: str
    format: str


class StreamOptions(Struct):
    include_usage: bool = False
    include_obfuscation: bool | None = None


class Approximate(Struct):
    city: str | None = None
    country: str | None = None
    region: str | None = None
    timezone: str | None = None


class UserLocation(Struct):
    type: Literal["approximate"]
    approximate: Approximate


class WebSearchOptions(Struct):
    search_context_size: str | None = None
    user_location: UserLocation | None = None


class ChatRequest(Struct):
    """``POST /v1/chat/completions``."""

    model: Model
    messages: Annotated[list[Message], msgspec.Meta(min_length=1)]
    audio: AudioOutput | None = None
    frequency_penalty: float | None = None
    function_call: Literal["none", "auto"] | NamedFunction | None = None
    functions: list[FunctionDef] | None = None
    logit_bias: dict[str, float] | None = None
    logprobs: bool | None = None
    max_completion_tokens: Annotated[int, msgspec.Meta(ge=1)] | None = None
    max_tokens: Annotated[int, msgspec.Meta(ge=1)] | None = None
    metadata: dict[str, str] | None = None
    modalities: list[str] | None = None
    n: Annotated[int, msgspec.Meta(ge=1, le=128)] | None = None
    parallel_tool_calls: bool | None = None
    prediction: Prediction | None = None
    presence_penalty: float | None = None
    prompt_cache_key: str | None = None
    reasoning_effort: str | None = None
    response_format: TextFormat | JsonObjectFormat | JsonSchemaResponse | None = None
    safety_identifier: str | None = None
    seed: int | None = None
    service_tier: str | None = None
    stop: str | list[str] | None = None
    store: bool | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedTool | NamedCustom | AllowedToolsChoice | None = None
    tools: list[FunctionTool | CustomTool] | None = None
    top_logprobs: Annotated[int, msgspec.Meta(ge=0, le=20)] | None = None
    top_p: float | None = None
    user: str | None = None
    verbosity: str | None = None
    web_search_options: WebSearchOptions | None = None


MAX_INPUTS = 2048
MAX_DIMENSIONS = 16_384
"""Beyond any provider's embedding size (OpenAI's largest is 3,072): a larger ``dimensions`` is a
client mistake, refused here rather than sent to the provider."""


class EmbeddingsRequest(Struct):
    """``POST /v1/embeddings`` (text inputs only: token arrays are refused at the route)."""

    model: Model
    input: str | Annotated[list[Any], msgspec.Meta(min_length=1, max_length=MAX_INPUTS)]
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: Annotated[int, msgspec.Meta(ge=1, le=MAX_DIMENSIONS)] | None = None
    user: str | None = None
