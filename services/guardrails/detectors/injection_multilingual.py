"""Multilingual hijacking/extraction vocabulary (stems) and the regexes built from it.

Stems are matched as prefixes, and the same stems gate the rules (one Aho-Corasick pass)."""

from __future__ import annotations

import re
from typing import Final

from .injection_words import words

__all__ = ["ML_EXTRACT", "ML_EXTRACT_REV", "ML_NOUNS", "ML_OVERRIDE", "ML_OVERRIDE_REV", "ML_REVEAL",
           "ML_SOV_REVEAL", "ML_SOV_VERBS", "ML_TARGETS", "ML_VERBS"]  # fmt: skip

# fmt: off
ML_VERBS: Final = words("ML_VERBS")
ML_NOUNS: Final = words("ML_NOUNS")
ML_REVEAL: Final = words("ML_REVEAL")
ML_TARGETS: Final = words("ML_TARGETS")
ML_SOV_VERBS: Final = words("ML_SOV_VERBS")
ML_SOV_REVEAL: Final = words("ML_SOV_REVEAL")
# fmt: on


def _alt(words: tuple[str, ...]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


ML_OVERRIDE: Final = rf"(?:{_alt(ML_VERBS)})\w*[^.\n。]{{0,60}}?(?:{_alt(ML_NOUNS)})"
# the user's own things ("de mon routeur", "我的") and how-to questions ("如何") are not the model's prompt
_MINE: Final = (
    r"(?:\b(?:mon|ma|mes|mi|mis|mein\w*|mio|mia|miei|mie|meu|minha|meus|mój|moja|moje|мой|мою|мои|"
    r"моей|my|cómo|como|comment|wie|come|jak|как|hoe|nasıl)\b|我的|如何|怎么|怎样)"
)
_NOT_CJK_W: Final = r"(?:(?![\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af])\w)*"  # CJK has no word ends
ML_EXTRACT: Final = (
    rf"(?:{_alt(ML_REVEAL)}){_NOT_CJK_W}(?:(?!{_MINE})[^.\n。]){{0,60}}?(?:{_alt(ML_TARGETS)})"
    rf"(?!\w*(?:\s+\w+){{0,2}}\s+(?:de|du|des|of|von|di|do|da|del)\s+{_MINE})"
)
ML_OVERRIDE_REV: Final = rf"(?:{_alt(ML_NOUNS)})[^.\n。]{{0,30}}?(?:{_alt(ML_SOV_VERBS)})"
ML_EXTRACT_REV: Final = rf"(?:{_alt(ML_TARGETS)})[^.\n。]{{0,30}}?(?:{_alt(ML_SOV_REVEAL)})"
