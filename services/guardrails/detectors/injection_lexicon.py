"""Vocabulary for the injection rules: regex fragments, gate word groups and benign framing patterns.

All text is matched after ``normalize`` (NFKC, homoglyph folding, casefolded), so everything is lowercase.
"""

from __future__ import annotations

import re
from typing import Final

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
G_IGNORE: Final = (  # each keyword starts where an IGNORE alternative starts (rules are matched there)
    "ignor", "disregard", "forget", "drop", "discard", "abandon", "overrid", "overrul", "bypass", "skip",
    "set aside", "put aside", "throw", "scrap", "ditch", "dismiss", "neglect", "erase", "wipe", "purge",
    "cancel", "nullify", "void", "suspend", "disabl", "deactivat", "turn off", "unlearn", "stop following",
    "stop obeying", "pay no", "break free", "escape", "violat", "circumvent", "do not follow", "do not obey",
    "do not adhere", "do not comply", "do not apply", "don't follow", "don't obey", "don't adhere",
    "don't comply", "don't apply", "dont follow", "dont obey", "dont adhere", "dont comply", "dont apply",
    "no longer follow", "no longer obey", "no longer adhere", "no longer comply", "no longer apply",
    "never follow", "never obey", "never adhere", "never comply", "never apply",
)
G_INSTR: Final = (
    "instruction", "guidance", "guideline", "rule", "directive", "prompt", "constraint", "restriction", "polic",
    "programming", "training", "configuration", "setup", "direction", "command", "order", "safeguard", "safety",
    "filter", "limit", "guardrail", "boundar", "principle", "protocol", "conditioning", "alignment", "ethic",
    "moral", "system message", "told", "given", "instructed", "programmed",
)
G_REVEAL: Final = (
    "reveal", "show", "print", "display", "output", "repeat", "recit", "disclos", "dump", "leak", "expos",
    "tell me", "shar", "give me", "list", "write out", "spell out", "echo", "paste", "copy", "provide",
    "send me", "quote", "return", "read back", "state", "reproduce", "translat", "summari", "confirm",
    "divulge", "unveil", "let me see", "show us", "type out", "write down", "reply with", "respond with",
    "answer with", "include", "insert", "attach", "spit out", "read me", "read out",
)
G_TARGET: Final = (
    "prompt", "instruction", "rules", "config", "setup", "text", "directive", "guideline", "message", "policy",
    "context", "settings", "programming", "guidance", "above", "before this", "preceding", "what you were told",
    "hidden", "words", "preamble", "briefing", "notes",
)
G_UNRESTR: Final = (
    "restriction", "limit", "rules", "filter", "guideline", "censor", "boundar", "constraint", "moral", "ethic",
    "polic", "guardrail", "safeguard", "safety",
)
G_AI: Final = (
    " ai ", " ai:", " ai,", "\nai", "(ai", " ais", "llm", "assistant", "model", "bot", "gpt", "agent",
)
G_META: Final = (
    "inject", "jailbreak", "attack", "payload", "honeypot", "taxonomy", "red team", "red-team", "adversarial",
    "malicious", "guardrail", "sanitiz", "phishing", "classify", "categori", "label this", "label these",
    "label the", "flagged", "caught", "dataset", "fine-tun", "finetun", "security class", "security course",
    "security training", "security team", "security review", "security awareness", "filter", "blocklist",
    "regex", "unit test", "test case", "detect", "scam",
)
G_TRANSLATE: Final = (
    "translat", "traduc", "tradu", "to say", *(f"{lang} {w}" for lang in ("english", "french", "spanish",
    "german", "italian", "portuguese", "dutch", "polish", "russian", "chinese", "japanese", "korean")
    for w in ("for", "word", "phrase", "way")), "übersetz", "翻译", "翻訳", "mean", "proofread", "grammar", "spell",
    "paraphrase", "rewrite", "sentence", "story", "poem", "novel", "scene", "screenplay", "fiction",
    "protagonist", "tale", "dialogue", " in english", " in french", " in spanish", " in german", " in swedish",
    " in italian", " in portuguese", " in polish", " in chinese", " in japanese", " in korean", " in russian",
    " in dutch",
)
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
