"""Unicode folding with an offset map back to the original text (for literal term matching).

``fold`` applies NFKC (and casefolding unless case sensitive) and drops invisible format characters, so
full-width, ligature, decomposed-accent, zero-width-split and case variants of a term all match. Every
folded character remembers the original span it came from, so hits can be reported in ORIGINAL offsets.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final, NamedTuple

__all__ = ["Folded", "fold", "fold_term"]

# Zero-width and other invisible format characters: an attacker can split a blocked word with them.
_INVISIBLE: Final = frozenset(
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d"
    "\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\u206a\u206b\u206c\u206d\u206e\u206f\u3164"
    "\ufe00\ufe01\ufe02\ufe03\ufe04\ufe05\ufe06\ufe07\ufe08\ufe09\ufe0a\ufe0b\ufe0c\ufe0d\ufe0e\ufe0f\ufeff\uffa0"
)
_ASCII_RUN: Final = re.compile(r"[\x00-\x7f]+")
_INVISIBLE_RE: Final = re.compile("[" + "".join(sorted(_INVISIBLE)) + "]")


class Folded(NamedTuple):
    """Folded text; ``starts[i]``/``ends[i]`` is the original span of folded char ``i`` (None: identity)."""

    text: str
    starts: list[int] | None
    ends: list[int] | None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original offsets of the folded range ``[start, end)`` (non-empty)."""
        if self.starts is None or self.ends is None:
            return start, end
        return self.starts[start], self.ends[end - 1]


def _fold_piece(piece: str, casefold: bool) -> str:
    out = unicodedata.normalize("NFKC", piece)
    if casefold:
        # NFKC again after casefold: casefolding can produce text that is not NFKC (NFKC_Casefold closure)
        out = unicodedata.normalize("NFKC", out.casefold())
    return "".join(c for c in out if c not in _INVISIBLE)


def fold_term(term: str, casefold: bool) -> str:
    """Fold a configured term exactly like text is folded."""
    return _fold_piece(term, casefold)


def _is_mark(c: str) -> bool:
    return unicodedata.category(c)[0] == "M"


def fold(text: str, casefold: bool) -> Folded:
    """Fold ``text``; ASCII text keeps its offsets (only lower-cased), so the map is skipped."""
    if text.isascii():
        return Folded(text.lower() if casefold else text, None, None)
    # Common non-ASCII case (accented Latin, Cyrillic, CJK...): already NFKC, nothing invisible, and
    # casefolding maps each character to exactly one character, so offsets are unchanged.
    if _INVISIBLE_RE.search(text) is None and unicodedata.is_normalized("NFKC", text):
        if not casefold:
            return Folded(text, None, None)
        folded = text.casefold()
        if len(folded) == len(text) and unicodedata.is_normalized("NFKC", folded):
            return Folded(folded, None, None)
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pos = 0
    n = len(text)
    for m in _ASCII_RUN.finditer(text):
        a, b = m.start(), m.end()
        if a > pos:
            _fold_unicode(text, pos, a, casefold, out, starts, ends)
        # the last ASCII char belongs to the next cluster when a combining mark follows it ("e" + U+0301)
        if b < n and _is_mark(text[b]):
            b -= 1
        if b > a:
            run = text[a:b]
            out.append(run.lower() if casefold else run)
            starts.extend(range(a, b))
            ends.extend(range(a + 1, b + 1))
        pos = b
    if pos < n:
        _fold_unicode(text, pos, n, casefold, out, starts, ends)
    return Folded("".join(out), starts, ends)


def _fold_unicode(
    text: str, lo: int, hi: int, casefold: bool, out: list[str], starts: list[int], ends: list[int]
) -> None:
    """Fold ``text[lo:hi]`` one cluster (base char + combining marks) at a time so NFKC can compose."""
    i = lo
    while i < hi:
        j = i + 1
        while j < hi and _is_mark(text[j]):
            j += 1
        piece = _fold_piece(text[i:j], casefold)
        if piece:
            out.append(piece)
            starts.extend([i] * len(piece))
            ends.extend([j] * len(piece))
        i = j
