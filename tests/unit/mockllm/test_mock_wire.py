"""The mock upstream speaks OpenAI, Anthropic and Gemini wire formats (and the official SDKs accept it)."""

from __future__ import annotations

import base64
import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest
import uvicorn
from litestar.testing import TestClient

from libs.mockllm.app import create_app

SEARCH_OPENAI = [{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}]
SEARCH_ANTHROPIC = [{"name": "search", "description": "Search.", "input_schema": {"type": "object"}}]
SEARCH_GEMINI = [{"functionDeclarations": [{"name": "search", "description": "Search.", "parameters": {}}]}]
ANTHROPIC_HEADERS = {"x-api-key": "ak-test", "anthropic-version": "2023-06-01"}
GEMINI_HEADERS = {"x-goog-api-key": "gk-test"}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient[Any]]:
    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The mock served by uvicorn on a free port, for the official SDKs."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert uv.started
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(5)
    sock.close()


def sse_events(text: str) -> list[tuple[str | None, dict[str, Any] | str]]:
    """``(event name or None, data)`` of each SSE event; data is JSON-decoded unless it is ``[DONE]``."""
    out: list[tuple[str | None, dict[str, Any] | str]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        event = None
        data = ""
        for line in block.split("\n"):
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = line.removeprefix("data: ")
        out.append((event, data if data == "[DONE]" else json.loads(data)))
    return out


# --- OpenAI -----------------------------------------------------------------------------------


def test_openai_chat_still_answers_and_logs(client: TestClient[Any]) -> None:
    client.post("/_mock/reset")
    body = {"model": "mock-gpt-4o-mini", "messages": [{"role": "user", "content": "Hello there"}]}
    reply = client.post("/v1/chat/completions", json=body, headers={"authorization": "Bearer sk-up"}).json()
    assert reply["choices"][0] == {"index": 0, "message": {"role": "assistant", "content": "Mock reply: Hello there"},
                                   "finish_reason": "stop"}  # fmt: skip
    assert reply["usage"] == {"prompt_tokens": 2, "completion_tokens": 4, "total_tokens": 6}
    seen = client.get("/_mock/requests").json()
    assert seen == [{"path": "/v1/chat/completions", "body": body, "auth": "Bearer sk-up"}]


def test_openai_tool_call_json(client: TestClient[Any]) -> None:
    body: dict[str, Any] = {
        "model": "m",
        "tools": SEARCH_OPENAI,
        "messages": [{"role": "user", "content": "Please USE TOOL now"}],
    }
    choice = client.post("/v1/chat/completions", json=body).json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"] == {"role": "assistant", "content": None, "tool_calls": [{
        "id": "call_mock1", "type": "function",
        "function": {"name": "search", "arguments": '{"query":"Please USE TOOL now"}'}}]}  # fmt: skip
    # after the tool result comes back, the mock answers in text (so agent loops end)
    body["messages"] += [choice["message"], {"role": "tool", "tool_call_id": "call_mock1", "content": "42"}]
    after = client.post("/v1/chat/completions", json=body).json()["choices"][0]
    assert after["finish_reason"] == "stop"
    assert after["message"]["content"].startswith("Mock reply: ")


def test_openai_tool_call_stream(client: TestClient[Any]) -> None:
    body = {"model": "m", "stream": True, "tools": SEARCH_OPENAI,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "use tool on this"}]}]}  # fmt: skip
    events = [data for _, data in sse_events(client.post("/v1/chat/completions", json=body).text)]
    assert events[-1] == "[DONE]"
    chunks = [e for e in events if isinstance(e, dict)]
    first = chunks[0]["choices"][0]["delta"]["tool_calls"][0]
    assert first == {
        "index": 0,
        "id": "call_mock1",
        "type": "function",
        "function": {"name": "search", "arguments": ""},
    }
    fragments = [c["choices"][0]["delta"]["tool_calls"][0] for c in chunks[1:-1]]
    assert len(fragments) > 1
    assert all(f["index"] == 0 for f in fragments)
    assert json.loads("".join(f["function"]["arguments"] for f in fragments)) == {"query": "use tool on this"}
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "tool_calls"}


