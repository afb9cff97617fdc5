"""Server-sent events: reading a provider's stream (WHATWG line and field rules, any chunking)
and writing one ``data:`` frame."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any, Protocol

import msgspec


class _Body(Protocol):
    def aiter_bytes(self) -> AsyncIterator[bytes]: ...


def sse(obj: Any) -> bytes:
    """One ``data:`` SSE frame."""
    return b"data: " + msgspec.json.encode(obj) + b"\n\n"


_LINE_END = re.compile(rb"\r\n|\r|\n")


async def sse_events(response: _Body) -> AsyncIterator[tuple[str, str]]:
    """``(event, data)`` pairs of a server-sent event stream, per the WHATWG parsing rules.

    Lines end only at CRLF, LF or CR — not at the other characters ``str.splitlines`` knows
    (U+2028, form feed, …), which may appear raw inside a JSON string — and a chunk may end
    anywhere, even between CR and LF. One space after the colon is removed; comments (``:``)
    are skipped; an event without data is not dispatched; one cut short by the end of the
    stream still is (providers that omit the last blank line).
    """
    event, buf = "", b""
    data: list[str] = []
    async for chunk in response.aiter_bytes():
        buf += chunk
        held_cr = buf.endswith(b"\r")  # maybe the first half of a CRLF split across chunks
        lines = _LINE_END.split(buf[:-1] if held_cr else buf)
        buf = lines.pop() + (b"\r" if held_cr else b"")
        for line in lines:
            if not line:
                if joined := "\n".join(data):
                    yield event, joined
                event, data = "", []
            else:
                event = _sse_field(line, data, event)
    if buf.endswith(b"\r"):
        buf = buf[:-1]
    if buf:
        event = _sse_field(buf, data, event)
    if joined := "\n".join(data):
        yield event, joined


def _sse_field(line: bytes, data: list[str], event: str) -> str:
    """Apply one field line: ``data`` lines are collected, the event name is returned."""
    name, _, value = line.decode("utf-8", "replace").partition(":")
    value = value[1:] if value.startswith(" ") else value
    if name == "data":
        data.append(value)
    elif name == "event":
        return value
    return event
