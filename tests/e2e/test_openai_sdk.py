"""The official openai SDK against the running stack, JSON and streaming; error mapping."""

from __future__ import annotations

import httpx
import openai
import pytest

from libs.crypto import apikeys
from tests.stack import Stack

MODEL = "mock-gpt-4o-mini"


@pytest.fixture(scope="module")
def client(stack: Stack) -> openai.OpenAI:
    return openai.OpenAI(base_url=stack.base_url, api_key=stack.api_key, max_retries=0, timeout=10)


def test_readyz_and_healthz(stack: Stack) -> None:
    assert httpx.get(f"{stack.edge}/healthz").status_code == 200
    ready = httpx.get(f"{stack.edge}/readyz")
    assert ready.status_code == 200
    assert set(ready.json()["services"].values()) == {"ok"}


def test_chat_completion_json(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hello there"}])
    assert completion.choices[0].message.content == "Mock reply: Hello there"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens > 0
    assert completion.usage.completion_tokens > 0


def test_chat_completion_stream_with_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "stream me"}], stream=True,
        stream_options={"include_usage": True},
    )  # fmt: skip
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Mock reply: stream me"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens > 0


def test_stream_without_include_usage_has_no_usage_chunk(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}],
                                                 stream=True))  # fmt: skip
    assert chunks
    assert all(c.usage is None for c in chunks)
    assert all(c.choices for c in chunks)


def test_models_list(client: openai.OpenAI) -> None:
    ids = {m.id for m in client.models.list()}
    assert MODEL in ids


def test_unknown_but_wellformed_key_is_401(stack: Stack) -> None:
    stranger = openai.OpenAI(base_url=stack.base_url, api_key=apikeys.generate("prjnobody1"), max_retries=0)
    with pytest.raises(openai.AuthenticationError) as err:
        stranger.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}])
    assert err.value.status_code == 401
    assert err.value.body["code"] == "invalid_api_key"  # type: ignore[index]


def test_malformed_key_is_401(stack: Stack) -> None:
    bad = openai.OpenAI(base_url=stack.base_url, api_key="sk-proj_nothing_here", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()


def test_unknown_model_is_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    assert err.value.body["code"] == "model_not_found"  # type: ignore[index]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (b'{"model": "mock-gpt-4o-mini"}', 400),
        (b'{"model": "mock-gpt-4o-mini", "messages": [{"content": "no role"}]}', 400),
        (b'{"model": 5, "messages": [{"role": "user", "content": "x"}]}', 400),
    ],
)
def test_bad_bodies_are_400_in_openai_format(stack: Stack, body: bytes, status: int) -> None:
    response = httpx.post(f"{stack.base_url}/chat/completions", content=body,
                          headers={"authorization": f"Bearer {stack.api_key}", "content-type": "application/json"})  # fmt: skip
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert response.headers["x-request-id"]


def test_body_over_limit_is_413(stack: Stack) -> None:
    big = b'{"model": "mock-gpt-4o-mini", "messages": [{"role": "user", "content": "' + b"a" * 300_000 + b'"}]}'
    response = httpx.post(f"{stack.base_url}/chat/completions", content=big,
                          headers={"authorization": f"Bearer {stack.api_key}"})  # fmt: skip
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_every_response_has_a_request_id(stack: Stack) -> None:
    for response in (
        httpx.get(f"{stack.edge}/nope"),
        httpx.get(f"{stack.edge}/healthz"),
        httpx.post(f"{stack.base_url}/chat/completions", content=b"{}"),
    ):
        assert response.headers.get("x-request-id", "").startswith("req_")
    echoed = httpx.get(f"{stack.edge}/healthz", headers={"x-request-id": "client-id-123"})
    assert echoed.headers["x-request-id"].startswith("req_")  # always the gateway's own
    assert echoed.headers["x-client-request-id"] == "client-id-123"
    assert httpx.get(f"{stack.edge}/nope").json()["error"]["message"]


def test_secrets_are_redacted_before_the_upstream(stack: Stack, client: openai.OpenAI) -> None:
    httpx.post(f"{stack.mock}/_mock/reset")
    secret = "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0f"
    client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": f"my key is {secret}"}])
    seen = httpx.get(f"{stack.mock}/_mock/requests").json()
    sent = seen[-1]["body"]["messages"][0]["content"]
    assert secret not in sent
    assert "[REDACTED_OPENAI_KEY]" in sent
