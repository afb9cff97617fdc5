"""A provider's stream cannot make the edge buffer without bound (one event ≤ MAX_EVENT_BYTES)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
import pytest

from services.edge.upstream import sse as sse_module
from services.edge.upstream.base import Usage, relay_chunks
from services.edge.upstream.sse import EventTooLarge, sse_events
from tests.fakeupstream import response


class Chunked:
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk


async def collect(chunks: list[bytes]) -> list[tuple[str, str]]:
    return [item async for item in sse_events(Chunked(chunks))]


async def test_a_line_that_never_ends_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sse_module, "MAX_EVENT_BYTES", 1000)
    with pytest.raises(EventTooLarge):
        await collect([b"data: " + b"x" * 100] * 20)


async def test_an_event_of_many_data_lines_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sse_module, "MAX_EVENT_BYTES", 1000)
    with pytest.raises(EventTooLarge):
        await collect([b"data: " + b"y" * 90 + b"\n"] * 20)  # never a blank line


async def test_events_within_the_bound_pass_whatever_the_chunking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sse_module, "MAX_EVENT_BYTES", 1000)
    body = b"".join(b"data: " + bytes([97 + i]) * 900 + b"\r\n\r\n" for i in range(5))
    for size in (1, 7, 64, len(body)):
        events = await collect([body[i : i + size] for i in range(0, len(body), size)])
        assert [data for _, data in events] == [chr(97 + i) * 900 for i in range(5)]


async def test_a_too_large_event_ends_the_relayed_stream_with_an_error_event(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sse_module, "MAX_EVENT_BYTES", 1000)
    upstream = response(200, b"data: " + b"z" * 5000)

    async def chunks(r: object) -> AsyncIterator[dict[str, object]]:
        async for _, data in sse_events(upstream):
            yield msgspec.json.decode(data)

    frames = [f async for f in relay_chunks(upstream, chunks, Usage(), 10, False)]
    assert len(frames) == 1
    error = msgspec.json.decode(frames[0][6:])["error"]
    assert "too large" in error["message"]
