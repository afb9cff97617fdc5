"""Pieces every translation needs: message text, data URLs, tool arguments, finish reasons."""

from __future__ import annotations

import secrets
from typing import Any

import msgspec


def text_of(content: Any) -> str:
    """The text of an OpenAI or Anthropic content value (a string, or a list of parts/blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def parse_data_url(url: str) -> tuple[str, str] | None:
    """``(media_type, base64 data)`` of a ``data:<type>;base64,<data>`` URL, else None."""
    if not url.startswith("data:"):
        return None
    header, sep, data = url[5:].partition(",")
    if not sep or not header.endswith(";base64"):
        return None
    return header[: -len(";base64")] or "application/octet-stream", data


def data_url(media_type: str, data: str) -> str:
    """The inverse of :func:`parse_data_url`."""
    return f"data:{media_type};base64,{data}"


def arguments_object(arguments: Any) -> dict[str, Any]:
    """Tool-call arguments (a JSON string in OpenAI's format) as an object; ``{}`` when they are not one.

    Providers that take arguments as objects (Anthropic, Gemini) cannot carry a malformed string;
    an empty object is what they would have produced for a call without arguments.
    """
    if isinstance(arguments, dict):
        return arguments
    if not isinstance(arguments, str) or not arguments.strip():
        return {}
    try:
        value = msgspec.json.decode(arguments)
    except msgspec.DecodeError:
        return {}
    return value if isinstance(value, dict) else {"value": value}


def arguments_json(value: Any) -> str:
    """Tool-call arguments as OpenAI carries them (a JSON string)."""
    return msgspec.json.encode(value if value is not None else {}).decode()


def call_id(prefix: str = "call_") -> str:
    """A fresh tool-call id for providers that do not assign one (Gemini)."""
    return prefix + secrets.token_hex(12)


def stop_list(stop: Any) -> list[str] | None:
    """OpenAI's ``stop`` (a string or a list) as a list."""
    if isinstance(stop, str):
        return [stop]
    if isinstance(stop, list):
        return [s for s in stop if isinstance(s, str)]
    return None


def max_tokens(payload: dict[str, Any], default: int) -> int:
    """``max_completion_tokens``, else ``max_tokens``, else ``default``."""
    for name in ("max_completion_tokens", "max_tokens"):
        value = payload.get(name)
        if isinstance(value, int) and value > 0:
            return value
    return default


def add_turn(turns: list[dict[str, Any]], role: str, items: list[dict[str, Any]], field: str) -> None:
    """Append ``items`` as a ``role`` turn (under ``field``), merged into the previous turn when it
    has the same role: Anthropic and Gemini want user and assistant turns to alternate."""
    if not items:
        return
    if turns and turns[-1]["role"] == role:
        turns[-1][field].extend(items)
    else:
        turns.append({"role": role, field: items})


def image_url(part: dict[str, Any]) -> str | None:
    """The URL of an OpenAI ``image_url`` part (a link or a data URL)."""
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, dict) else image
    return url if isinstance(url, str) else None