def test_openai_embeddings_float_and_base64(client: TestClient[Any]) -> None:
    as_float = client.post("/v1/embeddings", json={"model": "e", "input": ["a b", "c"], "encoding_format": "float"})
    body = as_float.json()
    assert body["object"] == "list"
    assert body["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    assert [d["index"] for d in body["data"]] == [0, 1]
    vector = body["data"][0]["embedding"]
    assert len(vector) == 8
    assert abs(sum(v * v for v in vector) - 1) < 1e-5
    assert vector != body["data"][1]["embedding"]
    encoded = client.post("/v1/embeddings", json={"model": "e", "input": "a b", "encoding_format": "base64"}).json()
    raw = base64.b64decode(encoded["data"][0]["embedding"])
    assert list(struct.unpack("<8f", raw)) == vector
    sized = client.post("/v1/embeddings", json={"model": "e", "input": [[1, 2, 3]], "dimensions": 20}).json()
    assert len(sized["data"][0]["embedding"]) == 20
    huge = client.post("/v1/embeddings", json={"model": "e", "input": "x", "dimensions": 10**9})
    assert huge.status_code == 400  # refused, as a provider does, not computed
    limited = client.post("/v1/embeddings", json={"model": "e-fail-429", "input": "x"})
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "7"
    assert client.post("/v1/embeddings", json={"model": "e"}).status_code == 400


def test_models_list_fits_openai_and_anthropic(client: TestClient[Any]) -> None:
    body = client.get("/v1/models").json()
    assert body["object"] == "list"
    assert body["has_more"] is False
    assert body["first_id"] == body["data"][0]["id"]
    assert body["last_id"] == body["data"][-1]["id"]
    for item in body["data"]:
        assert item["object"] == "model"
        assert item["type"] == "model"
        assert item["created_at"].endswith("Z")
        assert item["display_name"]


# --- Anthropic --------------------------------------------------------------------------------


def test_anthropic_json_with_system_blocks_and_cache(client: TestClient[Any]) -> None:
    body = {"model": "mock-claude-cached", "max_tokens": 50, "system": [{"type": "text", "text": "be brief"}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hello"},
                                                      {"type": "text", "text": "world"}]}]}  # fmt: skip
    response = client.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS)
    assert response.status_code == 200
    message = response.json()
    assert message["id"].startswith("msg_mock")
    assert {k: message[k] for k in ("type", "role", "model", "stop_reason", "stop_sequence")} == {
        "type": "message", "role": "assistant", "model": "mock-claude-cached", "stop_reason": "end_turn",
        "stop_sequence": None}  # fmt: skip
    assert message["content"] == [{"type": "text", "text": "Mock reply: hello world"}]
    assert message["usage"] == {"input_tokens": 4, "output_tokens": 4, "cache_creation_input_tokens": 0,
                                "cache_read_input_tokens": 3}  # fmt: skip
    assert client.get("/_mock/requests").json()[-1]["auth"] == "ak-test"


def test_anthropic_tool_use_json(client: TestClient[Any]) -> None:
    body: dict[str, Any] = {"model": "c", "max_tokens": 50, "tools": SEARCH_ANTHROPIC,
            "messages": [{"role": "user", "content": "use tool please"}]}  # fmt: skip
    message = client.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS).json()
    assert message["stop_reason"] == "tool_use"
    assert message["content"] == [
        {"type": "text", "text": "Calling a tool."},
        {"type": "tool_use", "id": "toolu_mock1", "name": "search", "input": {"query": "use tool please"}},
    ]
    body["messages"] += [{"role": "assistant", "content": message["content"]},
                         {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_mock1",
                                                       "content": "42"}]}]  # fmt: skip
    after = client.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS).json()
    assert after["stop_reason"] == "end_turn"


