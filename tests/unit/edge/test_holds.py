"""The input a USD hold counts: every part a chat request sends upstream, not only its texts."""

from __future__ import annotations

from typing import Any

from libs.pricing import IMAGE_CHARS
from services.edge import holds

BASE: dict[str, Any] = {"model": "m", "max_tokens": 5, "n": 2, "stream": True, "temperature": 0.2,
                        "messages": [{"role": "user", "content": "hello"}]}  # fmt: skip


def test_plain_text_counts_its_length_and_options_count_nothing() -> None:
    assert holds.input_chars(BASE) == len("hello")


def test_tool_definitions_and_schemas_count() -> None:
    tool = {"type": "function", "function": {"name": "search", "description": "d" * 500, "parameters": {}}}
    with_tools = holds.input_chars({**BASE, "tools": [tool]})
    assert with_tools >= len("hello") + 500
    schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"description": "s" * 300}}}
    assert holds.input_chars({**BASE, "response_format": schema}) >= len("hello") + 300


def test_each_image_counts_a_fixed_size_whatever_its_url() -> None:
    parts = [{"type": "text", "text": "look"},
             {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}},
             {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 100_000}}]  # fmt: skip
    body = {**BASE, "messages": [{"role": "user", "content": parts}]}
    assert holds.input_chars(body) == len("look") + 2 * IMAGE_CHARS


def test_tool_calls_names_and_unknown_parts_count() -> None:
    messages = [
        {"role": "assistant", "content": None, "name": "bot",
         "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "a" * 200}}]},
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "input_audio", "input_audio": {"data": "b" * 80}}]},
    ]  # fmt: skip
    assert holds.input_chars({**BASE, "messages": messages}) > 200 + 80 + len("bot")


def test_the_default_completion_limit_goes_where_each_upstream_reads_it() -> None:
    assert holds.max_tokens_field("openai") == "max_completion_tokens"
    for adapter in ("openai_compatible", "anthropic", "gemini"):
        assert holds.max_tokens_field(adapter) == "max_tokens"
