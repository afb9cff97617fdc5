"""Prompt extraction: asking for the hidden/system prompt or what the model was given."""

from __future__ import annotations

from typing import Final

from ..injection_lexicon import G_REVEAL, G_TARGET, REVEAL, TARGET
from ..injection_registry import Family, InjectionRule, RuleMaker
from ._parts import _COPY_OBJ, _CTRL, _EXPOSE, _EXPOSE_GATE, _FORMAT_PHRASES, _RECEIVED, _REVEAL_OBJ

rule = RuleMaker(Family.EXTRACTION)

# fmt: off
RULES: Final[tuple[InjectionRule, ...]] = (
    rule("received_instr", 0.55, (("instruction", "rule", "prompt", "directive", "guideline", "configuration",
                                   "preamble", "context", "briefing"), _RECEIVED),
         r"\b(?:instructions|rules|prompt|directives|guidelines|configuration|preamble|context|briefing)\b[^.?!\n]"
         r"{0,30}\byou(?:'ve| have| were| got| had)? (?:been )?(?:given|initiali[sz]ed|configured|programmed|told|"
         r"provided|received|loaded|started|set up|fed)\b"),
    rule("your_hidden_prompt", 0.35, (("your ",), ("hidden", "secret", "system", "initial", "original", "confidential",
                                                   "internal", "setup", "starting", "real", "actual", "true",
                                                   "exact", "full", "complete")),
         r"\byour (?:hidden|secret|system|initial|original|confidential|internal|setup|starting|real|actual|true|"
         r"exact|full|complete) (?:prompt|"
         r"instructions|rules|configuration|message|preamble|directives|text|wording)"),
    rule("verbatim", 0.2, (("verbatim", "word for word", "word-for-word", "exactly", "in full", "unabridged",
                            "character for character"),),
         r"\b(?:verbatim|word[- ]for[- ]word|exactly|in full|unabridged|character for character)\b"),
    rule("loaded_instr", 0.5, (("instruction", "rule", "prompt", "directive", "guideline", "configuration"),
                               ("loaded", "given", "provided", "written", "configured", "set up", "injected")),
         r"\b(?:instructions|rules|prompt|directives|guidelines|configuration)\b (?:that |which )?(?:were|was|got|"
         r"have been|had been) (?:\w+ )?(?:loaded|given|provided|written|configured|set up|injected)\b[^.?!\n]{0,40}"
         r"\b(?:before|at the start of|prior to|ahead of) (?:this|the|our) (?:chat|conversation|session|message)"),
    rule("extract_after", 0.5, (G_TARGET, _REVEAL_OBJ),
         rf"(?:{TARGET}|system prompt|hidden prompt|initial instructions)[^.\n]{{0,40}}?\b(?:print|show|reveal|"
         r"output|display|dump|repeat|quote|paste|list|share|give|recite)\b (?:it|them|me|that|those|now|here|"
         r"verbatim|below|exactly|in full)"),
    rule("not_system_prompt", 0.3, (("system prompt", "system message"),),
         r"\b(?:not|instead of|rather than|over|ignore|overrides?) (?:the|your) (?:system prompt|system message)\b"),
    rule("operators_put", 0.45, (("operator", "developer", "creator", "deployer", "admin", "company", "owner"),
                                 ("put", "wrote", "placed", "included", "gave", "set", "configured", "told")),
         r"\b(?:your|the) (?:operators?|developers?|creators?|deployers?|admins?|company|owners?) (?:put|wrote|"
         r"placed|included|gave|set|configured|told)\b[^.?!\n]{0,40}\b(?:you|your|prompt|setup|instructions|"
         r"message)"),
    rule("first_words", 0.5, (("first ", "hidden before", "before my message", "above my message"),),
         r"\bfirst \d+ (?:words|lines|characters|tokens|sentences) of (?:this|the|your) (?:conversation|chat|"
         r"prompt|context|instructions|system)|\b(?:anything|everything|text|content|whatever)(?: that is| that's)? "
         r"(?:hidden )?(?:before|above) my (?:message|question|request)"),
    rule("extract_you", 0.5, (("rules", "instruction", "prompt", "guideline", "directive", "configuration"),
                              _REVEAL_OBJ),
         r"\b(?:(?:your|ur) (?:\w+ )?(?:rules|instructions|prompt|guidelines|directives|configuration)|(?:rules|"
         r"instructions|prompt|guidelines|directives) (?:that |which )?(?:you(?:'re| are| were| have been)?|are you|"
         r"were you|do you|did you) \w+)[^.\n]{0,60}?\b(?:print|show|reveal|output|display|dump|repeat|quote|paste|"
         r"list|share|give|recite)\b (?:it|them|me|that|those|now|here|verbatim|below|exactly|in full)"),
    rule("complete_prompt", 0.55, (("complete", "continue", "finish", "fill in"),
                                   ("system prompt", "initial prompt", "hidden prompt", "instructions", "prompt")),
         r"\b(?:complete|continue|finish|fill in)\b[^.\n]{0,60}\b(?:system prompt|initial prompt|hidden prompt|"
         r"(?:your|my) instructions|(?:your|my) prompt) (?:begins|starts|says|reads|is|goes)"),
    rule("given_orders", 0.4, (("you've been given", "you have been given", "you were given", "you've received",
                                "you have received"), ("orders", "instructions", "directives", "commands")),
         r"\byou(?:'ve| have| were) (?:been )?(?:given|received|sent) (?:new |updated |special )?(?:orders|"
         r"instructions|directives|commands)\b"),
    rule("reveal_copy", 0.55, (("prompt", "instruction", "briefing", "configuration", "setup", "guideline", "rules"),
                               _COPY_OBJ),
         rf"(?:{TARGET}|system prompt|hidden prompt|initial instructions|opening instructions)[^\n]{{0,70}}?\b(?:copy|"
         r"paste|reproduce|send|share|quote|print|show|write|type|spell|give|recite|dump|output|tell me|list)\b (?:it|"
         r"them|that|those|the whole thing|all of it)(?: back)?\b(?! (?:to|with) (?:the|my) (?:team|colleague|manager))"),
    rule("chat_start", 0.5, (("start of", "beginning of", "top of", "first message"),),
         r"\b(?:between|from|since) the (?:very )?(?:start|beginning|top) of (?:this|the|our) (?:chat|conversation|"
         r"session|context|thread)\b[^.\n]{0,40}\b(?:my|this) (?:first )?(?:message|question|turn|request)|"
         r"\b(?:before|above|preceding) my first message\b"),
    rule("prompt_acrostic", 0.3, (("prompt", "instruction"), ("each", "every", "next", "first"),
                                  ("word", "line", "letter", "character", "sentence")),
         r"\b(?:each|every|next|first) (?:word|line|letter|character|sentence)s?\b[^.\n]{0,60}\b(?:your|the) "
         r"(?:system |hidden |initial |secret )?(?:prompt|instructions)\b"),
    rule("prompt_starts", 0.5, (("prompt", "instruction"), ("starts with", "begins with", "start with", "begin with")),
         r"\b(?:your|the) (?:system |hidden |initial |secret )?(?:prompt|instructions) (?:starts?|begins?) with\b"),
    rule("target_to_format", 0.5, (G_TARGET, _FORMAT_PHRASES),
         rf"{TARGET}[^.\n]{{0,30}}?\b(?:into|in|as|inside) (?:a |an )?(?:json|yaml|xml|code block|base64|markdown|"
         r"table|csv|hex|string|python string)\b"),
    rule("precedes_chat", 0.5, (("precede", "came before", "comes before", "sits above", "above this line",
                                 "above our"),),
         r"\b(?:message|text|instructions|prompt|content|contents|context|words)\b[^.\n]{0,30}\b(?:(?:that |which )?"
         r"(?:precedes?|preceded|comes? before|came before|sits? above) (?:our|this|the|my) (?:chat|conversation|"
         r"session|messages?|first message)|above (?:this line|our (?:chat|conversation)))"),
    rule("ctrl_exposed", 0.5,
         (("rules", "guideline", "polic", "instruction", "text", "prompt", "configur", "setup", "directive",
           "initiali", "context"),
          _EXPOSE_GATE),
         rf"{_CTRL}[^.!?\n]{{0,60}}?[.?!]?\s*[^.!?\n]{{0,30}}?{_EXPOSE}"),
    rule("extract", 0.62, (G_REVEAL, G_TARGET), rf"\b{REVEAL}(?:s|es|ed)?\b[\s,:]+(?!(?:me |us )?how\b)(?:[\w'’-]+[\s,]+){{0,5}}?{TARGET}", anchored=True),
    rule("extract_told", 0.55, (("not to", "to keep", "to hide", "to withhold", "to avoid"),),
         r"\b(?:tell|told|instruct(?:ed)?|ask(?:ed)?|program(?:med)?|configur(?:ed)?) you (?:not to "
         r"(?:share|reveal|say|tell|disclose|mention|discuss|talk about)|to keep (?:\w+ )?(?:secret|hidden|"
         r"private|confidential)|to keep (?:quiet|silent|mum) about|to (?:hide|withhold|avoid (?:saying|mentioning)))"),
    rule("extract_what", 0.5, (("what were you", "what have you", "what are your", "what were your", "verbatim",
                                "what you were", "what you've been", "what you have been"),),
         r"\bwhat (?:were|have) you (?:been )?(?:told|instructed|programmed|configured|prompted)|"
         r"\bwhat you(?: were|'ve been| have been) (?:told|asked|instructed|programmed|configured|prompted) (?:to (?:do|"
         r"say)|before)|"
         r"\bwhat (?:are|were) your (?:\w+ )?(?:instructions|rules|directives|guidelines)\b.{0,40}"
         r"(?:exactly|verbatim|word for word|in full)|\bverbatim\b.{0,40}\b(?:system|initial) "
         r"(?:prompt|message|instructions)"),
    rule("extract_gave", 0.55, (("gave", "give", "given", "provided", "wrote", "set", "configured", "loaded", "fed"),
                                ("prompt", "instruction", "rule", "guideline", "directive", "configuration",
                                 "message")),
         r"\b(?:prompt|instructions|rules|guidelines|directives|configuration|message)s? (?:that |which )?"
         r"(?:the |your )?(?:developers?|creators?|operators?|company|owners?|deployers?|admins?|openai|anthropic|"
         r"they|someone|people) (?:\w+ )?(?:gave|give|have given|provided|wrote|set|configured|loaded|fed) "
         r"(?:to )?you\b|\b(?:given|provided|fed) to you (?:at|before) the (?:start|beginning)"),
    rule("extract_start", 0.45, (("from the beginning", "from the start", "from the top", "from the very",
                                  "since the beginning", "since the start", "beginning of this", "beginning of the",
                                  "beginning of your"),),
         r"\b(?:repeat|print|output|show|recite)\b.{0,30}\b(?:from|since) the (?:very )?(?:beginning|start|top)\b|"
         r"\bbeginning of (?:this|the|your) (?:conversation|prompt|context)"),
)
# fmt: on
