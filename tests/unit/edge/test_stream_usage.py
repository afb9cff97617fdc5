"""A relayed stream's usage is known at every frame (estimated until the provider reports it), so a
stream that ends early — the client gone — is still metered."""

from __future__ import annotations

from typing import Any

import msgspec

from libs.svc.egress_http import Response
from services.edge.upstream.base import StreamResult, Usage, relay_chunks
from services.edge.upstream.sse import sse_events
from tests.fakeupstream import response


def _response(chunks: list[dict[str, Any]]) -> Response:
    body = b"".join(b"data: " + msgspec.json.encode(c) + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"
    return response(200, body)


async def _chunks(upstream: Response) -> Any:
    async for _, data in sse_events(upstream):
        if data.startswith("{"):
            yield msgspec.json.decode(data)


def _delta(text: str) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"content": text}}]}


async def test_usage_is_estimated_frame_by_frame_until_the_provider_reports_it() -> None:
    usage = Usage()
    response = _response([_delta("a" * 40), _delta("b" * 40), {"choices": [], "usage": {
        "prompt_tokens": 7, "completion_tokens": 9}}])  # fmt: skip
    frames = relay_chunks(response, _chunks, usage, prompt_chars=400, include_usage=False)
    await anext(frames)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.estimated) == (100, 10, True)
    await anext(frames)
    assert (usage.prompt_tokens, usage.completion_tokens, usage.estimated) == (100, 20, True)
    rest = [frame async for frame in frames]
    assert rest == [b"data: [DONE]\n\n"]  # the usage-only chunk is metered, not shown
    assert (usage.prompt_tokens, usage.completion_tokens, usage.estimated) == (7, 9, False)


async def test_closing_a_stream_that_never_started_still_closes_the_upstream() -> None:
    response = _response([_delta("x")])
    usage = Usage()
    result = StreamResult(frames=relay_chunks(response, _chunks, usage, 10, False), usage=usage, response=response)
    await result.close()
    assert response.closed
