"""Every text part of a chat request, with a path to write a redacted version back.

Covered: string content, ``text`` parts of content arrays (all roles, tool results included)
and tool-call arguments.
"""

from __future__ import annotations

from typing import Any

Path = tuple[Any, ...]


def collect(messages: list[dict[str, Any]]) -> tuple[list[str], list[Path]]:
    """The texts of ``messages`` in order, and where each came from."""
    texts: list[str] = []
    paths: list[Path] = []
    for i, message in enumerate(messages):
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
            paths.append((i, "content"))
        elif isinstance(content, list):
            for j, part in enumerate(content):
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    texts.append(part["text"])
                    paths.append((i, "content", j, "text"))
        for k, call in enumerate(message.get("tool_calls") or []):
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                texts.append(function["arguments"])
                paths.append((i, "tool_calls", k, "function", "arguments"))
    return texts, paths


def replace(messages: list[dict[str, Any]], paths: list[Path], texts: list[str]) -> None:
    """Write ``texts`` back at ``paths`` (in place)."""
    for path, text in zip(paths, texts, strict=True):
        node: Any = messages
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = text
