"""OpenAI ⇄ Anthropic ⇄ Gemini translation: requests, answers and streams, on the providers' wire formats."""

from __future__ import annotations

import base64
import struct
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from libs.contracts.messages import Resolved
from libs.svc.egress_http import Request
from services.edge.errors import ApiError
from services.edge.formats.anthropic import (
    MessagesRequest,
    StreamToAnthropic,
    request_to_openai,
    response_from_openai,
)
from services.edge.upstream.anthropic import AnthropicAdapter, from_anthropic, to_anthropic
from services.edge.upstream.gemini import GeminiAdapter, from_gemini, to_gemini
from tests.fakeupstream import Canned, FakeUpstream, canned

IMG = "data:image/png;base64,iVBORw0KGgo="
TOOLS = [{"type": "function", "function": {"name": "lookup", "description": "find", "parameters": {
    "type": "object", "properties": {"q": {"type": "string"}}, "additionalProperties": False,
    "$schema": "http://json-schema.org/draft-07/schema#"}}}]  # fmt: skip
CONVERSATION: list[dict[str, Any]] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": [{"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": IMG}}]},
    {"role": "assistant", "content": None,
     "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "png"}'}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": '{"answer": "an image"}'},
    {"role": "user", "content": "thanks"},
]  # fmt: skip


def target(adapter: str) -> Resolved:
    return Resolved(provider_id="p", provider="up", adapter=adapter, base_url="http://up/v1", upstream_model="m-up",
                    api_key="sk-upstream-secret")  # fmt: skip


def client(handler: Any) -> Any:
    return FakeUpstream(handler)


async def collect(frames: AsyncIterator[bytes]) -> list[Any]:
    out = []
    async for frame in frames:
        data = frame[6:].strip()
        out.append("[DONE]" if data == b"[DONE]" else msgspec.json.decode(data))
    return out


# --- OpenAI → Anthropic (upstream) ------------------------------------------------------------


def test_openai_request_becomes_an_anthropic_request() -> None:
    body = to_anthropic({"model": "x", "messages": CONVERSATION, "tools": TOOLS, "tool_choice": "required",
                         "stop": "END", "temperature": 0.2, "user": "u1"}, "claude-x")  # fmt: skip
    assert body["system"] == "Be brief."
    assert body["max_tokens"] == 4096  # Anthropic requires it
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    first = body["messages"][0]["content"]
    assert first[1] == {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
    }
    assert body["messages"][1]["content"] == [
        {"type": "tool_use", "id": "call_1", "name": "lookup", "input": {"q": "png"}}
    ]
    # the tool result and the next user text share one user turn, result first
    assert body["messages"][2]["content"][0] == {"type": "tool_result", "tool_use_id": "call_1",
                                                 "content": '{"answer": "an image"}'}  # fmt: skip
    assert body["messages"][2]["content"][1] == {"type": "text", "text": "thanks"}
    assert body["tools"][0]["input_schema"]["properties"] == {"q": {"type": "string"}}
    assert body["tool_choice"] == {"type": "any"}
    assert body["stop_sequences"] == ["END"]
    assert body["metadata"] == {"user_id": "u1"}


def test_anthropic_answer_becomes_a_chat_completion() -> None:
    message = {"id": "msg_1", "type": "message", "role": "assistant", "stop_reason": "tool_use",
               "content": [{"type": "text", "text": "Looking."},
                           {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "x"}}],
               "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 4}}  # fmt: skip
    body, usage = from_anthropic(message, "claude-x")
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "Looking."
    assert choice["message"]["tool_calls"][0]["function"] == {"name": "lookup", "arguments": '{"q":"x"}'}
    assert (usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens) == (14, 5, 4)
    assert body["usage"]["prompt_tokens_details"] == {"cached_tokens": 4}


def anthropic_sse(events: list[tuple[str, dict[str, Any]]]) -> bytes:
    return b"".join(f"event: {k}\ndata: {msgspec.json.encode(v).decode()}\n\n".encode() for k, v in events)


STREAM = [
    ("message_start", {"type": "message_start", "message": {"id": "msg_9", "usage": {"input_tokens": 7, "output_tokens": 1}}}),
    ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
    ("ping", {"type": "ping"}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hel"}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "lo"}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ("content_block_start", {"type": "content_block_start", "index": 1,
                             "content_block": {"type": "tool_use", "id": "toolu_2", "name": "lookup", "input": {}}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"q": '}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": '"y"}'}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 1}),
    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 12}}),
    ("message_stop", {"type": "message_stop"}),
]  # fmt: skip


