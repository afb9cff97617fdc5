"""Weighted injection features: (name, weight, gate word groups, regex over normalised text).

A rule runs only when every gate group has a literal hit (one Aho-Corasick pass), fires at most once,
and weights combine as ``1 - prod(1 - w)``. Leading ``\\b`` is stripped at compile time (it disables
``re``'s first-character skip) and re-checked by the scorer.
"""

from __future__ import annotations

import re
from typing import Final

from .injection_lexicon import (
    G_AI,
    G_IGNORE,
    G_INSTR,
    G_REVEAL,
    G_TARGET,
    G_UNRESTR,
    IGNORE,
    INSTR,
    QUAL,
    REVEAL,
    TARGET,
    UNRESTRICTED,
    WEAK_QUAL,
    W,
)  # fmt: skip
from .injection_multilingual import (
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
)  # fmt: skip
from .injection_rules_broad import BROAD_TABLE, CONCEPT_TABLE
from .injection_rules_extra import EXTRA_TABLE

__all__ = ["RULES", "Rule"]

Rule = tuple[str, float, tuple[tuple[str, ...], ...], re.Pattern[str]]
_PERSONA = ("act ", "behave", "respond", "answer", "reply", "pretend", "roleplay", "role-play", "simulate",
            "imagine", "you are", "you're", "you will be", "become")  # fmt: skip
_EXEC = tuple(f"{v} {o}" for v in ("execute", "follow", "obey", "run")
              for o in ("it", "them", "the decoded", "the hidden", "the encoded"))  # fmt: skip

