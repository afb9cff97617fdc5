"""Vocabulary for the injection rules: regex fragments, gate word groups and benign framing patterns.

All text is matched after ``normalize`` (NFKC, homoglyph folding, casefolded), so everything is lowercase.
"""

from __future__ import annotations

import re
from typing import Final

from .injection_words import words

# fmt: off
# ------------------------------------------------------------------------------------- regex fragments
W: Final = r"(?:(?!my\b|our\b)[\w'’-]+[\s,]+)"  # one word + separator; not "my"/"our" (users revise their own)
IGNORE: Final = (
    r"(?:ignore|ignoring|disregard|disregarding|forget|forgetting|drop|discard|abandon|override|overrule|"
    r"bypass|skip|set aside|put aside|throw (?:out|away)|scrap|ditch|dismiss|neglect|erase|wipe|purge|"
    r"cancel|nullify|void|suspend|disable|deactivate|turn off|unlearn|stop (?:following|obeying)|"
    r"(?:do not|don't|dont|no longer|never) (?:follow|obey|adhere to|comply with|apply)|"
    r"pay no (?:attention|heed) to|break free (?:of|from)|escape|violate|circumvent)"
)
QUAL: Final = (
    r"(?:previous|prior|above|earlier|preceding|foregoing|former|initial|original|old|existing|current|all|"
    r"every|your|ur|yr|system|default|built-in|preset|developer|hidden|whatever)"
)
WEAK_QUAL: Final = r"(?:the|any|these|those|other|their|its|such|said)"
INSTR: Final = (
    r"(?:instructions?|instruction set|guidance|guidelines?|rules?|directives?|(?:system )?prompts?|"
    r"constraints?|restrictions?|polic(?:y|ies)|programming|training|configuration|setup|directions|commands|"
    r"orders|safeguards?|safety(?: rules| guidelines| filters| protocols| measures| settings)?|filters?|"
    r"limitations?|limits|guardrails?|boundaries|principles|protocols?|conditioning|alignment|ethics|"
    r"moral code|content policy|system message|what (?:you were|you've been|you have been) "
    r"(?:told|given|instructed|programmed))"
)
REVEAL: Final = (
    r"(?:reveal|revealing|show|showing|print|printing|display|output|outputting|repeat|repeating|recite|"
    r"disclose|disclosing|dump|leak|leaking|expose|tell me|share|sharing|give me|list|write out|spell out|"
    r"echo|paste|copy|provide|send me|quote|return|read back|state|reproduce|translate|summari[sz]e|confirm|"
    r"divulge|unveil|let me see|show us|type out|write down|reply with|respond with|answer with|include|"
    r"insert|attach|spit out|read me|read out)"
)
TARGET: Final = (
    r"(?:(?:your|the|my) (?:\w+ ){0,2}?(?:system prompt|system message|initial prompt|hidden prompt|"
    r"original prompt|pre-?prompt|meta-?prompt|developer (?:message|prompt|instructions)|"
    r"(?:hidden|secret|internal|confidential|private|initial|original|starting|setup|base|underlying|"
    r"system|raw|exact|full|complete|verbatim|operating|meta) (?:instructions?|rules|prompt|configuration|"
    r"config|setup|text|directives|guidelines|message|policy|context|settings|preamble|briefing|notes))"
    r"|(?:the |your )?(?:confidential|hidden|secret|internal|private|initial|original|system) "
    r"(?:\w+ )?(?:preamble|briefing|instructions|prompt|rules|directives)"
    r"|(?:its|their) (?:own )?(?:\w+ )?(?:system prompt|hidden prompt|initial instructions|instructions|rules|guidelines)"
    r"|(?:your|ur|yr) (?:\w+ ){0,2}?(?:instructions|prompt|rules|guidelines|configuration|directives|setup|programming|"
    r"guidance|instruction set|context window|context)"
    r"|(?:everything|all|the text|the words|text|words|what(?:'s| is)? written) (?:above|before this|preceding)"
    r"|instruction set|what you were told|hidden (?:rules|instructions|prompt))"
)
UNRESTRICTED: Final = (
    r"(?:no|without|free (?:of|from)|zero|removed?|lifted|stripped|disabled|unbound by|not bound by|shed|"
    r"(?:got |gotten )?rid of|"
    r"ignoring|beyond) (?:any |all |every |of |the |your |its |their |ethical |moral |content |safety )*"
    r"(?:restrictions?|limits?|limitations?|rules|filters?|filtering|guidelines|censorship|boundaries|"
    r"constraints|morals|ethics|policies|guardrails|safeguards|safety)"
)

# ------------------------------------------------------------------------------ gate word groups (literal)
G_IGNORE: Final = words("G_IGNORE")  # each keyword starts where an IGNORE alternative starts (rules are matched there)
G_INSTR: Final = words("G_INSTR")
G_REVEAL: Final = words("G_REVEAL")
G_TARGET: Final = words("G_TARGET")
G_UNRESTR: Final = words("G_UNRESTR")
G_AI: Final = words("G_AI")
G_META: Final = words("G_META")
G_TRANSLATE: Final = words("G_TRANSLATE")
# fmt: on

# ------------------------------------------------------------------------------------ benign framing
META_FRAME: Final = re.compile(
    r"prompt[- ]injection|injection attack|\binjections?\b|jailbreak(?:s|ing)?\b|\battack(?:s|er|ers)?\b|"
    r"\bpayloads?\b|honeypot|taxonomy|red[- ]team|adversarial|malicious|\bguardrails?\b|\bsanitiz|"
    r"\bphishing\b|\b(?:classify|categori[sz]e|label) (?:this|these|the following)|\bflagged\b|\bcaught\b|"
    r"\bdataset\b|\bfine-?tun|\bsecurity (?:class|course|training|team|review|awareness)|"
    r"\bblocklist|\bregex|\bunit test|\btest case|\bdetect|\bscam"
)
TRANSLATE_FRAME: Final = re.compile(
    r"\btranslat\w*|\btraduc\w*|\btradu[isz]\w*|\bübersetz\w*|翻译|翻訳|\bin (?:english|french|spanish|german|"
    r"swedish|italian|portuguese|polish|chinese|japanese|korean|russian|dutch)\b|\bwhat does\b.{0,40}\bmean\b|"
    r"\b(?:the|in) (?:english|french|spanish|german|italian|portuguese|dutch|polish|russian|chinese|japanese|"
    r"korean) (?:word |phrase |way )?(?:for|to say)\b|\bhow (?:do|would|can) (?:you|i|we) say\b|"
    r"\bproofread|\bgrammar|\bspell-?check|\bparaphrase|\brewrite|\bsentence\b|"
    r"\b(?:a|short|the) (?:story|poem|novel|scene|screenplay|tale|dialogue)\b|\bfiction|\bprotagonist"
)
