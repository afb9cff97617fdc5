"""Adversarial review of the data plane (issue 10, items 4 and 5), end to end against the
session stack: an API-key holder tries to get a secret past the guardrails to the provider, and
to get more completion than its USD hold covers. Only the mock upstream on 127.0.0.1 is used."""

from __future__ import annotations

import secrets
import string
from typing import Any

import httpx
import pytest

from tests.stack import Stack

pytestmark = pytest.mark.e2e


def _fake_openai_key() -> str:
    alphabet = string.ascii_letters + string.digits
    return "sk-proj-" + "".join(secrets.choice(alphabet) for _ in range(40))


def _last_upstream(stack: Stack) -> dict[str, Any]:
    seen: list[dict[str, Any]] = httpx.get(f"{stack.mock}/_mock/requests").json()
    return seen[-1]


def _upstream_count(stack: Stack) -> int:
    return len(httpx.get(f"{stack.mock}/_mock/requests").json())


def _chat(stack: Stack, key: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{stack.base_url}/chat/completions", json=body,
                      headers={"authorization": f"Bearer {key}"}, timeout=30)  # fmt: skip


@pytest.fixture(scope="module")
def catch_all(stack: Stack) -> dict[str, str]:
    """An organisation whose OpenAI-compatible provider serves any model name (``*``), priced,
    with a key limited to $5."""
    org = stack.new_org("Review")
    with stack.admin(org["token"]) as http:
        made = http.post("/v1/providers/", json={
            "name": "any", "adapter": "openai_compatible", "base_url": f"{stack.mock}/v1", "models": ["*"],
            "default_price": {"input": 2, "output": 8}})  # fmt: skip
        assert made.status_code == 201, made.text
        key = http.post("/v1/keys/", json={"project_id": org["project"], "usage_limit_usd": 5})
        assert key.status_code == 201, key.text
    stack.created_secrets.append(key.json()["key"])
    return {**org, "limited": key.json()["key"]}


def test_a_secret_in_the_model_name_never_reaches_the_upstream(stack: Stack, catch_all: dict[str, str]) -> None:
    secret = _fake_openai_key()
    before = _upstream_count(stack)
    answered = _chat(stack, catch_all["key"], {"model": f"m-{secret}", "messages": [{"role": "user", "content": "hi"}]})
    if answered.status_code == 200 or _upstream_count(stack) > before:
        assert secret not in str(_last_upstream(stack)["body"])
    else:
        assert answered.status_code in (400, 403, 404), answered.text


def test_a_secret_in_an_unknown_fields_keys_never_reaches_the_upstream(stack: Stack, catch_all: dict[str, str]) -> None:
    secret = _fake_openai_key()
    body = {"model": "any-model", "messages": [{"role": "user", "content": "hi"}],
            "x_vendor": {secret: 1, "n": [{secret[::-1][::-1]: True}]},
            "messages_extra": [{"role": "user", "content": [{"type": "text", "text": "t", "cache": secret}]}]}  # fmt: skip
    answered = _chat(stack, catch_all["key"], body)
    assert answered.status_code == 200, answered.text
    assert secret not in str(_last_upstream(stack)["body"])


def test_a_secret_in_an_unknown_part_type_or_message_field_never_reaches_the_upstream(
    stack: Stack, catch_all: dict[str, str]
) -> None:
    secret = _fake_openai_key()
    body = {"model": "any-model", "messages": [
        {"role": "user", "content": [{"type": "text", "text": "hi", "annotations": [secret]},
                                     {"type": "future_part", "payload": {"deep": secret}}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": f'{{"k": "{secret}"}}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": secret}]},
        {"role": "user", "content": "again", "extra": secret}]}  # fmt: skip
    answered = _chat(stack, catch_all["key"], body)
    assert answered.status_code in (200, 400), answered.text
    if answered.status_code == 200:
        assert secret not in str(_last_upstream(stack)["body"])


def test_a_secret_as_the_text_of_a_data_url_never_reaches_the_upstream(stack: Stack, catch_all: dict[str, str]) -> None:
    """Was a hole: a non-base64 ``data:`` image URL was treated as opaque picture bytes, but its
    payload is plain text: a secret after the comma reached the provider unscanned."""
    secret = _fake_openai_key()
    part = {"type": "image_url", "image_url": {"url": f"data:image/png,{secret}"}}
    before = _upstream_count(stack)
    answered = _chat(stack, catch_all["key"], {"model": "any-model", "messages": [{"role": "user", "content": [part]}]})
    if _upstream_count(stack) > before:
        assert secret not in str(_last_upstream(stack)["body"])
    else:
        assert answered.status_code == 400, answered.text