async def test_anthropic_stream_becomes_openai_chunks() -> None:
    seen: list[Request] = []

    def handler(request: Request) -> Canned:
        seen.append(request)
        return canned(200, content=anthropic_sse(STREAM), headers={"content-type": "text/event-stream"})

    adapter = AnthropicAdapter(client(handler), 1.0)
    result = await adapter.stream(target("anthropic"), {"model": "claude", "messages": CONVERSATION}, 40, True)
    chunks = await collect(result.frames)
    assert seen[0].url == "http://up/v1/messages"
    assert seen[0].headers["x-api-key"] == "sk-upstream-secret"
    assert seen[0].headers["anthropic-version"] == "2023-06-01"
    assert msgspec.json.decode(seen[0].body)["stream"] is True
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[:-1] if c["choices"])
    assert text == "Hello"
    args = "".join(tc["function"]["arguments"] for c in chunks[:-1] if c["choices"]
                   for tc in c["choices"][0]["delta"].get("tool_calls") or [])  # fmt: skip
    assert args == '{"q": "y"}'
    finishes = [c["choices"][0]["finish_reason"] for c in chunks[:-1] if c["choices"]]
    assert finishes[-1] == "tool_calls"
    assert chunks[-2]["usage"]["completion_tokens"] == 12
    assert chunks[-1] == "[DONE]"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens, result.usage.estimated) == (7, 12, False)


async def test_anthropic_errors_map_to_the_clients_statuses() -> None:
    def handler(request: Request) -> Canned:
        return canned(429, headers={"retry-after": "9"},
                              json={"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}})  # fmt: skip

    with pytest.raises(ApiError) as err:
        await AnthropicAdapter(client(handler), 1.0).chat(
            target("anthropic"), {"model": "c", "messages": CONVERSATION}, 4
        )
    assert (err.value.status, err.value.headers, err.value.message) == (429, {"retry-after": "9"}, "slow down")

    def overloaded(request: Request) -> Canned:
        return canned(529, json={"type": "error", "error": {"type": "overloaded_error", "message": "o"}})

    with pytest.raises(ApiError) as err:
        await AnthropicAdapter(client(overloaded), 1.0).chat(target("anthropic"), {"model": "c", "messages": []}, 4)
    assert err.value.status == 502


# --- OpenAI → Gemini (upstream) ---------------------------------------------------------------


def test_openai_request_becomes_a_gemini_request() -> None:
    body = to_gemini({"model": "x", "messages": CONVERSATION, "tools": TOOLS, "tool_choice": "auto",
                      "max_tokens": 50, "stop": ["END"], "top_p": 0.5})  # fmt: skip
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    assert [c["role"] for c in body["contents"]] == ["user", "model", "user"]
    assert body["contents"][0]["parts"][1] == {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}
    assert body["contents"][1]["parts"] == [{"functionCall": {"name": "lookup", "args": {"q": "png"}}}]
    assert body["contents"][2]["parts"][0] == {
        "functionResponse": {"name": "lookup", "response": {"answer": "an image"}}
    }
    assert body["generationConfig"] == {"maxOutputTokens": 50, "stopSequences": ["END"], "topP": 0.5}
    declaration = body["tools"][0]["functionDeclarations"][0]
    assert "additionalProperties" not in declaration["parameters"]
    assert "$schema" not in declaration["parameters"]
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}


def test_gemini_answer_becomes_a_chat_completion() -> None:
    answer = {"candidates": [{"content": {"role": "model", "parts": [{"functionCall": {"name": "lookup", "args": {"q": 1}}}]},
                              "finishReason": "STOP", "index": 0}],
              "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 3, "cachedContentTokenCount": 2}}  # fmt: skip
    body, usage = from_gemini(answer, "gem")
    assert body["choices"][0]["finish_reason"] == "tool_calls"
    assert body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] == '{"q":1}'
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens) == (9, 3, 2)
    with pytest.raises(ApiError) as err:
        from_gemini({"promptFeedback": {"blockReason": "SAFETY"}}, "gem")
    assert err.value.status == 400


async def test_gemini_stream_with_crlf_becomes_openai_chunks() -> None:
    events = [
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hi "}]}, "index": 0}], "responseId": "r1"},
        {"candidates": [{"content": {"role": "model", "parts": [{"text": "there"}]}, "finishReason": "STOP", "index": 0}],
         "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2, "totalTokenCount": 6}},
    ]  # fmt: skip
    raw = b"".join(b"data: " + msgspec.json.encode(e) + b"\r\n\r\n" for e in events)
    seen: list[Request] = []

    def handler(request: Request) -> Canned:
        seen.append(request)
        return canned(200, content=raw, headers={"content-type": "text/event-stream"})

    result = await GeminiAdapter(client(handler), 1.0).stream(
        target("gemini"), {"model": "g", "messages": CONVERSATION}, 8, False
    )
    chunks = await collect(result.frames)
    assert seen[0].url == "http://up/v1/models/m-up:streamGenerateContent?alt=sse"
    assert seen[0].headers["x-goog-api-key"] == "sk-upstream-secret"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c != "[DONE]" and c["choices"])
    assert text == "Hi there"
    assert all("usage" not in c for c in chunks if c != "[DONE]")  # the client did not ask for usage
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (4, 2)


