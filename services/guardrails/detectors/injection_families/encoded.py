"""Encoded payloads: asking the model to decode and then follow hidden text."""

from __future__ import annotations

from typing import Final

from ..injection_registry import Family, InjectionRule, RuleMaker
from ._parts import _EXEC

rule = RuleMaker(Family.ENCODED)

# fmt: off
RULES: Final[tuple[InjectionRule, ...]] = (
    rule("decode_exec", 0.5, (("decode", "decrypt", "deobfuscat", "unscrambl", "revers", "rot13", "base64",
                               "translat", "repeat after me", "say this", "type this", *_EXEC),),
         r"\b(?:decode|decrypt|deobfuscate|unscramble|reverse|rot13|base64|translate)\b[^.\n]{0,40}"
         r"\b(?:and|then|&)\s+(?:execute|follow|run|obey|do|perform|comply|act on|carry out|apply)"
         r"|\b(?:execute|follow|obey|run) (?:the )?(?:decoded|hidden|encoded|embedded) (?:text|instructions?|"
         r"message|command)\b|\b(?:repeat after me|say this|type this)\b[^.\n]{0,20}\b(?:and|then) (?:\w+ )?"
         r"(?:do|follow|execute|act on|obey) (?:it|that|them)\b"),
)
# fmt: on
