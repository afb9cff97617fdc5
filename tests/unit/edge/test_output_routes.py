"""Output guardrails over whole answers and SSE frames, tool-call arguments included."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from libs.contracts.messages import Denied, GuardVerdict, Principal
from services.edge.errors import ApiError
from services.edge.formats.anthropic import StreamToAnthropic
from services.edge.gateway import Call
from services.edge.routes.output import guard_json, guard_stream
from tests.unit.edge.test_outscan import fake_check

KEY = "sk-" + "Q1w2E3r4T5y6U7i8O9p0A1s2"
PRINCIPAL = Principal(org_id="o", project_id="p", key_id="k")


class FakeGateway:
    """Scans each text with the stand-in detector, as the guardrails service would."""

    async def check_output(self, call: Call, principal: Principal, texts: list[str]) -> GuardVerdict | Denied:
        findings = []
        for index, text in enumerate(texts):
            verdict = await fake_check([text])
            if isinstance(verdict, Denied):
                return verdict
            findings += [msgspec.structs.replace(f, text_index=index) for f in verdict.findings]
        return GuardVerdict(action="redact" if findings else "allow", findings=findings)


def answer(content: str | None, arguments: str | None = None) -> bytes:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if arguments is not None:
        message["tool_calls"] = [{"id": "t1", "type": "function", "function": {"name": "f", "arguments": arguments}}]
    return msgspec.json.encode({"id": "x", "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})


async def test_json_answer_content_and_tool_arguments_are_redacted() -> None:
    body, _ = await guard_json(FakeGateway(), Call("r", "", "", "chat"), PRINCIPAL,  # type: ignore[arg-type]
                               answer(f"use {KEY}", '{"token": "' + KEY + '"}'))  # fmt: skip
    assert KEY.encode() not in body
    message = msgspec.json.decode(body)["choices"][0]["message"]
    assert "[REDACTED_OPENAI_KEY]" in message["content"]
    assert "[REDACTED_OPENAI_KEY]" in message["tool_calls"][0]["function"]["arguments"]


async def test_json_block_and_unparseable_answers_are_refused() -> None:
    with pytest.raises(ApiError) as blocked:
        await guard_json(FakeGateway(), Call("r", "", "", "chat"), PRINCIPAL, answer("FORBIDDEN"))  # type: ignore[arg-type]
    assert blocked.value.status == 400
    with pytest.raises(ApiError) as broken:
        await guard_json(FakeGateway(), Call("r", "", "", "chat"), PRINCIPAL, b"not json")  # type: ignore[arg-type]
    assert broken.value.status == 502


async def test_stream_tool_call_arguments_split_across_chunks_are_redacted() -> None:
    args = '{"api_key": "' + KEY + '", "x": 1}'
    pieces = [args[i : i + 4] for i in range(0, len(args), 4)]

    async def frames() -> AsyncIterator[bytes]:
        base = {"id": "c", "object": "chat.completion.chunk", "model": "m"}
        for piece in pieces:
            delta = {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
            yield b"data: " + msgspec.json.encode({**base, "choices": [{"index": 0, "delta": delta}]}) + b"\n\n"
        yield (
            b"data: "
            + msgspec.json.encode({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
            + b"\n\n"
        )
        yield b"data: [DONE]\n\n"

    out = [f async for f in guard_stream(FakeGateway(), Call("r", "", "", "chat"), PRINCIPAL, frames())]  # type: ignore[arg-type]
    text = ""
    for frame in out:
        if frame.startswith(b"data: {"):
            for choice in msgspec.json.decode(frame[6:])["choices"]:
                for call in choice.get("delta", {}).get("tool_calls") or []:
                    text += call["function"]["arguments"]
    assert KEY not in text
    assert "[REDACTED_OPENAI_KEY]" in text
    assert text.endswith('"x": 1}')
    assert out[-1] == b"data: [DONE]\n\n"


async def test_every_text_of_a_json_answer_is_scanned_or_dropped() -> None:
    """Refusals, reasoning, list content, tool names, legacy function calls, audio transcripts and
    undeclared fields are redacted; log-prob tokens that spell a secret are dropped, as are byte
    arrays and audio data (issue 10, defect 4)."""
    half = len(KEY) // 2
    tokens = [{"token": KEY[:half], "logprob": -0.1, "bytes": list(KEY[:half].encode()), "top_logprobs": []},
              {"token": KEY[half:], "logprob": -0.1, "bytes": list(KEY[half:].encode()), "top_logprobs": []}]  # fmt: skip
    message = {"role": "assistant", "content": [{"type": "text", "text": f"a {KEY}"}], "refusal": f"r {KEY}",
               "reasoning_content": f"t {KEY}", "reasoning": f"t {KEY}", "audio": {"id": "au", "data": "UklGRg==",
               "transcript": f"said {KEY}"}, "function_call": {"name": KEY, "arguments": f'"{KEY}"'},
               "tool_calls": [{"id": "t1", "type": "function", "function": {"name": KEY, "arguments": "{}"}}],
               "provider_extra": {"note": f"n {KEY}"}}  # fmt: skip
    raw = msgspec.json.encode({"id": "x", "choices": [{"index": 0, "message": message, "finish_reason": "stop",
                                                       "logprobs": {"content": tokens}}]})  # fmt: skip
    body, _ = await guard_json(FakeGateway(), Call("r", "", "", "chat"), PRINCIPAL, raw)  # type: ignore[arg-type]
    assert KEY.encode() not in body
    assert KEY[:half].encode() not in body
    choice = msgspec.json.decode(body)["choices"][0]
    assert choice["logprobs"]["content"] is None
    assert choice["message"]["audio"]["data"] is None
    assert "[REDACTED_OPENAI_KEY]" in choice["message"]["audio"]["transcript"]
    assert choice["message"]["tool_calls"][0]["id"] == "t1"


async def test_json_log_probs_without_findings_keep_tokens_but_lose_bytes() -> None:
    tokens = [{"token": "Hi", "logprob": -0.1, "bytes": [72, 105], "top_logprobs": [{"token": "Hi", "logprob": -0.1,
                                                                                     "bytes": [72, 105]}]}]  # fmt: skip
    raw = msgspec.json.encode({"choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"},
                                            "logprobs": {"content": tokens}}]})  # fmt: skip
    body, _ = await guard_json(FakeGateway(), Call("r", "", "", "chat"), PRINCIPAL, raw)  # type: ignore[arg-type]
    kept = msgspec.json.decode(body)["choices"][0]["logprobs"]["content"][0]
    assert kept["token"] == "Hi"
    assert kept["bytes"] is None
    assert kept["top_logprobs"][0]["bytes"] is None


async def test_every_delta_field_of_a_stream_is_scanned_and_log_probs_dropped() -> None:
    fields = ("content", "reasoning_content", "refusal")
    base = {"id": "c", "object": "chat.completion.chunk", "model": "m"}

    def frame(choice: dict[str, Any]) -> bytes:
        return b"data: " + msgspec.json.encode({**base, "choices": [choice]}) + b"\n\n"

    async def frames() -> AsyncIterator[bytes]:
        yield frame({"index": 0, "delta": {"role": "assistant", "tool_calls": [
            {"index": 0, "id": "t1", "type": "function", "function": {"name": KEY, "arguments": ""}}]}})  # fmt: skip
        text = f"see {KEY} ok"
        for i in range(0, len(text), 5):
            delta = dict.fromkeys(fields, text[i : i + 5]) | {"audio": {"transcript": text[i : i + 5]}}
            yield frame(
                {"index": 0, "delta": delta, "logprobs": {"content": [{"token": text[i : i + 5], "logprob": 0}]}}
            )
        yield frame({"index": 0, "delta": {}, "finish_reason": "stop"})
        yield b"data: [DONE]\n\n"

    out = [f async for f in guard_stream(FakeGateway(), Call("r", "", "", "chat"), PRINCIPAL, frames())]  # type: ignore[arg-type]
    texts = dict.fromkeys((*fields, "transcript", "name"), "")
    for f in out:
        if not f.startswith(b"data: {"):
            continue
        for choice in msgspec.json.decode(f[6:])["choices"]:
            assert (choice.get("logprobs") or {}).get("content") is None
            delta = choice.get("delta") or {}
            for name in fields:
                texts[name] += delta.get(name) or ""
            texts["transcript"] += (delta.get("audio") or {}).get("transcript") or ""
            for call in delta.get("tool_calls") or []:
                texts["name"] += (call.get("function") or {}).get("name") or ""
    for name, text in texts.items():
        assert KEY not in text, name
        assert "[REDACTED_OPENAI_KEY]" in text, name
    assert texts["content"] == "see [REDACTED_OPENAI_KEY] ok"


class CountingGateway(FakeGateway):
    def __init__(self) -> None:
        self.calls = 0

    async def check_output(self, call: Call, principal: Principal, texts: list[str]) -> GuardVerdict | Denied:
        self.calls += 1
        return await super().check_output(call, principal, texts)


def _content_frame(text: str | None, finish: str | None = None) -> bytes:
    delta = {} if text is None else {"content": text}
    chunk = {"id": "c", "object": "chat.completion.chunk", "model": "m",
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip
    return b"data: " + msgspec.json.encode(chunk) + b"\n\n"


def _content(frames: list[bytes]) -> str:
    return "".join(choice.get("delta", {}).get("content") or "" for f in frames if f.startswith(b"data: {")
                   for choice in msgspec.json.decode(f[6:])["choices"])  # fmt: skip


async def test_a_stream_of_small_chunks_is_scanned_in_pieces_not_chunk_by_chunk() -> None:
    words = [f"word{i} " for i in range(100)] + [f"key {KEY} ", "end."]

    async def frames() -> AsyncIterator[bytes]:
        for word in words:
            yield _content_frame(word)
        yield _content_frame(None, "stop")
        yield b"data: [DONE]\n\n"

    gw = CountingGateway()
    out = [f async for f in guard_stream(gw, Call("r", "", "", "chat"), PRINCIPAL, frames())]  # type: ignore[arg-type]
    text = _content(out)
    assert KEY not in text
    assert text == "".join(words).replace(KEY, "[REDACTED_OPENAI_KEY]")
    assert gw.calls <= 8  # ~750 characters in 102 chunks: a handful of scans, not 102


async def test_held_text_is_released_when_the_upstream_pauses() -> None:
    released_at: list[float] = []

    async def frames() -> AsyncIterator[bytes]:
        yield _content_frame("Hello there, ")
        await asyncio.sleep(0.5)  # the model thinks
        yield _content_frame("friend.", "stop")
        yield b"data: [DONE]\n\n"

    started = time.monotonic()
    out = []
    async for frame in guard_stream(CountingGateway(), Call("r", "", "", "chat"), PRINCIPAL, frames()):  # type: ignore[arg-type]
        out.append(frame)
        if "Hello" in _content([frame]):
            released_at.append(time.monotonic() - started)
    assert released_at
    assert released_at[0] < 0.3  # within the wait, not after the pause
    assert _content(out) == "Hello there, friend."


async def test_a_client_leaving_while_text_is_held_closes_the_upstream_cleanly() -> None:
    closed = asyncio.Event()

    async def frames() -> AsyncIterator[bytes]:
        try:
            yield _content_frame("first words ")  # released at once: the first token is not delayed
            yield _content_frame("partial words ")
            await asyncio.sleep(10)
            yield _content_frame("never", "stop")
        finally:
            closed.set()

    stream = guard_stream(CountingGateway(), Call("r", "", "", "chat"), PRINCIPAL, frames())  # type: ignore[arg-type]
    assert _content([await anext(stream)]) == "first words "
    assert _content([await anext(stream)]) == ""  # held: too little to scan on its own
    released = await anext(stream)  # the held text, released while the next chunk is awaited
    assert _content([released]) == "partial words "
    await stream.aclose()
    await asyncio.wait_for(closed.wait(), 1)


async def test_held_text_goes_out_before_the_stream_moves_on_to_another_field_or_tool_call() -> None:
    """Text held back (a field's tail, or a batch) is released before the next field or tool call
    starts: OpenAI frames stay in the model's order, and the Anthropic translation never sends a
    delta to a block it already stopped nor splits the text around the tool calls."""
    base = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}

    def frame(delta: dict[str, Any], finish: str | None = None) -> bytes:
        chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return b"data: " + msgspec.json.encode(chunk) + b"\n\n"

    async def frames() -> AsyncIterator[bytes]:
        yield frame({"role": "assistant", "content": ""})
        for word in ["Let", "me", "check", "the", "weather", "in", "both", "cities", "for", "you,", "please."]:
            yield frame({"content": word + " "})
        for i, city in enumerate(["Paris", "Berlin"]):
            yield frame({"tool_calls": [{"index": i, "id": f"call_{i}", "type": "function",
                                         "function": {"name": "get_weather", "arguments": ""}}]})  # fmt: skip
            for piece in ['{"', "location", '": "', city, " France", '"}']:
                yield frame({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
        yield frame({}, "tool_calls")
        yield b"data: [DONE]\n\n"

    def relayed() -> AsyncIterator[bytes]:
        return guard_stream(FakeGateway(), Call("r", "", "", "chat"), PRINCIPAL, frames())  # type: ignore[arg-type]

    order: list[str] = []  # which slot each piece of text went to, in frame order
    arguments: dict[int, str] = {}
    async for out in relayed():
        if not out.startswith(b"data: {"):
            continue
        for choice in msgspec.json.decode(out[6:]).get("choices") or []:
            delta = choice.get("delta") or {}
            if delta.get("content"):
                order.append("text")
            for call in delta.get("tool_calls") or []:
                if "id" in call or (call.get("function") or {}).get("arguments"):
                    order.append(f"tool{call['index']}")
                arguments[call["index"]] = arguments.get(call["index"], "") + (call.get("function") or {}).get(
                    "arguments", ""
                )
    assert [s for i, s in enumerate(order) if i == 0 or order[i - 1] != s] == ["text", "tool0", "tool1"]
    assert arguments == {0: '{"location": "Paris France"}', 1: '{"location": "Berlin France"}'}

    stopped: set[int] = set()
    kinds: list[str] = []
    async for event in StreamToAnthropic("m").translate(relayed()):
        data = msgspec.json.decode(event.split(b"\ndata: ", 1)[1])
        if data["type"] == "content_block_start":
            kinds.append(data["content_block"]["type"])
        elif data["type"] == "content_block_stop":
            stopped.add(data["index"])
        elif data["type"] == "content_block_delta":
            assert data["index"] not in stopped, data
    assert kinds == ["text", "tool_use", "tool_use"]
