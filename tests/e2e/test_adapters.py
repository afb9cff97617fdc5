"""Every adapter behind both client formats, with the official SDKs, against mock upstreams that
speak each provider's wire format: JSON, streams, tool calls, embeddings, errors and timeouts."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass

import anthropic
import httpx
import openai
import pytest

from tests.stack import Stack


@dataclass
class Upstreams:
    anth: str
    gem: str
    slow: str
    keys: dict[str, str]


@pytest.fixture(scope="module")
def upstreams(stack: Stack) -> Iterator[Upstreams]:
    suffix = time.time_ns() % 10**8
    names = {"anthropic": f"anth{suffix}", "gemini": f"gem{suffix}", "slow": f"slow{suffix}"}
    keys = {name: f"sk-{kind}-" + secrets.token_urlsafe(24) for kind, name in names.items()}
    stack.created_secrets.extend(keys.values())
    specs = [
        {"name": names["anthropic"], "adapter": "anthropic", "base_url": f"{stack.mock}/v1",
         "models": ["claude-mock-1"]},
        {"name": names["gemini"], "adapter": "gemini", "base_url": f"{stack.mock}/v1beta",
         "models": ["gemini-mock-1"]},
        {"name": names["slow"], "adapter": "anthropic", "base_url": f"{stack.mock}/v1", "timeout_s": 1.0},
    ]  # fmt: skip
    ids = []
    with stack.admin() as http:
        for spec in specs:
            made = http.post("/v1/providers/", json={**spec, "api_key": keys[str(spec["name"])]})
            assert made.status_code == 201, made.text
            ids.append(made.json()["id"])
    yield Upstreams(anth=names["anthropic"], gem=names["gemini"], slow=names["slow"], keys=keys)
    with stack.admin() as http:
        for provider_id in ids:
            http.delete(f"/v1/providers/{provider_id}")


@pytest.fixture(scope="module")
def oai(stack: Stack) -> openai.OpenAI:
    return openai.OpenAI(base_url=stack.base_url, api_key=stack.api_key, max_retries=0, timeout=15)


@pytest.fixture(scope="module")
def claude(stack: Stack) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=stack.edge, api_key=stack.api_key, max_retries=0, timeout=15)


def last_upstream_request(stack: Stack) -> dict[str, object]:
    seen: list[dict[str, object]] = httpx.get(f"{stack.mock}/_mock/requests").json()
    return seen[-1]


MODELS = ["mock-gpt-4o-mini", "claude-mock-1", "gemini-mock-1"]
TOOL = {"type": "function", "function": {"name": "search", "description": "Search the web.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}}  # fmt: skip


@pytest.mark.parametrize("model", MODELS)
def test_openai_sdk_json_and_stream_on_every_adapter(
    stack: Stack, upstreams: Upstreams, oai: openai.OpenAI, model: str
) -> None:
    done = oai.chat.completions.create(model=model, messages=[{"role": "system", "content": "Be kind."},
                                                              {"role": "user", "content": "Hello adapter"}])  # fmt: skip
    assert done.choices[0].message.content == "Mock reply: Hello adapter"
    assert done.choices[0].finish_reason == "stop"
    assert done.usage is not None
    assert done.usage.prompt_tokens > 0
    assert done.usage.completion_tokens > 0
    seen = last_upstream_request(stack)
    if model.startswith("claude"):
        assert seen["auth"] == upstreams.keys[upstreams.anth]
        assert seen["body"]["system"] == "Be kind."  # type: ignore[index]
    if model.startswith("gemini"):
        assert seen["auth"] == upstreams.keys[upstreams.gem]
        assert seen["body"]["systemInstruction"] == {"parts": [{"text": "Be kind."}]}  # type: ignore[index]

    chunks = list(oai.chat.completions.create(model=model, messages=[{"role": "user", "content": "Stream me"}],
                                              stream=True, stream_options={"include_usage": True}))  # fmt: skip
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Mock reply: Stream me"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0


@pytest.mark.parametrize("model", MODELS)
def test_anthropic_sdk_json_and_stream_on_every_adapter(
    stack: Stack, upstreams: Upstreams, claude: anthropic.Anthropic, model: str
) -> None:
    message = claude.messages.create(model=model, max_tokens=64, system="Be kind.",
                                     messages=[{"role": "user", "content": "Hello claude"}])  # fmt: skip
    assert message.type == "message"
    assert message.content[0].type == "text"
    assert message.content[0].text == "Mock reply: Hello claude"
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens > 0
    with claude.messages.stream(model=model, max_tokens=64,
                                messages=[{"role": "user", "content": "Stream claude"}]) as stream:  # fmt: skip
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Mock reply: Stream claude"
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0


@pytest.mark.parametrize("model", MODELS)
def test_tool_calls_cross_formats(stack: Stack, upstreams: Upstreams, oai: openai.OpenAI,
                                  claude: anthropic.Anthropic, model: str) -> None:  # fmt: skip
    done = oai.chat.completions.create(model=model, tools=[TOOL],  # type: ignore[list-item]
                                       messages=[{"role": "user", "content": "please use tool for cats"}])  # fmt: skip
    call = done.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert done.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "search"  # type: ignore[union-attr]
    assert "query" in call.function.arguments  # type: ignore[union-attr]

    tools = [{"name": "search", "description": "Search the web.", "input_schema": TOOL["function"]["parameters"]}]  # type: ignore[index]
    message = claude.messages.create(model=model, max_tokens=64, tools=tools,  # type: ignore[arg-type]
                                     messages=[{"role": "user", "content": "please use tool for dogs"}])  # fmt: skip
    assert message.stop_reason == "tool_use"
    use = next(b for b in message.content if b.type == "tool_use")
    assert use.name == "search"
    assert "query" in use.input  # type: ignore[operator]
    # the tool result goes back in the next turn, in the client's format
    follow = claude.messages.create(model=model, max_tokens=64, tools=tools,  # type: ignore[arg-type]
                                    messages=[{"role": "user", "content": "please use tool for dogs"},
                                              {"role": "assistant", "content": message.content},  # type: ignore[typeddict-item]
                                              {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                                                            "content": "dogs are great"}]}])  # fmt: skip
    assert follow.type == "message"
    with claude.messages.stream(model=model, max_tokens=64, tools=tools,  # type: ignore[arg-type]
                                messages=[{"role": "user", "content": "use tool: streamed"}]) as stream:  # fmt: skip
        final = stream.get_final_message()
    streamed = next(b for b in final.content if b.type == "tool_use")
    assert streamed.name == "search"
    assert "query" in streamed.input  # type: ignore[operator]


def test_embeddings_per_adapter(stack: Stack, upstreams: Upstreams, oai: openai.OpenAI) -> None:
    for model in ("mock-gpt-4o-mini", "gemini-mock-1"):
        result = oai.embeddings.create(model=model, input=["one", "two"])  # the SDK asks for base64
        assert [d.index for d in result.data] == [0, 1]
        assert len(result.data[0].embedding) > 0
        assert all(isinstance(x, float) for x in result.data[0].embedding)
        floats = oai.embeddings.create(model=model, input="one", encoding_format="float")
        assert floats.data[0].embedding == pytest.approx(result.data[0].embedding)
    with pytest.raises(openai.BadRequestError) as err:
        oai.embeddings.create(model="claude-mock-1", input="x")
    assert "does not support embeddings" in str(err.value)
    with pytest.raises(openai.BadRequestError):
        oai.embeddings.create(model="mock-gpt-4o-mini", input=[[1, 2, 3]])


@pytest.mark.parametrize("provider", ["anth", "gem"])
def test_upstream_errors_map_to_each_client_format(
    stack: Stack, upstreams: Upstreams, oai: openai.OpenAI, claude: anthropic.Anthropic, provider: str
) -> None:
    name = getattr(upstreams, provider)
    with pytest.raises(openai.RateLimitError) as limited:
        oai.chat.completions.create(model=f"{name}/fail-429-retry", messages=[{"role": "user", "content": "x"}])
    assert limited.value.response.headers["retry-after"] == "7"  # Gemini's comes from RetryInfo in the body
    with pytest.raises(openai.APIStatusError) as failed:
        oai.chat.completions.create(model=f"{name}/fail-500", messages=[{"role": "user", "content": "x"}])
    assert failed.value.status_code == 502
    with pytest.raises(anthropic.RateLimitError) as anth_limited:
        claude.messages.create(model=f"{name}/fail-429", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert anth_limited.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    with pytest.raises(anthropic.InternalServerError) as anth_failed:
        claude.messages.create(model=f"{name}/fail-500", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert anth_failed.value.status_code == 502


def test_upstream_timeout_is_504_in_both_formats(upstreams: Upstreams, oai: openai.OpenAI,
                                                 claude: anthropic.Anthropic) -> None:  # fmt: skip
    started = time.monotonic()
    with pytest.raises(openai.APIStatusError) as err:
        oai.chat.completions.create(model=f"{upstreams.slow}/slow-3000", messages=[{"role": "user", "content": "x"}])
    assert err.value.status_code == 504
    assert time.monotonic() - started < 2.5
    with pytest.raises(anthropic.APIStatusError) as anth_err:
        claude.messages.create(model=f"{upstreams.slow}/slow-3000", max_tokens=8,
                               messages=[{"role": "user", "content": "x"}])  # fmt: skip
    assert anth_err.value.status_code == 504
    assert anth_err.value.body["error"]["type"] == "timeout_error"  # type: ignore[index]


def test_both_sdks_list_models(upstreams: Upstreams, oai: openai.OpenAI, claude: anthropic.Anthropic) -> None:
    openai_ids = {m.id for m in oai.models.list()}
    anthropic_ids = {m.id for m in claude.models.list()}
    assert {"mock-gpt-4o-mini", "claude-mock-1", "gemini-mock-1"} <= openai_ids
    assert anthropic_ids == openai_ids


def test_anthropic_format_errors_for_client_mistakes(stack: Stack, claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as err:
        claude.messages.create(model="claude-mock-1", max_tokens=0, messages=[{"role": "user", "content": "x"}])
    assert err.value.body["type"] == "error"  # type: ignore[index]
    assert err.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    bad_key = anthropic.Anthropic(base_url=stack.edge, api_key="sk-nope", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        bad_key.messages.create(model="claude-mock-1", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    with pytest.raises(anthropic.NotFoundError):
        claude.messages.create(model="no-such-model", max_tokens=8, messages=[{"role": "user", "content": "x"}])
    raw = httpx.post(f"{stack.edge}/v1/messages", headers={"x-api-key": stack.api_key}, content=b"{nope")
    assert raw.status_code == 400
    assert raw.json()["error"]["type"] == "invalid_request_error"


def test_mid_stream_upstream_error_reaches_the_client(upstreams: Upstreams, claude: anthropic.Anthropic) -> None:
    with (
        pytest.raises(anthropic.APIStatusError),
        claude.messages.stream(
            model=f"{upstreams.anth}/midstream-error", max_tokens=8, messages=[{"role": "user", "content": "x y z"}]
        ) as stream,
    ):
        "".join(stream.text_stream)


def test_catch_all_openai_compatible_provider_serves_any_model_name(stack: Stack) -> None:
    """How benchmarks point the gateway at a mock upstream: an OpenAI-compatible provider listing
    ``*`` serves every model name no other route claims (its own organisation here, so the demo
    organisation keeps its 404s)."""
    bench = stack.new_org("Bench")
    key, token = bench["key"], bench["token"]
    with stack.admin(token) as http:
        made = http.post("/v1/providers/", json={"name": "bench", "adapter": "openai_compatible",
                                                 "base_url": f"{stack.mock}/v1", "models": ["*"]})  # fmt: skip
        assert made.status_code == 201, made.text
    client = openai.OpenAI(base_url=stack.base_url, api_key=key, max_retries=0, timeout=10)
    for name in ("gpt-4o-mini", "some/odd-model:latest", "llama-3.1-8b-instruct"):
        done = client.chat.completions.create(model=name, messages=[{"role": "user", "content": "hi"}])
        assert done.choices[0].message.content == "Mock reply: hi"
        assert last_upstream_request(stack)["body"]["model"] == name  # type: ignore[index]
    assert "*" not in {m.id for m in client.models.list()}


@pytest.mark.parametrize("model", MODELS)
def test_anthropic_sdk_counts_tokens_on_every_adapter(
    stack: Stack, upstreams: Upstreams, claude: anthropic.Anthropic, model: str
) -> None:
    counted = claude.messages.count_tokens(model=model, system="Be brief.",
                                           messages=[{"role": "user", "content": "one two three four"}])  # fmt: skip
    assert counted.input_tokens > 0
    if model.startswith("claude"):
        assert last_upstream_request(stack)["path"] == "/v1/messages/count_tokens"
        assert counted.input_tokens == 6  # the mock counts words: system + message
    if model.startswith("gemini"):
        assert str(last_upstream_request(stack)["path"]).endswith(":countTokens")
        assert counted.input_tokens == 6
    raw = httpx.post(f"{stack.edge}/v1/messages/count_tokens", headers={"x-api-key": stack.api_key},
                     json={"model": model, "messages": [{"role": "user", "content": "one two three four"}]})  # fmt: skip
    assert raw.status_code == 200
    assert (raw.headers.get("x-bastion-estimated") == "true") == model.startswith("mock-gpt")


def test_guardrails_apply_to_the_messages_api_in_and_out(stack: Stack, upstreams: Upstreams,
                                                         claude: anthropic.Anthropic) -> None:  # fmt: skip
    """Input redaction reaches an Anthropic upstream already redacted (system prompt and text); a
    secret the model echoes is redacted in the Anthropic-format stream, split across chunks."""
    secret = "sk-proj-" + "Gh3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0Q"
    claude.messages.create(model="claude-mock-1", max_tokens=32, system=f"ops key {secret}",
                           messages=[{"role": "user", "content": f"my key is {secret}"}])  # fmt: skip
    sent = last_upstream_request(stack)["body"]
    assert secret not in str(sent)
    assert "[REDACTED_OPENAI_KEY]" in str(sent["system"])  # type: ignore[index]
    # a project whose secrets rule acts on output only: the secret reaches the mock, which echoes it
    with stack.admin() as http:
        project = http.post("/v1/projects/", json={"name": f"msg-guard-{time.time_ns()}"}).json()["id"]
        key = http.post("/v1/keys/", json={"project_id": project}).json()["key"]
        made = http.post("/v1/guardrails/rules", json={"project_id": project, "kind": "secrets", "action": "redact",
                                                       "direction": "output"})  # fmt: skip
        assert made.status_code == 201, made.text
    stack.created_secrets.append(key)
    time.sleep(0.3)
    scoped = anthropic.Anthropic(base_url=stack.edge, api_key=key, max_retries=0, timeout=15)
    with scoped.messages.stream(model="mock/mock-chunk-3", max_tokens=32,
                                messages=[{"role": "user", "content": f"echo {secret} now"}]) as stream:  # fmt: skip
        text = "".join(stream.text_stream)
    assert secret in str(last_upstream_request(stack)["body"])  # the input went up as it was
    assert secret not in text
    assert "[REDACTED_OPENAI_KEY]" in text
    assert text.startswith("Mock reply: echo ")