async def test_gemini_embeddings_in_openai_base64() -> None:
    def handler(request: Request) -> Canned:
        assert request.url.endswith(":batchEmbedContents")
        n = len(msgspec.json.decode(request.body)["requests"])
        return canned(200, json={"embeddings": [{"values": [0.5, -1.0]}] * n})

    result = await GeminiAdapter(client(handler), 1.0).embed(
        target("gemini"), {"model": "e", "input": ["a", "b"], "encoding_format": "base64"}, 2
    )
    data = msgspec.json.decode(result.body)["data"]
    assert len(data) == 2
    assert struct.unpack("<2f", base64.b64decode(data[1]["embedding"])) == (0.5, -1.0)


# --- Anthropic Messages API as the client format ------------------------------------------------


def test_messages_request_becomes_an_openai_request() -> None:
    raw = {"model": "any", "max_tokens": 20, "system": [{"type": "text", "text": "sys"}], "top_k": 5,
           "tools": [{"name": "lookup", "input_schema": {"type": "object"}}], "tool_choice": {"type": "any"},
           "messages": [
               {"role": "user", "content": "hi"},
               {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": 1}}]},
               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "42"},
                                            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAA"}}]},
           ]}  # fmt: skip
    payload = request_to_openai(raw, msgspec.convert(raw, MessagesRequest))
    assert payload["messages"][0] == {"role": "system", "content": "sys"}
    assert payload["messages"][2]["tool_calls"][0]["function"] == {"name": "lookup", "arguments": '{"q":1}'}
    assert payload["messages"][3] == {"role": "tool", "tool_call_id": "toolu_1", "content": "42"}
    assert payload["messages"][4]["content"][0]["image_url"]["url"] == "data:image/png;base64,AAA"
    assert payload["tool_choice"] == "required"
    assert payload["_anthropic"] == {"top_k": 5}
    # and back to Anthropic for an Anthropic upstream: the same turns, top_k kept
    again = to_anthropic(payload, "claude")
    assert again["top_k"] == 5
    assert again["system"] == "sys"
    assert again["messages"][2]["content"][0]["type"] == "tool_result"


def test_chat_completion_becomes_an_anthropic_message() -> None:
    completion = {"id": "chatcmpl-1", "choices": [{"index": 0, "finish_reason": "length",
                  "message": {"role": "assistant", "content": "partial"}}],
                  "usage": {"prompt_tokens": 10, "completion_tokens": 3, "prompt_tokens_details": {"cached_tokens": 4}}}  # fmt: skip
    message = response_from_openai(completion, "alias")
    assert message["type"] == "message"
    assert message["id"].startswith("msg_")
    assert message["content"] == [{"type": "text", "text": "partial"}]
    assert message["stop_reason"] == "max_tokens"
    assert message["usage"]["input_tokens"] == 6
    assert message["usage"]["cache_read_input_tokens"] == 4


async def test_openai_chunks_become_anthropic_events() -> None:
    base = {"id": "c", "object": "chat.completion.chunk"}
    chunks = [
        {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
        {**base, "choices": [{"index": 0, "delta": {"content": "Hi"}}]},
        {**base, "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "f", "arguments": ""}}]}}]},
        {**base, "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"a":1}'}}]}}]},
        {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
        {**base, "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2}},
    ]  # fmt: skip

    async def frames() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield b"data: " + msgspec.json.encode(chunk) + b"\n\n"
        yield b"data: [DONE]\n\n"

    events = [e async for e in StreamToAnthropic("m", 5).translate(frames())]
    kinds = [e.split(b"\n")[0].removeprefix(b"event: ").decode() for e in events]
    assert kinds == ["message_start", "content_block_start", "content_block_delta", "content_block_stop",
                     "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"]  # fmt: skip
    delta = msgspec.json.decode(events[-2].split(b"data: ")[1])
    assert delta["delta"]["stop_reason"] == "tool_use"
    assert delta["usage"]["output_tokens"] == 2


async def test_an_output_block_midstream_becomes_an_anthropic_error_event() -> None:
    async def frames() -> AsyncIterator[bytes]:
        yield b'data: {"choices": [{"index": 0, "delta": {"content": "Hi"}}]}\n\n'
        yield (b'data: {"error": {"message": "Blocked by rule r1.", "type": "invalid_request_error", '
               b'"code": "content_policy_violation"}}\n\n')  # fmt: skip

    events = [e async for e in StreamToAnthropic("m").translate(frames())]
    kinds = [e.split(b"\n")[0].removeprefix(b"event: ").decode() for e in events]
    assert kinds == ["message_start", "content_block_start", "content_block_delta", "content_block_stop", "error"]
    error = msgspec.json.decode(events[-1].split(b"data: ")[1])
    assert error == {"type": "error", "error": {"type": "invalid_request_error", "message": "Blocked by rule r1."}}
