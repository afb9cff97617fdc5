"""The OpenAI adapter resends once when a pooled connection closed before any response."""

from __future__ import annotations

import asyncio

import aiohttp
import msgspec
import pytest

from libs.contracts.messages import Resolved
from libs.svc.egress import EgressPolicy
from libs.svc.egress_http import GuardedClient
from services.edge.errors import ApiError
from services.edge.upstream.openai import OpenAIAdapter
from tests.fakeupstream import Canned, FakeUpstream, canned

TARGET = Resolved(provider_id="p", provider="mock", adapter="openai_compatible", base_url="http://up/v1",
                  upstream_model="m")  # fmt: skip
OK = {"id": "x", "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}],
      "usage": {"prompt_tokens": 3, "completion_tokens": 1}}  # fmt: skip


def adapter(responses: list[object]) -> tuple[OpenAIAdapter, list[int]]:
    calls: list[int] = []

    def handler(request: object) -> Canned:
        calls.append(1)
        item = responses[len(calls) - 1]
        if isinstance(item, Exception):
            raise item
        assert isinstance(item, Canned)
        return item

    return OpenAIAdapter(FakeUpstream(handler), 1.0), calls  # type: ignore[arg-type]


async def test_resends_once_after_a_stale_connection() -> None:
    ad, calls = adapter([aiohttp.ServerDisconnectedError(),
                         canned(200, json=OK)])  # fmt: skip
    result = await ad.chat(TARGET, {"messages": []}, 10)
    assert result.usage.prompt_tokens == 3
    assert len(calls) == 2


async def test_other_failures_are_not_retried_and_map_to_502_504() -> None:
    ad, calls = adapter([aiohttp.SocketTimeoutError("slow")])
    with pytest.raises(ApiError) as timeout:
        await ad.chat(TARGET, {"messages": []}, 10)
    assert timeout.value.status == 504
    assert len(calls) == 1
    ad, _ = adapter([canned(500, json={"error": {"message": "boom"}})])
    with pytest.raises(ApiError) as upstream:
        await ad.chat(TARGET, {"messages": []}, 10)
    assert upstream.value.status == 502
    ad, _ = adapter([canned(429, headers={"retry-after": "7"}, json={"error": {"message": "slow down"}})])
    with pytest.raises(ApiError) as limited:
        await ad.chat(TARGET, {"messages": []}, 10)
    assert limited.value.status == 429
    assert limited.value.headers["retry-after"] == "7"


async def test_upstream_error_messages_never_carry_key_material() -> None:
    quoted = "Incorrect API key provided: sk-proj-abcdefghijklmnopqrstuvwxyz123456. Find yours at platform."
    ad, _ = adapter([canned(401, json={"error": {"message": quoted}})])
    with pytest.raises(ApiError) as err:
        await ad.chat(TARGET, {"messages": []}, 10)
    assert err.value.status == 502  # the gateway's provider key failed: not the client's to fix
    assert "sk-proj-" not in err.value.message

    google = "API key not valid: AIzaSyA1234567890abcdefghijklmnopqrstuv. Please pass a valid API key."
    ad, _ = adapter([canned(400, json={"error": {"message": google}})])
    with pytest.raises(ApiError) as err:
        await ad.chat(TARGET, {"messages": []}, 10)
    assert err.value.status == 400
    assert "AIza" not in err.value.message
    assert "[REDACTED]" in err.value.message


async def test_an_upstream_quoting_the_provider_key_back_never_shows_it() -> None:
    # A provider key shaped like no known format (the scrubber cannot know it), quoted whole and in
    # part by the upstream's 400: the client gets the message with every piece of the key masked.
    key = "cnry.Zq8x0Lw2Vb7Nm4Kj6Hg1Fd3Sa5Pp9+/"
    target = msgspec.structs.replace(TARGET, api_key=key)
    quoted = f"Invalid key {key}; the key starting {key[:12]} and ending {key[-10:]}! is not allowed ({key[5:20]})."
    ad, _ = adapter([canned(400, json={"error": {"message": quoted}})])
    with pytest.raises(ApiError) as err:
        await ad.chat(target, {"messages": []}, 10)
    assert err.value.status == 400
    for i in range(len(key) - 7):
        assert key[i : i + 8] not in err.value.message
    assert err.value.message.startswith("Invalid key [REDACTED]; the key starting [REDACTED] and ending [REDACTED]!")


async def test_a_pooled_connection_dropped_before_answering_is_resent_once_on_a_new_one() -> None:
    # each connection answers its first request (keep-alive) and drops the second unanswered
    answer = msgspec.json.encode(OK)
    connections: list[int] = []

    async def once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        for served in range(2):
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1])
            await reader.readexactly(length)
            if served:
                break
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(answer) + answer)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(once, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = GuardedClient(EgressPolicy(["127.0.0.1/32"]))
    target = msgspec.structs.replace(TARGET, base_url=f"http://127.0.0.1:{port}/v1")
    async with server:
        ad = OpenAIAdapter(client, 1.0)
        for _ in range(2):
            assert (await ad.chat(target, {"messages": []}, 10)).usage.prompt_tokens == 3
    await client.aclose()
    assert len(connections) == 2, "the second call went out again, on a new connection"
