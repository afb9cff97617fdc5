"""``blocked_terms`` rules: many literal terms found in one Aho-Corasick pass over folded text."""

from __future__ import annotations

from typing import Any, Final

import ahocorasick

from .fold import fold, fold_term
from .spec import MAX_HITS_PER_RULE, RuleError, check_keys, clip, get_bool

__all__ = ["MAX_TERMS", "MAX_TERM_LEN", "TermMatcher", "compile_terms"]

MAX_TERMS: Final = 10_000
MAX_TERM_LEN: Final = 200  # characters, after folding
# Overlapping candidates examined per text before failing closed; bounds work for term lists like
# "a", "aa", "aaa"... against "aaaa..." where every position ends hundreds of matches.
_MAX_CANDIDATES: Final = 20 * MAX_HITS_PER_RULE
_KEYS: Final = frozenset({"terms", "case_sensitive", "whole_words"})


def _is_word(c: str) -> bool:
    return c.isalnum() or c == "_"


def _spaceless(c: str) -> bool:
    """Scripts written without spaces between words: a word boundary cannot be required there."""
    o = ord(c)
    return (
        0x0E00 <= o <= 0x0EFF  # Thai, Lao
        or 0x1000 <= o <= 0x109F  # Myanmar
        or 0x1780 <= o <= 0x17FF  # Khmer
        or 0x2E80 <= o <= 0x9FFF  # CJK radicals, kana, CJK ideographs
        or 0xF900 <= o <= 0xFAFF
        or 0xFF66 <= o <= 0xFF9F  # half-width katakana
        or 0x20000 <= o <= 0x3FFFF
    )


class TermMatcher:
    """Compiled term list; ``find`` returns non-overlapping (start, end) in original offsets."""

    __slots__ = ("_automaton", "_casefold", "_whole_words")

    def __init__(self, terms: list[str], case_sensitive: bool, whole_words: bool) -> None:
        self._casefold = not case_sensitive
        self._whole_words = whole_words
        automaton = ahocorasick.Automaton()
        for term in terms:
            # value: (length, check the left boundary, check the right boundary); only word characters at the
            # term's own edge need a boundary ("c++" may be followed by anything)
            left = whole_words and _is_word(term[0]) and not _spaceless(term[0])
            right = whole_words and _is_word(term[-1]) and not _spaceless(term[-1])
            automaton.add_word(term, (len(term), left, right))
        automaton.make_automaton()
        self._automaton = automaton

    def find(self, text: str) -> list[tuple[int, int]]:
        folded = fold(text, self._casefold)
        s = folded.text
        n = len(s)
        candidates: list[tuple[int, int]] = []
        overflow = False
        for last, (length, left, right) in self._automaton.iter(s):
            start = last - length + 1
            end = last + 1
            if left and start > 0 and _is_word(s[start - 1]):
                continue
            if right and end < n and _is_word(s[end]):
                continue
            candidates.append((start, -end))
            if len(candidates) >= _MAX_CANDIDATES:
                overflow = True
                break
        if not candidates:
            return []
        candidates.sort()  # leftmost, then longest
        hits: list[tuple[int, int]] = []
        taken = 0
        for start, neg_end in candidates:
            if start < taken:
                continue
            if len(hits) >= MAX_HITS_PER_RULE:
                overflow = True
                break
            hits.append(folded.span(start, -neg_end))
            taken = -neg_end
        if overflow:
            # fail closed: report everything after the last hit we are sure about as one hit
            rest = hits[-1][1] if hits else 0
            hits.append((rest, len(text)))
        return hits


def compile_terms(config: dict[str, Any]) -> TermMatcher:
    """Validate a ``blocked_terms`` config and build its automaton."""
    check_keys(config, _KEYS)
    case_sensitive = get_bool(config, "case_sensitive", False)
    whole_words = get_bool(config, "whole_words", True)
    raw = config.get("terms")
    if not isinstance(raw, list) or not raw:
        raise RuleError("config 'terms' must be a non-empty list of strings")
    if len(raw) > MAX_TERMS:
        raise RuleError(f"too many terms: {len(raw)} (at most {MAX_TERMS})")
    terms: dict[str, None] = {}  # ordered de-duplication after folding
    for index, term in enumerate(raw):
        if not isinstance(term, str):
            raise RuleError(f"term #{index + 1} must be a string, got {type(term).__name__}")
        folded = fold_term(term, not case_sensitive).strip()
        if not folded:
            raise RuleError(f"term #{index + 1} is empty after normalisation")
        if len(folded) > MAX_TERM_LEN:
            raise RuleError(f"term #{index + 1} {clip(term, 30)} is too long (at most {MAX_TERM_LEN} characters)")
        terms[folded] = None
    return TermMatcher(list(terms), case_sensitive, whole_words)
