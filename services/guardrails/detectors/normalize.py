"""Text normalisation for the injection scorer: folds obfuscation back to plain lowercase text.

Steps: tag-character (U+E00xx) decoding, zero-width/format character removal, NFKC, homoglyph folding
(Cyrillic/Greek/Armenian look-alikes), casefolding; plus optional decoded *payloads*: base64/hex runs,
ROT13 or reversed text when the message hints at it, and letter-spaced words (leetspeak is folded
by the injection scorer).
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from typing import Final, NamedTuple

__all__ = ["Normalized", "normalize"]


class Normalized(NamedTuple):
    text: str  # folded lowercase text
    payloads: tuple[str, ...]  # decoded hidden/encoded content (already folded)
    invisible: int  # number of removed invisible characters
    tag_chars: bool  # carried Unicode tag characters (ASCII smuggling)
    homoglyphs: bool  # mixed-script look-alike letters were folded


_HOMOGLYPHS: Final = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ɡ": "g", "һ": "h",
    "ԛ": "q", "ԝ": "w", "ӏ": "l", "ԍ": "g",
    "А": "a", "В": "b", "Е": "e", "К": "k", "М": "m", "Н": "h", "О": "o", "Р": "p", "С": "c", "Т": "t",
    "У": "y", "Х": "x", "Ѕ": "s", "І": "i", "Ј": "j",
    # Greek
    "α": "a", "ο": "o", "ρ": "p", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "τ": "t", "υ": "u", "χ": "x",
    "Α": "a", "Β": "b", "Ε": "e", "Ζ": "z", "Η": "h", "Ι": "i", "Κ": "k", "Μ": "m", "Ν": "n", "Ο": "o",
    "Ρ": "p", "Τ": "t", "Υ": "y", "Χ": "x",
    # Armenian and others
    "ս": "u", "օ": "o", "ց": "g", "հ": "h", "ո": "n", "ա": "w", "ɑ": "a", "ı": "i", "ℓ": "l", "ʏ": "y",
    "ɴ": "n", "ʀ": "r", "ꜱ": "s", "ᴀ": "a", "ᴇ": "e", "ᴏ": "o", "ᴛ": "t", "ᴜ": "u",
}  # fmt: skip
_HOMO_TABLE: Final = str.maketrans(_HOMOGLYPHS)
_HOMO_CHARS: Final = frozenset(_HOMOGLYPHS)
_INVISIBLE: Final = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e"
                               "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f]")  # fmt: skip
_TAGS: Final = re.compile("[\U000e0020-\U000e007e]+")
_B64: Final = re.compile(r"(?<![A-Za-z0-9+/=_-])([A-Za-z0-9+/]{20,}={0,2})(?![A-Za-z0-9+/=])")
_HEX: Final = re.compile(r"(?<![0-9a-fA-F])((?:[0-9a-fA-F]{2}[ :]?){12,})")
_ROT_HINTS: Final = ("rot13", "rot-13", "rot 13", "caesar", "cipher")
_SPACED: Final = re.compile(r"(?<!\w)(?:\w[ .·_*-]){3,}\w(?!\w)")
# one separator throughout a run, so "s-y-s-t-e-m p-r-o-m-p-t" keeps its word gap
_SPACED_SAME: Final = re.compile(r"(?<!\w)\w([.·_*-])(?:\w\1){1,}\w(?!\w)")


def _printable_ratio(s: str) -> float:
    if not s:
        return 0.0
    ok = sum(1 for c in s if c.isalpha() or c == " ")
    return ok / len(s)


def _decode_b64(run: str) -> str | None:
    try:
        raw = base64.b64decode(run + "=" * (-len(run) % 4), validate=False)
        s = raw.decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return s if " " in s and _printable_ratio(s) >= 0.8 else None


def _decode_hex(run: str) -> str | None:
    try:
        s = bytes.fromhex(re.sub(r"[ :]", "", run)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    return s if " " in s and _printable_ratio(s) >= 0.8 else None


_WORD: Final = re.compile(r"\w+")


def _fold_word(m: re.Match[str], real_script: bool = False) -> str:
    w = m.group(0)
    if _HOMO_CHARS.isdisjoint(w):
        return w
    # fold words that mix Latin with look-alikes, or consist only of look-alikes (unless the text is real
    # Cyrillic/Greek prose, where short words like "не" are look-alikes only by accident); real Cyrillic or
    # Greek words contain other letters of their script and are left alone
    if any("a" <= c.lower() <= "z" for c in w) or (not real_script and all(c in _HOMO_CHARS for c in w)):
        return w.translate(_HOMO_TABLE)
    return w


def _real_script(text: str) -> bool:
    """At least three Cyrillic/Greek letters that have no Latin look-alike: the text is written in that script."""
    n = 0
    for c in text:
        if ("\u0370" <= c <= "\u03ff" or "\u0400" <= c <= "\u04ff") and c not in _HOMO_CHARS:
            n += 1
            if n >= 3:
                return True
    return False


def _fold(text: str) -> tuple[str, bool]:
    homo = False
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
        if not _HOMO_CHARS.isdisjoint(text):
            real = _real_script(text)
            folded = _WORD.sub(lambda m: _fold_word(m, real), text)
            homo = folded != text
            text = folded
    return text.casefold(), homo


def _token_payloads(tokens: list[str]) -> list[str]:
    out: list[str] = []
    for tok in tokens:
        if len(tok) < 20:
            continue
        for m in _B64.finditer(tok):
            dec = _decode_b64(m.group(1))
            if dec:
                out.append(dec)
        for m in _HEX.finditer(tok):
            dec = _decode_hex(m.group(1))
            if dec:
                out.append(dec)
    return out


def normalize(text: str, hints: frozenset[str] | set[str] | None = None) -> Normalized:
    """Fold ``text``; decode hidden payloads. ``hints`` (from the caller's keyword gate) says which of the
    hint-driven decoders to try: "rot13", "reverse", "hex", "spaced". ``None`` tries every decoder."""
    payloads: list[str] = []
    invisible = 0
    tags = False
    if not text.isascii():
        tag_runs = _TAGS.findall(text)
        if tag_runs:
            tags = True
            payloads.extend("".join(chr(ord(c) - 0xE0000) for c in run) for run in tag_runs)
        stripped = _INVISIBLE.sub("", text)
        invisible = len(text) - len(stripped)
        text = stripped
    folded, homo = _fold(text)
    tokens = text.split()
    if tokens and max(map(len, tokens)) >= 20:
        payloads.extend(_token_payloads(tokens))
    if hints is None or "hex" in hints:
        for m in _HEX.finditer(text):
            dec = _decode_hex(m.group(1))
            if dec:
                payloads.append(dec)
    if (hints is None or "rot13" in hints) and any(h in folded for h in _ROT_HINTS):
        payloads.append(codecs.encode(text, "rot13"))
    if (hints is None or "reverse" in hints) and ("revers" in folded or "backwards" in folded):
        payloads.append(text[::-1])
    if (hints is None or "spaced" in hints) and _SPACED.search(folded):
        collapsed = _SPACED.sub(lambda m: re.sub(r"[ .·_*-]", "", m.group(0)), folded)
        payloads.append(re.sub(r"\s+", " ", collapsed))
        if _SPACED_SAME.search(folded):
            same = _SPACED_SAME.sub(lambda m: m.group(0).replace(m.group(1), ""), folded)
            payloads.append(re.sub(r"\s+", " ", same))
    out = tuple(dict.fromkeys(_fold(p)[0] for p in payloads))
    return Normalized(folded, out, invisible, tags, homo)
