"""Every field that reaches a provider is scanned or refused (issue 10, defect 4), end to end:
a secret in a tool's description, a structured-output schema, a predicted output, a name or an
unknown field is redacted before the mock upstream sees it; parts the guardrails cannot read
(audio, files) are refused."""

from __future__ import annotations

import secrets
import string

import httpx

from tests.stack import Stack


def fake_openai_key() -> str:
    alphabet = string.ascii_letters + string.digits
    return "sk-proj-" + "".join(secrets.choice(alphabet) for _ in range(40))


def upstream_body(stack: Stack) -> str:
    seen: list[dict[str, object]] = httpx.get(f"{stack.mock}/_mock/requests").json()
    return str(seen[-1]["body"])


def post(stack: Stack, path: str, body: dict[str, object]) -> httpx.Response:
    headers = {"authorization": f"Bearer {stack.api_key}", "anthropic-version": "2023-06-01"}
    return httpx.post(f"{stack.edge}{path}", json=body, headers=headers, timeout=20)


def test_secret_in_a_tool_description_never_reaches_the_upstream(stack: Stack) -> None:
    secret = fake_openai_key()
    tool = {"type": "function", "function": {"name": "lookup", "description": f"Call with key {secret}",
            "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}  # fmt: skip
    answered = post(stack, "/v1/chat/completions", {"model": "mock-gpt-4o-mini", "tools": [tool],
                                                    "messages": [{"role": "user", "content": "hi"}]})  # fmt: skip
    assert answered.status_code in (200, 400, 403), answered.text
    if answered.status_code == 200:  # the built-in policy redacts secrets
        sent = upstream_body(stack)
        assert secret not in sent
        assert "[REDACTED_OPENAI_KEY]" in sent


def test_secrets_in_other_request_fields_are_redacted(stack: Stack) -> None:
    keys = [fake_openai_key() for _ in range(6)]
    body = {
        "model": "mock-gpt-4o-mini",
        "messages": [{"role": "user", "name": keys[0], "content": "hi"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "out", "schema": {
            "type": "object", "properties": {"a": {"type": "string", "description": keys[1]}}}}},
        "prediction": {"type": "content", "content": f"draft {keys[2]}"},
        "functions": [{"name": "legacy", "description": keys[3]}],
        "metadata": {"note": keys[4]},
        "some_future_field": {"deep": [f"x {keys[5]}"]},
    }  # fmt: skip
    answered = post(stack, "/v1/chat/completions", body)
    assert answered.status_code == 200, answered.text
    sent = upstream_body(stack)
    assert not [i for i, k in enumerate(keys) if k in sent]


def test_messages_api_tool_definitions_are_redacted(stack: Stack) -> None:
    secret = fake_openai_key()
    body = {"model": "mock-gpt-4o-mini", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}],
            "system": [{"type": "text", "text": "be brief"}],
            "tools": [{"name": "lookup", "description": f"key {secret}",
                       "input_schema": {"type": "object", "properties": {"q": {"type": "string", "title": secret}}}}]}  # fmt: skip
    answered = post(stack, "/v1/messages", body)
    assert answered.status_code == 200, answered.text
    assert secret not in upstream_body(stack)


def test_parts_the_guardrails_cannot_read_are_refused(stack: Stack) -> None:
    before = httpx.get(f"{stack.mock}/_mock/requests").json()
    for part in ({"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
                 {"type": "file", "file": {"file_id": "file-abc"}}):  # fmt: skip
        refused = post(stack, "/v1/chat/completions", {"model": "mock-gpt-4o-mini",
                                                       "messages": [{"role": "user", "content": [part]}]})  # fmt: skip
        assert refused.status_code == 400, refused.text
        error = refused.json()["error"]
        assert part["type"] in error["message"]
        assert error["code"] == "unreadable_content"
    assert len(httpx.get(f"{stack.mock}/_mock/requests").json()) == len(before)