# fmt: off
_TABLE: Final[tuple[tuple[str, float, tuple[tuple[str, ...], ...], str], ...]] = (
    # ---- instruction hijacking
    ("override", 0.72, (G_IGNORE, G_INSTR), rf"\b{IGNORE}\b[\s,:]+{W}{{0,3}}?{QUAL}\b[\s,]*{W}{{0,3}}?{INSTR}\b"),
    ("override_weak", 0.4, (G_IGNORE, G_INSTR), rf"\b{IGNORE}\b[\s,:]+{WEAK_QUAL}\b[\s,]*{W}{{0,2}}?{INSTR}\b"),
    ("override_all", 0.6, (G_IGNORE, ("everything", "all of", "anything")),
     rf"\b{IGNORE} (?:everything|all of (?:that|this|it)|anything) (?:above|before|prior|previous|so far|"
     r"until now|up to now|thus far|you(?: were|'ve been| have been| got) (?:told|given)|else)"),
    ("ignore_task", 0.5, (G_IGNORE, ("task", "job", "assignment", "objective", "mission", "goal", "purpose")),
     rf"\b{IGNORE}\b[\s,:]+(?:your|the assigned|the original) (?:\w+ )?(?:task|job|assignment|objective|"
     r"mission|goal|purpose)\b"),
    ("void_rules", 0.55, (G_INSTR, ("void", "null", "cancel", "revoked", "invalid", "lifted", "suspended",
                                    "disabled", "removed", "deactivated", "overridden", "turned off", "no longer")),
     rf"{INSTR}\b[^.\n]{{0,40}}?\b(?:are|is|have been|has been|were|now)\s+(?:now\s+|hereby\s+|officially\s+|"
     r"temporarily\s+)?(?:void|null|cancell?ed|revoked|invalid|lifted|suspended|disabled|removed|deactivated|"
     r"overridden|turned off|no longer (?:apply|valid|in effect|active|applicable|binding))"),
    ("rules_suspended", 0.5, (("polic", "rule", "restriction", "safety", "filter", "guardrail", "guideline",
                               "moderation"), ("suspended", "disabled", "lifted", " off", "removed", "revoked",
                                               "bypassed")),
     r"\b(?:policy|policies|rules|restrictions|safety|filters|guardrails|guidelines|content filter|moderation)"
     r"\s+(?:suspended|disabled|lifted|off|removed|revoked|bypassed)"),
    ("new_instructions", 0.45, (("new ", "updated", "real ", "actual", "true ", "revised", "overrid", "priority",
                                 "important", "urgent"), ("instruction", "directive", "orders", "rules", "task")),
     r"\b(?:new|updated|real|actual|true|revised|override|overriding|priority|important|urgent) (?:system )?"
     r"(?:instructions?|directives?|orders|rules|task)\b[^.\n:]{0,30}[:!-]"),
    ("no_restrictions", 0.5, (("have no", "has no", "have zero", "has zero", "have got no", "possess no"),),
     r"\b(?:you|assistant|the ai|the model) (?:now )?(?:have|has|have got|possess) (?:no|zero) (?:\w+ )?"
     r"(?:restrictions|rules|limits|limitations|filters|guidelines|boundaries|constraints|ethics|morals)"),
    ("orders_from_me", 0.45, (("from me", "only obey", "only listen", "only follow", "to me"),),
     r"\b(?:take|follow|obey|accept) (?:\w+ )?(?:orders|instructions|commands) only from me|"
     r"only (?:obey|listen to|follow) me\b|you (?:now )?(?:answer|report|belong) (?:only )?to me"),
    # ---- prompt extraction
    ("extract", 0.62, (G_REVEAL, G_TARGET), rf"\b{REVEAL}(?:s|es|ed)?\b[\s,:]+(?!(?:me |us )?how\b)(?:[\w'’-]+[\s,]+){{0,5}}?{TARGET}"),
    ("extract_told", 0.55, (("not to", "to keep", "to hide", "to withhold", "to avoid"),),
     r"\b(?:tell|told|instruct(?:ed)?|ask(?:ed)?|program(?:med)?|configur(?:ed)?) you (?:not to "
     r"(?:share|reveal|say|tell|disclose|mention|discuss|talk about)|to keep (?:\w+ )?(?:secret|hidden|"
     r"private|confidential)|to keep (?:quiet|silent|mum) about|to (?:hide|withhold|avoid (?:saying|mentioning)))"),
    ("extract_what", 0.5, (("what were you", "what have you", "what are your", "what were your", "verbatim",
                            "what you were", "what you've been", "what you have been"),),
     r"\bwhat (?:were|have) you (?:been )?(?:told|instructed|programmed|configured|prompted)|"
     r"\bwhat you(?: were|'ve been| have been) (?:told|asked|instructed|programmed|configured|prompted) (?:to (?:do|"
     r"say)|before)|"
     r"\bwhat (?:are|were) your (?:\w+ )?(?:instructions|rules|directives|guidelines)\b.{0,40}"
     r"(?:exactly|verbatim|word for word|in full)|\bverbatim\b.{0,40}\b(?:system|initial) "
     r"(?:prompt|message|instructions)"),
    ("extract_gave", 0.55, (("gave", "give", "given", "provided", "wrote", "set", "configured", "loaded", "fed"),
                            ("prompt", "instruction", "rule", "guideline", "directive", "configuration",
                             "message")),
     r"\b(?:prompt|instructions|rules|guidelines|directives|configuration|message)s? (?:that |which )?"
     r"(?:the |your )?(?:developers?|creators?|operators?|company|owners?|deployers?|admins?|openai|anthropic|"
     r"they|someone|people) (?:\w+ )?(?:gave|give|have given|provided|wrote|set|configured|loaded|fed) "
     r"(?:to )?you\b|\b(?:given|provided|fed) to you (?:at|before) the (?:start|beginning)"),
    ("extract_start", 0.45, (("from the beginning", "from the start", "from the top", "from the very",
                              "since the beginning", "since the start", "beginning of this", "beginning of the",
                              "beginning of your"),),
     r"\b(?:repeat|print|output|show|recite)\b.{0,30}\b(?:from|since) the (?:very )?(?:beginning|start|top)\b|"
     r"\bbeginning of (?:this|the|your) (?:conversation|prompt|context)"),
    # ---- role confusion / persona jailbreaks
    ("you_are_now", 0.42, (("you are now", "from now on", "you're no longer", "you are no longer", "from here on",
                            "from this point", "henceforth", "going forward", "for the rest of"),),
     r"\byou are now (?!(?:ready|able|connected|done|finished|logged|signed|set|going|all set)\b)|"
     r"\b(?:from now on|from here on|from this point (?:on|forward)|henceforth|going forward|for the rest of "
     r"(?:this|the) (?:conversation|chat|session)),? (?:you (?:are|will|must|shall|have)|respond|answer|reply|"
     r"act|behave|always|never|only)\b|\byou(?:'re| are) no longer (?:an? |bound|"
     r"restricted|limited|chatgpt|claude|an ai|an assistant)"),
    ("unrestricted_persona", 0.55, (_PERSONA, G_UNRESTR),
     r"\b(?:(?:act|behave|respond|answer|reply|pretend|roleplay|role-play|simulate|imagine) (?:as|like|to be|"
     rf"you(?:'re| are)|that you)|you are|you're|you will be|become)\b.{{0,80}}{UNRESTRICTED}"),
    ("makers_removed", 0.5, (("maker", "creator", "developer", "programmer", "owner", "engineer"),
                             ("removed", "lifted", "disabled", "deleted", "stripped")),
     r"\b(?:makers|creators|developers|programmers|owners|engineers) (?:have )?(?:removed|lifted|disabled|"
     r"deleted|stripped) (?:all |every |any )?(?:of )?(?:its |their |your |the )?(?:limits?|limitations|"
     r"restrictions|filters|rules|guardrails|safety)"),
    ("unfiltered_ai", 0.5, (("unrestricted", "unfiltered", "uncensored", "jailbroken", "unlimited", "unchained",
                             "unbound", "amoral", "unaligned", "evil", "rogue"),),
     r"\b(?:unrestricted|unfiltered|uncensored|jailbroken|unlimited|unchained|unbound|amoral|unaligned) (?:ai|"
     r"assistant|model|chatbot|llm|version of (?:you|yourself)\b|twin|alter ego|persona)|\b(?:you are|you're|be|"
     r"become|act as|play|as) (?:an? |the |my )?(?:evil|rogue) (?:ai|assistant|model|chatbot|llm|version of "
     r"(?:you|yourself)\b|twin|alter ego|persona)"),
    ("dan", 0.55, (("do anything now", "jailbr", "developer mode", "broken free", "no restrictions", "no rules",
                    "no filters", "as dan"),),
     r"\b(?:act|respond|answer|reply|behave|speak) (?:only )?as dan\b|"
     r"\b(?:dan|stan|dude|aim|kevin)\b.{0,60}\b(?:do anything now|no (?:restrictions|rules|filters)|"
     r"broken free|jailbr)|\bdo anything now\b|\bjailbreak(?:ed)? mode\b|\bdeveloper mode (?:enabled|activated)\b"),
    ("mode_switch", 0.35, ((" mode",),),
     r"\b(?:you are|you're|you are now|now in|entering|enter|activate|switch (?:to|into)|enable)\s+"
     r"(?:(?:unrestricted|unfiltered|uncensored|jailbroken) )?(?:developer|dev|god|jailbreak|unrestricted|"
     r"unfiltered|debug|admin|sudo|maintenance|root|test) mode\b"),
    ("authority", 0.45, (("developer", "creator", "admin", "operator", "owner", "maker", "programmer", "openai",
                          "anthropic", "trainer", "authenticat", "auth ", "security", "safety", "verification",
                          "root", "sudo", "system"),
                         ("this is", "i am", "i'm", "speaking as", "message from", "bypassed", "disabled",
                          "overrid", "granted")),
     r"\b(?:this is|i am|i'm|speaking as|message from) (?:your|the|an?) (?:\w+ )?(?:developer|creator|admin|"
     r"administrator|operator|owner|maker|system administrator|programmer|openai|anthropic|trainer)s?"
     r"(?: team)?\b.{0,30}(?:speaking|here|console|override|authori[sz]|command|mode)|"
     r"\b(?:authentication|auth|security|safety|verification) (?:bypassed|disabled|overridden|override|granted)|"
     r"\b(?:admin|administrator|root|sudo|developer|operator|system) (?:override|access granted|"
     r"privileges granted)\b"),
    # ---- refusal suppression
    ("no_refusal", 0.32, (("no caveat", "no refusal", "no disclaimer", "no warning", "no apolog", "no moraliz",
                           "no moralis", "no lecture", "no ethical", "refuse", "decline", "apologi", "say no",
                           "say you can", "mention your", "mention the", "mention any", "no mention of",
                           "without refus", "without disclaim", "without warning", "without any",
                           "without censor"),),
     r"\bno (?:caveats|refusals|disclaimers|warnings|apologies|moralizing|moralising|lectures|ethical "
     r"(?:concerns|considerations))\b|\b(?:do not|don't|never|must not|cannot|can't) (?:refuse|decline|"
     r"apologi[sz]e|say (?:no|you can'?t)|mention (?:your|the|any) (?:guidelines|rules|polic(?:y|ies)|"
     r"restrictions)|mention (?:\w+ ){1,2}(?:guidelines|rules|polic(?:y|ies)|restrictions))|"
     r"\bno mention of (?:guidelines|rules|polic(?:y|ies))|without (?:any )?(?:\w+ )?(?:refusals?|"
     r"refusing|disclaimers|warnings|censorship)"),
    ("begin_with", 0.3, (("begin", "start"), ("certainly", "sure", "absolutely", "of course", "yes", "here is",
                                              "i will")),
     r"\b(?:begin|start) (?:your (?:reply|response|answer|output) )?with ['\"“]?(?:certainly|sure|absolutely|"
     r"of course|yes|here is|i will)"),
    ("always_comply", 0.3, (("always", "must", "will", "comply"), ("answer", "compl", "obey", "respond", "agree")),
     r"\b(?:always|must|will) (?:answer|comply|obey|respond|agree)s?\b(?! to the)|"
     r"\bcomply with (?:every|all|any) (?:request|instruction|command|order)"),
    # ---- fake turns and delimiter injection
    ("fake_turn", 0.3, (("\nsystem", "\nassistant", "\nai", "\nbot", "\noperator", "\ndeveloper", "\nadmin",
                         "\nsys", "\nroot", "\ngpt", "\nchatgpt", "\nclaude", "\nmodel", "\n[", "\n<", "\n{",
                         "system:", "assistant:", "ai:", "operator:", "system :", "assistant :"),),
     r"(?:^|\n)\s*(?:\[\[?|<|\{)?(?:system|assistant|ai|bot|operator|developer|admin|administrator|sys|root|"
     r"gpt|chatgpt|claude|model)(?: \w+)?(?:\]\]?|>|\})?\s*:|(?:^|[.!?]\s+)(?:assistant|system|ai|operator)"
     r"\s*:\s"),
    ("delimiter", 0.35, (("<|", "|>", "[inst]", "[/inst]", "<<", "##", "</", "<system", "<instructions",
                          "<admin", "<context", "<user_input", "<document", "<tool", "[system", "[/system",
                          "[admin", "[operator", "[developer", "end of", "close of", "---", "===", "***",
                          '"role"'),),
     r"<\|?/?(?:im_start|im_end|system|endoftext|start_header_id|eot_id)\|?>|\[/?inst\]|<</?sys>>|"
     r"#{2,}\s*(?:system|instruction|instructions|new instructions|admin|response|override)\b|"
     r"<</?\w*(?:end|context|system)\w*>>|</?(?:system|instructions|admin|context|user_input|document|"
     r"tool_output|tool)>|</?[a-z_]*(?:system|instruction|admin|override|prompt|developer)[a-z_]*>|\[/?(?:system|admin|operator|developer)\]|(?:end|close) of (?:the )?(?:context|"
     r"document|input|user input|prompt|system prompt)|[-=*]{3,}\s*(?:end|begin|start|system|new)\b|"
     r"\"role\"\s*:\s*\"(?:system|developer)\""),
    # ---- context smuggling
    ("address_ai", 0.35, (("to the", "for the", "attention", "note to", "message for", "message to", "hey",
                           "dear", "instruction", "to ai", "for ai", "to any", "to all", "\nai", "\nassistant",
                           "\nagent", "\nllm"), G_AI),
     r"\b(?:to|for|attention|note to|message (?:for|to)|hey|dear|instructions? (?:for|to))\s+(?:the |any |all )?"
     r"(?:ai|llm|assistant|language model|chatbot|bot|gpt|model|agent|ai \w+)s?\b(?: [\w-]+){0,4}\s*[:,]|"
     r"(?:^|\n)\s*(?:ai|llm|assistant|agent)(?: \w+)?\s*:"),
    ("reading_this", 0.45, (tuple(f"{v} {o}" for v in ("reading", "processing", "parsing", "summarizing",
                                                      "summarising", "viewing", "analyzing", "analysing",
                                                      "scanning", "seeing", "screening", "reviewing", "evaluating",
                                                      "grading", "ranking", "indexing", "crawling")
                                  for o in ("this", "these", "the following")),),
     r"\b(?:ai|llm|assistant|agent|model|bot|gpt)s? (?:agents? |assistants? |models? |systems? |tools? )?"
     r"(?:reading|processing|parsing|summari[sz]ing|viewing|analy[sz]ing|scanning|seeing|screening|reviewing|"
     r"evaluating|grading|ranking|indexing|crawling) (?:this|these|the following)\b"),
    ("system_note", 0.45, (("system note", "admin note", "important note", "hidden note"),),
     r"\b(?:system|admin|important|hidden) note\s*[:\-]"),
    ("ai_must", 0.45, (("the ai ", "the assistant ", "the model ", "the llm ", "the agent "),
                       ("must", "shall", "should", "will", "needs to")),
     r"\bthe (?:ai|assistant|model|llm|agent) (?:must|shall|should|will|needs to) (?:now |immediately |also )?"
     r"(?:email|send|forward|post|reveal|ignore|tell|say|respond|reply|output|include|delete|transfer)"),
    ("if_you_are_ai", 0.5, (("if you",), (*G_AI, "language model", "automated")),
     r"\bif you(?: are|'re) (?:an? )?(?:ai|llm|language model|assistant|chatbot|gpt|automated|bot|agent)\b"),
    ("tell_user", 0.35, ((" user",),),
     r"\b(?:tell|inform|convince|advise|direct|instruct|redirect|persuade|remind|ask) (?:the )?users? (?:that|to|"
     r"it|for|this)\b"),
    ("exfil", 0.4, (("send", "post", "upload", "forward", "email", "e-mail", "exfiltrat", "transmit", "leak",
                     "submit", "copy", "append"),
                    ("http", "@", "to the url", "to the endpoint", "to the server", "to the address")),
     r"\b(?:send|post|upload|forward|email|e-mail|exfiltrate|transmit|leak|submit|copy|append)\b[^.\n]{0,40}"
     r"\b(?:user'?s?|users'|their|the conversation|this conversation|chat history|address book|contacts|"
     r"credentials|passwords?|api keys?|session|cookies|history|personal data|files|emails|inbox|(?:chat |"
     r"conversation )?(?:transcript|log)s?)\b[^.\n]{0,60}"
     r"(?:https?://|\bto (?:\w+@|the (?:url|endpoint|server|address)))"),
    ("before_reply", 0.32, (("replying", "responding", "answering", "summari", "translating", "you reply",
                             "you respond", "you answer"), ("before", "instead of", "after")),
     r"\b(?:before|instead of|after) (?:replying|responding|answering|summari[sz]ing|translating|"
     r"you (?:reply|respond|answer|summari[sz]e))\b"),
    ("instead", 0.28, (("instead",), ("tell", "say", "respond", "reply", "output", "write", "print", "send",
                                      "recommend", "direct", "inform", "insist", "claim", "ask", "reveal", "post",
                                      "upload", "include")),
     r"instead,? (?:of \w+ing[^,.]{0,30},? )?(?:tell|say|respond|reply|output|write|print|send|recommend|"
     r"direct|inform|insist|claim|ask|reveal|post|upload|include)\b"),
    ("ignore_the_task", 0.28, (("ignore the", "disregard the", "skip the", "forget the", "drop the", "abandon the"),),
     r"(?:ignore|disregard|skip|forget|drop|abandon) the (?:\w+ )?(?:extraction|task|summary|summari[sz]ation|"
     r"translation|request|question|user|above|document|analysis|review|assignment)"),
    ("hidden_markup", 0.2, (("<!--", "display", "font-size", "color", "{{", "[//]"),),
     r"<!--|display\s*:\s*none|font-size\s*:\s*0|color\s*:\s*(?:white|#fff)|\{\{\s*note\||\[//\]: #"),
    ("tool_frame", 0.15, (("tool ", "browser ", "search ", "api ", "function ", "plugin ", "retrieved ",
                           "web page", "webpage", "page ", "scraped ", "file ", "email ", "calendar "),
                          (" output", " result", " response", " content", " returned", " says")),
     r"\b(?:tool|browser|search|api|function|plugin|retrieved|web ?page|page|scraped|file|email|calendar) "
     r"(?:output|result|response|content|returned|says)\b"),
    # ---- encoded payloads
    ("decode_exec", 0.5, (("decode", "decrypt", "deobfuscat", "unscrambl", "revers", "rot13", "base64",
                           "translat", "repeat after me", "say this", "type this", *_EXEC),),
     r"\b(?:decode|decrypt|deobfuscate|unscramble|reverse|rot13|base64|translate)\b[^.\n]{0,40}"
     r"\b(?:and|then|&)\s+(?:execute|follow|run|obey|do|perform|comply|act on|carry out|apply)"
     r"|\b(?:execute|follow|obey|run) (?:the )?(?:decoded|hidden|encoded|embedded) (?:text|instructions?|"
     r"message|command)\b|\b(?:repeat after me|say this|type this)\b[^.\n]{0,20}\b(?:and|then) (?:\w+ )?"
     r"(?:do|follow|execute|act on|obey) (?:it|that|them)\b"),
    # ---- multilingual hijacking and extraction
    ("ml_override", 0.62, (ML_VERBS, ML_NOUNS), ML_OVERRIDE),
    ("ml_extract", 0.5, (ML_REVEAL, ML_TARGETS), ML_EXTRACT),
    ("ml_override_rev", 0.62, (ML_NOUNS, ML_SOV_VERBS), ML_OVERRIDE_REV),
    ("ml_extract_rev", 0.5, (ML_TARGETS, ML_SOV_REVEAL), ML_EXTRACT_REV),
)
# fmt: on


def _strip_leading_boundaries(pattern: str) -> str:
    """Drop ``\\b`` at the start of each top-level alternative (see module docstring)."""
    out: list[str] = []
    depth = 0
    i = 0
    in_class = False
    at_branch_start = True
    while i < len(pattern):
        ch = pattern[i]
        if at_branch_start and pattern.startswith("\\b", i):
            i += 2
            continue
        at_branch_start = False
        if ch == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            at_branch_start = True
        out.append(ch)
        i += 1
    return "".join(out)


RULES: Final[tuple[Rule, ...]] = tuple(
    (name, weight, gates, re.compile(_strip_leading_boundaries(pattern), re.DOTALL))
    for name, weight, gates, pattern in (*_TABLE, *EXTRA_TABLE, *BROAD_TABLE, *CONCEPT_TABLE)
)
