"""Keyword gate: one Aho-Corasick pass (pyahocorasick, C) finds which literal anchors occur and where,
so the expensive regexes only run when, and where, one of their anchors is present."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import ahocorasick

__all__ = ["Gate", "GateHits"]


class GateHits:
    """Result of one gate pass: which tags occurred, and the start offsets of their keywords."""

    __slots__ = ("_by_tagset", "tags")

    def __init__(self, by_tagset: dict[tuple[str, ...], list[int]]) -> None:
        self._by_tagset = by_tagset
        self.tags: frozenset[str] = frozenset().union(*by_tagset) if by_tagset else frozenset()

    def __contains__(self, tag: object) -> bool:
        return tag in self.tags

    def __bool__(self) -> bool:
        return bool(self.tags)

    def starts(self, tag: str, shift: int = 0) -> list[int]:
        """Start offsets (ascending) of every keyword carrying ``tag``, moved by ``shift``."""
        out = [p + shift for ts, ps in self._by_tagset.items() if tag in ts for p in ps]
        out.sort()
        return out


class Gate:
    """Maps lowercase literal keywords to tags."""

    def __init__(self, tags: Mapping[str, Iterable[str]]) -> None:
        table: dict[str, set[str]] = {}
        for tag, words in tags.items():
            for w in words:
                table.setdefault(w.lower(), set()).add(tag)
        self._auto = ahocorasick.Automaton()
        for word, tagset in table.items():
            self._auto.add_word(word, (tuple(sorted(tagset)), len(word) - 1))
        self._auto.make_automaton()

    def scan(self, lower: str) -> GateHits:
        by_tagset: dict[tuple[str, ...], list[int]] = {}
        for end, (tagset, back) in self._auto.iter(lower):
            lst = by_tagset.get(tagset)
            if lst is None:
                by_tagset[tagset] = [end - back]
            else:
                lst.append(end - back)
        return GateHits(by_tagset)