def test_anthropic_stream_event_sequence(client: TestClient[Any]) -> None:
    body = {"model": "c-chunk-4", "max_tokens": 50, "stream": True, "tools": SEARCH_ANTHROPIC,
            "messages": [{"role": "user", "content": "use tool for me"}]}  # fmt: skip
    response = client.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    assert all(isinstance(data, dict) and data["type"] == name for name, data in events)
    names = [name for name, _ in events]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-2:] == ["message_delta", "message_stop"]
    data = [d for _, d in events if isinstance(d, dict)]
    assert data[0]["message"]["content"] == []
    assert data[0]["message"]["usage"]["output_tokens"] == 1
    text = "".join(d["delta"]["text"] for d in data if d["type"] == "content_block_delta" and d["index"] == 0)
    assert text == "Calling a tool."
    assert all(len(d["delta"]["text"]) <= 4 for d in data if d["type"] == "content_block_delta" and d["index"] == 0)
    tool_start = next(d for d in data if d["type"] == "content_block_start" and d["index"] == 1)
    assert tool_start["content_block"] == {"type": "tool_use", "id": "toolu_mock1", "name": "search", "input": {}}
    partial = [d["delta"] for d in data if d["type"] == "content_block_delta" and d["index"] == 1]
    assert {p["type"] for p in partial} == {"input_json_delta"}
    assert json.loads("".join(p["partial_json"] for p in partial)) == {"query": "use tool for me"}
    assert [d["index"] for d in data if d["type"] == "content_block_stop"] == [0, 1]
    delta = data[-2]
    assert delta["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
    assert delta["usage"]["output_tokens"] > 1


def test_anthropic_midstream_error(client: TestClient[Any]) -> None:
    body = {"model": "c-midstream-error", "max_tokens": 5, "stream": True,
            "messages": [{"role": "user", "content": "a b c d e f"}]}  # fmt: skip
    response = client.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS)
    assert response.status_code == 200
    events = sse_events(response.text)
    assert "content_block_delta" in [name for name, _ in events]
    assert events[-1] == ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})


@pytest.mark.parametrize(
    ("model", "headers", "status", "kind"),
    [
        ("c-fail-429", ANTHROPIC_HEADERS, 429, "rate_limit_error"),
        ("c-fail-500", ANTHROPIC_HEADERS, 500, "api_error"),
        ("c-fail-529", ANTHROPIC_HEADERS, 529, "overloaded_error"),
        ("c", {}, 401, "authentication_error"),
    ],
)
def test_anthropic_errors(client: TestClient[Any], model: str, headers: dict[str, str], status: int, kind: str) -> None:
    body = {"model": model, "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    response = client.post("/v1/messages", json=body, headers=headers)
    assert response.status_code == status
    assert response.json()["type"] == "error"
    assert response.json()["error"]["type"] == kind
    assert (response.headers.get("retry-after") == "7") == (status == 429)


def test_anthropic_requires_max_tokens(client: TestClient[Any]) -> None:
    body = {"model": "c", "messages": [{"role": "user", "content": "hi"}]}
    response = client.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


# --- Gemini -----------------------------------------------------------------------------------


def gemini_body(text: str, **extra: Any) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}], **extra}


def test_gemini_generate_content(client: TestClient[Any]) -> None:
    body = gemini_body("hi there friend", systemInstruction={"parts": [{"text": "be nice"}]},
                       generationConfig={"maxOutputTokens": 20, "temperature": 0.1})  # fmt: skip
    response = client.post("/v1beta/models/mock-gemini-flash:generateContent", json=body, headers=GEMINI_HEADERS)
    assert response.status_code == 200
    reply = response.json()
    assert reply["candidates"] == [{"content": {"role": "model", "parts": [{"text": "Mock reply: hi there friend"}]},
                                    "finishReason": "STOP", "index": 0}]  # fmt: skip
    usage = reply["usageMetadata"]
    assert (usage["promptTokenCount"], usage["candidatesTokenCount"], usage["totalTokenCount"]) == (5, 5, 10)
    assert "cachedContentTokenCount" not in usage
    assert reply["modelVersion"] == "mock-gemini-flash"
    assert reply["responseId"]
    assert client.get("/_mock/requests").json()[-1] == {
        "path": "/v1beta/models/mock-gemini-flash:generateContent", "body": body, "auth": "gk-test"}  # fmt: skip
    cached = client.post("/v1beta/models/flash-cached:generateContent?key=qk", json=gemini_body("a b c d"))
    assert cached.json()["usageMetadata"]["cachedContentTokenCount"] == 3
    assert client.get("/_mock/requests").json()[-1]["auth"] == "qk"


def test_gemini_tool_call(client: TestClient[Any]) -> None:
    body = gemini_body("use tool now", tools=SEARCH_GEMINI)
    reply = client.post("/v1beta/models/g:generateContent", json=body, headers=GEMINI_HEADERS).json()
    candidate = reply["candidates"][0]
    assert candidate["content"]["parts"] == [{"functionCall": {"name": "search", "args": {"query": "use tool now"}}}]
    assert candidate["finishReason"] == "STOP"


