"""Pieces shared by the three provider dialects: request log, token counts, switches, vectors."""

from __future__ import annotations

import asyncio
import hashlib
import re
import struct
from collections import deque
from typing import Any, Literal

import msgspec

received: deque[dict[str, Any]] = deque(maxlen=200)
"""``{"path", "body", "auth"}`` of each request, newest last."""

TOOL_TRIGGER = "use tool"
DEFAULT_DIMS = 8
MAX_DIMS = 3072
"""The largest embedding the mock makes (OpenAI's largest model); a larger one is refused."""
CACHED_TOKENS = 3

_SLOW = re.compile(r"slow-(\d+)")
_CHUNK = re.compile(r"chunk-(\d+)")
_DRIP = re.compile(r"drip-(\d+)")
_REPEAT = re.compile(r"repeat-(\d+)")

Failure = Literal["429", "500", "529"]


def record(path: str, body: Any, auth: str) -> None:
    """Remember what the upstream saw."""
    received.append({"path": path, "body": body, "auth": auth})


def decode(raw: bytes) -> dict[str, Any] | None:
    """The JSON object in a request body, or None when it is not one."""
    try:
        body = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None
    return body if isinstance(body, dict) else None


def tokens(text: str) -> int:
    """Whitespace word count, at least 1."""
    return max(1, len(text.split()))


def reply_text(last_user: str) -> str:
    """The deterministic answer to the last user text."""
    return f"Mock reply: {last_user[:200]}" if last_user else "Mock reply."


def wants_tool(tools: Any, last_user: str, last_is_user: bool) -> bool:
    """Tools offered, the conversation ends with a user turn, and it says "use tool"."""
    return bool(tools) and isinstance(tools, list) and last_is_user and TOOL_TRIGGER in last_user.lower()


def tool_query(last_user: str) -> dict[str, str]:
    """The arguments of the mocked tool call."""
    return {"query": last_user[:50]}


def tool_arguments(last_user: str) -> str:
    """The arguments of the mocked tool call as a JSON string."""
    return msgspec.json.encode(tool_query(last_user)).decode()


def failure(model: str) -> Failure | None:
    """Which failure the model name asks for (``fail-429``, ``fail-500``, ``fail-529``)."""
    codes: tuple[Failure, ...] = ("429", "500", "529")
    return next((code for code in codes if f"fail-{code}" in model), None)


async def maybe_slow(model: str) -> None:
    """Sleep ``<ms>`` when the model name carries ``slow-<ms>``."""
    slow = _SLOW.search(model)
    if slow:
        await asyncio.sleep(int(slow.group(1)) / 1000)


def repeated(text: str, model: str) -> str:
    """``text`` said ``<n>`` times when the model name carries ``repeat-<n>`` (a long answer)."""
    found = _REPEAT.search(model)
    return text * min(int(found.group(1)), 100_000) if found else text


async def drip(model: str) -> None:
    """Sleep ``<ms>`` between streamed pieces when the model name carries ``drip-<ms>``."""
    dripping = _DRIP.search(model)
    if dripping:
        await asyncio.sleep(int(dripping.group(1)) / 1000)


def pieces(text: str, model: str) -> list[str]:
    """Stream pieces: ``chunk-<n>`` characters each when asked, else word by word (trailing space kept)."""
    chunked = _CHUNK.search(model)
    size = int(chunked.group(1)) if chunked else 0
    if size > 0:
        return [text[i : i + size] for i in range(0, len(text), size)]
    return re.findall(r"\S+\s*", text) or [text]


def fragments(text: str, parts: int = 3) -> list[str]:
    """``text`` cut into about ``parts`` pieces (for streamed tool-call arguments)."""
    step = max(1, -(-len(text) // parts))
    return [text[i : i + step] for i in range(0, len(text), step)] or [""]


def embedding(text: str, dims: int = DEFAULT_DIMS) -> list[float]:
    """A deterministic unit vector for ``text``; every value is exactly representable as float32."""
    dims = min(max(1, dims), MAX_DIMS)  # a safety net: the routes refuse a larger one
    raw = b""
    counter = 0
    while len(raw) < dims * 4:
        raw += hashlib.sha256(f"{counter}:{text}".encode()).digest()
        counter += 1
    ints = struct.unpack(f"<{dims}I", raw[: dims * 4])
    values = [(i / 0xFFFFFFFF) * 2.0 - 1.0 for i in ints]
    norm = sum(v * v for v in values) ** 0.5 or 1.0
    return list(struct.unpack(f"<{dims}f", struct.pack(f"<{dims}f", *(v / norm for v in values))))


def float32_le(values: list[float]) -> bytes:
    """Little-endian float32 bytes (what OpenAI's base64 embeddings decode to)."""
    return struct.pack(f"<{len(values)}f", *values)


def sse(obj: Any, event: str | None = None, newline: bytes = b"\n") -> bytes:
    """One server-sent event: optional ``event:`` line, ``data: <json>``, blank line."""
    head = b"event: " + event.encode() + newline if event else b""
    return head + b"data: " + msgspec.json.encode(obj) + newline + newline