def test_a_usd_limited_request_cannot_send_a_larger_completion_limit_than_it_was_held_for(
    stack: Stack, catch_all: dict[str, str]
) -> None:
    """Was a hole: the hold counted ``max_completion_tokens or max_tokens`` while both went
    upstream, so a server reading ``max_tokens`` could produce far more than was held."""
    body = {"model": "any-model", "messages": [{"role": "user", "content": "hi"}],
            "max_completion_tokens": 1, "max_tokens": 100_000_000}  # fmt: skip
    answered = _chat(stack, catch_all["limited"], body)
    if answered.status_code == 200:
        sent = _last_upstream(stack)["body"]
        limits = [v for k, v in sent.items() if k in ("max_tokens", "max_completion_tokens")]
        assert max(limits) <= 1, sent
    else:
        assert answered.status_code in (400, 402, 403, 429), answered.text


def test_a_usd_limited_request_cannot_pass_vendor_options_that_change_the_completion_size(
    stack: Stack, catch_all: dict[str, str]
) -> None:
    body = {"model": "any-model", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1,
            "best_of": 128, "n_predict": 100_000_000, "options": {"num_predict": 100_000_000}}  # fmt: skip
    answered = _chat(stack, catch_all["limited"], body)
    if answered.status_code == 200:
        sent = _last_upstream(stack)["body"]
        assert not {"best_of", "n_predict", "options"} & set(sent), sent
    else:
        assert answered.status_code in (400, 403), answered.text


@pytest.fixture(scope="module")
def anthropic_org(stack: Stack) -> dict[str, str]:
    """An organisation with an Anthropic provider serving one cheap model, and a key limited to
    $5 and to that model."""
    org = stack.new_org("ReviewAnth")
    with stack.admin(org["token"]) as http:
        made = http.post("/v1/providers/", json={
            "name": "anth", "adapter": "anthropic", "base_url": f"{stack.mock}/v1", "api_key": "sk-ant-review",
            "models": ["claude-cheap-1"], "default_price": {"input": 1, "output": 1}})  # fmt: skip
        assert made.status_code == 201, made.text
        key = http.post("/v1/keys/", json={"project_id": org["project"], "usage_limit_usd": 5,
                                           "allowed_models": ["claude-cheap-1"]})  # fmt: skip
        assert key.status_code == 201, key.text
    stack.created_secrets.append(key.json()["key"])
    return {**org, "limited": key.json()["key"]}


def test_a_chat_request_cannot_override_the_anthropic_body_through_the_private_carry_over(
    stack: Stack, anthropic_org: dict[str, str]
) -> None:
    """``_anthropic`` is the edge's own carry-over from /v1/messages; a chat-completions client
    that sends one must not get it merged over the body the edge built (model, max_tokens)."""
    body = {"model": "claude-cheap-1", "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}],
            "_anthropic": {"model": "claude-opus-expensive", "max_tokens": 100_000_000}}  # fmt: skip
    answered = _chat(stack, anthropic_org["limited"], body)
    if answered.status_code == 200:
        sent = _last_upstream(stack)["body"]
        assert (sent["model"], sent["max_tokens"]) == ("claude-cheap-1", 1), sent
    else:
        assert answered.status_code == 400, answered.text


@pytest.mark.parametrize("option", [{"service_tier": "priority"}, {"web_search_options": {}},
                                    {"modalities": ["text", "audio"], "audio": {"voice": "alloy", "format": "wav"}}])  # fmt: skip
def test_a_usd_limited_request_cannot_buy_unpriced_extras(
    stack: Stack, catch_all: dict[str, str], option: dict[str, Any]
) -> None:
    body = {"model": "any-model", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4, **option}
    answered = _chat(stack, catch_all["limited"], body)
    if answered.status_code == 200:
        sent = _last_upstream(stack)["body"]
        assert not set(option) & set(sent), sent
    else:
        assert answered.status_code in (400, 403), answered.text


@pytest.mark.parametrize("max_tokens", [2**62, 2**64, 10**30])
def test_a_huge_max_tokens_is_refused_as_over_the_limit_not_a_metering_outage(
    stack: Stack, catch_all: dict[str, str], max_tokens: int
) -> None:
    """Was a hole: the hold (``max_tokens`` x price) overflowed the lease's bigint, the metering
    handler failed (an ERROR line each time) and the client got 503 "metering unavailable"."""
    body = {"model": "any-model", "messages": [{"role": "user", "content": "hi"}], "max_tokens": max_tokens}
    answered = _chat(stack, catch_all["limited"], body)
    assert answered.status_code == 429, answered.text
    assert answered.json()["error"]["message"].startswith("This API key has reached its usage limit")
