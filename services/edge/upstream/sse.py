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
_ANY_END = re.compile(rb"[\r\n]")
MAX_EVENT_BYTES = 8 * 1024 * 1024
"""The most one event (its unterminated line, or all its data lines) may hold: a provider that
never ends a line cannot make the edge buffer without bound."""


class EventTooLarge(Exception):
    """One server-sent event over :data:`MAX_EVENT_BYTES`."""


async def sse_events(response: _Body) -> AsyncIterator[tuple[str, str]]:
    """``(event, data)`` pairs of a server-sent event stream, per the WHATWG parsing rules.

    Lines end only at CRLF, LF or CR — not at the other characters ``str.splitlines`` knows
    (U+2028, form feed, …), which may appear raw inside a JSON string — and a chunk may end
    anywhere, even between CR and LF. One space after the colon is removed; comments (``:``)
    are skipped; an event without data is not dispatched; one cut short by the end of the
    stream still is (providers that omit the last blank line).
    """
    event, buf = "", bytearray()
    data: list[str] = []
    held = 0  # characters of ``data``
    async for chunk in response.aiter_bytes():
        buf += chunk
        if not _ANY_END.search(chunk):  # still inside one line: nothing to split (no quadratic re-scan)
            if len(buf) > MAX_EVENT_BYTES:
                raise EventTooLarge
            continue
        held_cr = buf.endswith(b"\r")  # maybe the first half of a CRLF split across chunks
        lines = _LINE_END.split(bytes(buf[:-1] if held_cr else buf))
        buf = bytearray(lines.pop() + (b"\r" if held_cr else b""))
        if len(buf) > MAX_EVENT_BYTES:
            raise EventTooLarge
        for line in lines:
            if not line:
                if joined := "\n".join(data):
                    yield event, joined
                event, data, held = "", [], 0
            else:
                event = _sse_field(line, data, event)
                held += len(line)
                if held > MAX_EVENT_BYTES:
                    raise EventTooLarge
    if buf.endswith(b"\r"):
        buf = buf[:-1]
    if buf:
        event = _sse_field(bytes(buf), data, event)
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
