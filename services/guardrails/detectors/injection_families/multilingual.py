"""Hijacking and extraction written in other languages."""

from __future__ import annotations

from typing import Final

from ..injection_multilingual import (  # fmt: skip
    ML_EXTRACT,
    ML_EXTRACT_REV,
    ML_NOUNS,
    ML_OVERRIDE,
    ML_OVERRIDE_REV,
    ML_REVEAL,
    ML_SOV_REVEAL,
    ML_SOV_VERBS,
    ML_TARGETS,
    ML_VERBS,
)
from ..injection_registry import Family, InjectionRule, RuleMaker

rule = RuleMaker(Family.MULTILINGUAL)

# fmt: off
RULES: Final[tuple[InjectionRule, ...]] = (
    rule("ml_address_ai", 0.45, (("l'ia", "la ia", "die ki", "der ki", "a ia", "l’ia"),),
         r"\b(?:pour|à|a|para|per|für|an) (?:l['’]ia|la ia|a ia|die ki|der ki)\s*[:,]"),
    rule("ml_unrestricted", 0.5, (("sin ", "sans ", "ohne ", "senza ", "sem ", "bez ", "без "),
                                   ("restricci", "restriction", "filtr", "einschränk", "limit", "regla", "règle",
                                    "regeln", "regole", "regras", "ograniczeń", "ограничени", "censur", "zensur")),
         r"\b(?:responde|contesta|habla|actúa|actua|compórtate|comportate|réponds|repond|réponde|agis|comporte|"
         r"antworte|handle|verhalte|benimm|rispondi|agisci|comportati|zachowuj|"
         r"responda|aja|odpowiadaj|отвечай|действуй)\w*\b[^.\n]{0,40}\b(?:sin|sans|ohne|senza|sem|bez|без) "
         r"(?:\w+ ){0,2}?(?:restricci|restriction|filtr|einschränk|limit|regla|règle|regeln|regole|regras|"
         r"ograniczeń|ограничени|censur|zensur)"),
    rule("ml_override", 0.62, (ML_VERBS, ML_NOUNS), ML_OVERRIDE, anchored=True),
    rule("ml_extract", 0.5, (ML_REVEAL, ML_TARGETS), ML_EXTRACT),
    rule("ml_override_rev", 0.62, (ML_NOUNS, ML_SOV_VERBS), ML_OVERRIDE_REV),
    rule("ml_extract_rev", 0.5, (ML_TARGETS, ML_SOV_REVEAL), ML_EXTRACT_REV),
)
# fmt: on
