"""Word lists of the injection rules (gate keywords, multilingual stems, phrase lists), kept as data in
``injection_words.json`` (shipped as package data) and read once at import."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

__all__ = ["words"]


@cache
def _all() -> dict[str, tuple[str, ...]]:
    raw = json.loads(resources.files(__package__).joinpath("injection_words.json").read_text(encoding="utf-8"))
    return {name: tuple(items) for name, items in raw.items()}


def words(name: str) -> tuple[str, ...]:
    """The named word list; a missing name is a packaging error and raises ``KeyError`` at import."""
    return _all()[name]
