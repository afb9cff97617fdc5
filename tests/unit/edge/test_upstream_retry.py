"""The OpenAI adapter resends once when a pooled connection closed before any response."""

from __future__ import annotations

import httpx
import pytest

from libs.contracts.messages import Resolved
from services.edge.errors import ApiError
from services.edge.upstream.openai import OpenAIAdapter

TARGET = Resolved(provider_id="p", provider="mock", adapter="openai_compatible", base_url="http://up/v1",
                  upstream_model="m")  # fmt: skip
OK = {"id": "x", "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}],
      "usage": {"prompt_tokens": 3, "completion_tokens": 1}}  # fmt: skip


def adapter(responses: list[object]) -> tuple[OpenAIAdapter, list[int]]:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        item = responses[len(calls) - 1]
        if isinstance(item, Exception):
            raise item
        assert isinstance(item, httpx.Response)
        return item

    return OpenAIAdapter(httpx.AsyncClient(transport=httpx.MockTransport(handler)), 1.0), calls


async def test_resends_once_after_a_stale_connection() -> None:
    ad, calls = adapter([httpx.RemoteProtocolError("Server disconnected without sending a response."),
                         httpx.Response(200, json=OK)])  # fmt: skip
    result = await ad.chat(TARGET, {"messages": []}, 10)
    assert result.usage.prompt_tokens == 3
    assert len(calls) == 2


async def test_other_failures_are_not_retried_and_map_to_502_504() -> None:
    ad, calls = adapter([httpx.ReadTimeout("slow")])
    with pytest.raises(ApiError) as timeout:
        await ad.chat(TARGET, {"messages": []}, 10)
    assert timeout.value.status == 504
    assert len(calls) == 1
    ad, _ = adapter([httpx.Response(500, json={"error": {"message": "boom"}})])
    with pytest.raises(ApiError) as upstream:
        await ad.chat(TARGET, {"messages": []}, 10)
    assert upstream.value.status == 502
    ad, _ = adapter([httpx.Response(429, headers={"retry-after": "7"}, json={"error": {"message": "slow down"}})])
    with pytest.raises(ApiError) as limited:
        await ad.chat(TARGET, {"messages": []}, 10)
    assert limited.value.status == 429
    assert limited.value.headers["retry-after"] == "7"