def test_gemini_stream_sse(client: TestClient[Any]) -> None:
    url = "/v1beta/models/g-chunk-6:streamGenerateContent?alt=sse"
    response = client.post(url, json=gemini_body("stream me please"), headers=GEMINI_HEADERS)
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "\r\n\r\n" in response.text
    chunks = [data for _, data in sse_events(response.text) if isinstance(data, dict)]
    assert len(chunks) > 2
    text = "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks)
    assert text == "Mock reply: stream me please"
    assert all("finishReason" not in c["candidates"][0] and "usageMetadata" not in c for c in chunks[:-1])
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert chunks[-1]["usageMetadata"]["totalTokenCount"] == 3 + 5
    as_array = client.post("/v1beta/models/g:streamGenerateContent", json=gemini_body("x"), headers=GEMINI_HEADERS)
    assert isinstance(as_array.json(), list)


def test_gemini_errors(client: TestClient[Any]) -> None:
    url = "/v1beta/models/{}:generateContent"
    limited = client.post(url.format("g-fail-429"), json=gemini_body("x"), headers=GEMINI_HEADERS)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == 429
    assert limited.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert "retry-after" not in limited.headers
    hinted = client.post(url.format("g-fail-429-retry"), json=gemini_body("x"), headers=GEMINI_HEADERS)
    assert hinted.headers["retry-after"] == "7"
    broken = client.post(url.format("g-fail-500"), json=gemini_body("x"), headers=GEMINI_HEADERS)
    assert broken.status_code == 500
    assert broken.json()["error"]["status"] == "INTERNAL"
    anonymous = client.post(url.format("g"), json=gemini_body("x"))
    assert anonymous.status_code == 403
    assert anonymous.json()["error"]["status"] == "PERMISSION_DENIED"
    started = time.monotonic()
    assert client.post(url.format("g-slow-50"), json=gemini_body("x"), headers=GEMINI_HEADERS).status_code == 200
    assert time.monotonic() - started >= 0.05


def test_gemini_embeddings_and_models(client: TestClient[Any]) -> None:
    body = {"requests": [{"model": "models/e", "content": {"parts": [{"text": "a b"}]}},
                         {"model": "models/e", "content": {"parts": [{"text": "c"}]}, "outputDimensionality": 4}]}  # fmt: skip
    reply = client.post("/v1beta/models/e:batchEmbedContents", json=body, headers=GEMINI_HEADERS).json()
    assert [len(e["values"]) for e in reply["embeddings"]] == [8, 4]
    openai_vector = client.post("/v1/embeddings", json={"model": "e", "input": "a b"}).json()["data"][0]["embedding"]
    assert reply["embeddings"][0]["values"] == openai_vector
    listed = client.get("/v1beta/models", headers=GEMINI_HEADERS).json()["models"]
    flash = next(m for m in listed if m["name"] == "models/mock-gemini-flash")
    assert flash["displayName"]
    assert "generateContent" in flash["supportedGenerationMethods"]


# --- official SDKs ----------------------------------------------------------------------------


def test_anthropic_sdk_round_trip(server: str) -> None:
    sdk = anthropic.Anthropic(base_url=server, api_key="ak-sdk", max_retries=0)
    message = sdk.messages.create(model="mock-claude-cached", max_tokens=20,
                                  messages=[{"role": "user", "content": "ping me"}])  # fmt: skip
    assert message.content[0].type == "text"
    assert message.content[0].text == "Mock reply: ping me"
    assert message.usage.cache_read_input_tokens == 3
    assert httpx.get(f"{server}/_mock/requests").json()[-1]["auth"] == "Bearer ak-sdk"  # SDK v2 sends a bearer token
    with sdk.messages.stream(model="c-chunk-3", max_tokens=20, tools=SEARCH_ANTHROPIC,  # type: ignore[arg-type]
                             messages=[{"role": "user", "content": "use tool x"}]) as stream:  # fmt: skip
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    tool_use = final.content[1]
    assert tool_use.type == "tool_use"
    assert tool_use.input == {"query": "use tool x"}
    with pytest.raises(anthropic.APIStatusError) as failed:
        sdk.messages.create(model="c-fail-529", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert failed.value.status_code == 529


def test_openai_sdk_embeddings_base64(server: str) -> None:
    sdk = openai.OpenAI(base_url=f"{server}/v1", api_key="sk-sdk", max_retries=0)
    default = sdk.embeddings.create(model="e", input=["a b", "c"])  # the SDK asks for base64 and decodes it
    explicit = sdk.embeddings.create(model="e", input=["a b", "c"], encoding_format="float")
    assert [d.embedding for d in default.data] == [d.embedding for d in explicit.data]
    assert len(default.data[0].embedding) == 8
    assert default.usage.prompt_tokens == 3
