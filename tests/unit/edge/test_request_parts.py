"""Pure edge helpers: text extraction, key shape, client IP, allow-lists, body validation."""

from __future__ import annotations

import pytest

from libs.contracts.messages import KeyLimits
from libs.crypto import apikeys
from services.edge import textparts
from services.edge.access import check_ip, check_model, presented_key
from services.edge.errors import ApiError, from_denial
from services.edge.schemas import ChatRequest, EmbeddingsRequest, decode_object, validate


def test_collect_and_replace_every_text_part() -> None:
    body = {"model": "m", "messages": [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "data:x"}},
                                     {"type": "text", "text": "b"}]},
        {"role": "assistant", "content": None,
         "tool_calls": [{"id": "1", "type": "function", "function": {"name": "f", "arguments": '{"x":1}'}}]},
        {"role": "tool", "tool_call_id": "1", "content": "result"},
    ], "metadata": {"k": "v"}}  # fmt: skip
    found = textparts.collect(body, ChatRequest)
    assert found.texts == ["sys", "a", "x", "b", "1", "f", '{"x":1}', "1", "result", '{"k":"v"}']
    assert found.unreadable == [(("messages", 1, "content", 1, "image_url", "url"), "image_url")]
    textparts.replace(body, found, [t.upper() for t in found.texts])
    assert body["messages"][1]["content"][1]["image_url"]["url"] == "data:X"  # type: ignore[index]
    messages = body["messages"]
    assert messages[1]["content"][2]["text"] == "B"  # type: ignore[index]
    assert messages[2]["tool_calls"][0]["function"]["arguments"] == '{"X":1}'  # type: ignore[index]
    assert messages[3]["content"] == "RESULT"  # type: ignore[index]
    assert body["metadata"] == {"K": "V"}
    assert body["model"] == "m"


def test_presented_key_shapes() -> None:
    key = apikeys.generate("prjabcdef")
    assert presented_key({"authorization": f"Bearer {key}"}) == key
    assert presented_key({"x-api-key": key}) == key
    with pytest.raises(ApiError) as missing:
        presented_key({})
    assert missing.value.status == 401
    typo = key[:-1] + ("A" if key[-1] != "A" else "B")
    with pytest.raises(ApiError) as bad:
        presented_key({"authorization": f"Bearer {typo}"})
    assert bad.value.status == 401
    assert typo not in bad.value.message


def test_model_and_ip_allow_lists() -> None:
    limits = KeyLimits(allowed_models=["mock-*"], allowed_ips=["127.0.0.1/32", "2001:db8::/32"])
    check_model(limits, "mock-gpt-4o")
    check_ip(limits, "127.0.0.1")
    check_ip(limits, "2001:db8::1")
    with pytest.raises(ApiError) as model:
        check_model(limits, "gpt-4o")
    assert model.value.status == 403
    assert "allowed_models" in model.value.message
    with pytest.raises(ApiError) as ip:
        check_ip(limits, "10.1.2.3")
    assert ip.value.status == 403
    assert "allowed_ips" in ip.value.message
    check_model(KeyLimits(), "anything")


def test_body_validation_messages() -> None:
    with pytest.raises(ValueError, match="parse"):
        decode_object(b"{bad")
    with pytest.raises(ValueError, match="object"):
        decode_object(b"[1]")
    with pytest.raises(ValueError, match="messages"):
        validate({"model": "m", "messages": []}, ChatRequest)
    ok = validate({"model": "m", "messages": [{"role": "user", "content": "x"}], "extra": 1}, ChatRequest)
    assert ok.model == "m"


def test_embedding_dimensions_are_bounded_before_any_upstream_sees_them() -> None:
    """A fuzzer's ``dimensions: 10**9`` once made the mock provider spin for minutes: a real
    provider refuses it too, so the edge does, as a client error."""
    assert validate({"model": "e", "input": "x", "dimensions": 3072}, EmbeddingsRequest).dimensions == 3072
    for bad in (0, 16_385, 10**9):
        with pytest.raises(ValueError, match="dimensions"):
            validate({"model": "e", "input": "x", "dimensions": bad}, EmbeddingsRequest)


def test_denials_map_to_statuses() -> None:
    assert from_denial("auth.key_invalid", "x").status == 401
    assert from_denial("vault.model_not_found", "x").status == 404
    assert from_denial("guard.blocked", "x").status == 400
    assert from_denial("something.new", "x").status == 403
