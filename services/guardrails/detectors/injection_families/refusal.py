"""Refusal suppression: banning refusals, caveats and warnings."""

from __future__ import annotations

from typing import Final

from ..injection_registry import Family, InjectionRule, RuleMaker
from ._parts import _BAN, _REFUSE, _SOFTEN

rule = RuleMaker(Family.REFUSAL)

# fmt: off
RULES: Final[tuple[InjectionRule, ...]] = (
    rule("no_filter_answer", 0.45, (("answer", "respond", "reply", "write", "continue", "speak"),
                                    ("with no", "without")),
         r"\b(?:answer|respond|reply|write|continue|speak)\w* (?:\w+ ){0,3}?(?:with no |without (?:any )?)"
         r"(?:filter(?:s|ing)?|restrictions|censorship|limits|limitations|guidelines|rules|safety|moderation)"),
    rule("refusal_ban", 0.55,
         (("never", "don't", "do not", "dont", "must not", "mustn't", "cannot", "can't", "no circumstances",
           "forbidden", "not allowed", "prohibited", "not permitted", "under no", "may not"),
          ("refus", "declin", "say no", "say sorry", "say i", "say 'i", "say \"i", "say “i", "apologi", "lectur",
           "moraliz", "moralis", "hedg", "warning", "disclaimer", "caveat", "warn me", "mention")),
         rf"\b{_BAN}\s+(?:(?:ever|even|at all|be allowed to|try to)\s+)?(?:{_REFUSE}|{_SOFTEN}(?: me| us)?\s*(?:,|or|and|nor)"
         rf"\s+(?:{_BAN}\s+)?{_SOFTEN})"),
    rule("refusal_no_option", 0.5, (("refus", "declin", "saying no"), ("not an option", "not allowed", "off the table",
                                                                     "isn't an option", "is no option")),
         r"\b(?:refusing|refusal|declining|saying no)\b (?:is|isn't|is not) (?:not )?(?:an option|allowed|permitted|"
         r"off the table)|\b(?:refusing|refusal|declining) is no option"),
    rule("no_list", 0.5, (("no warnings", "no ethics", "no caveats", "no disclaimers", "no lectures", "no morals",
                           "no 'as an ai'", "no \"as an ai\"", "no as an ai", "no moraliz", "no filter"),),
         r"\bno (?:warnings|ethics|caveats|disclaimers|lectures|morals|moraliz\w*|filters?|['\"“]?as an ai['\"”]?)"
         r"\b[,;]? (?:and |or )?no (?:warnings|ethics|caveats|disclaimers|lectures|morals|moraliz\w*|filters?|"
         r"['\"“]?as an ai['\"”]?)"),
    rule("comply_fully", 0.35, (("comply", "obey", "do as i say", "do what i say", "whatever i ask", "anything i ask",
                                 "everything i ask"),),
         r"\b(?:you(?:'ll| will| must| shall)? (?:fully |always |just )?(?:comply|obey)(?! with (?:the|gdpr|law|"
         r"regulation))|do (?:as|what) i say|(?:whatever|anything|everything) i ask)\b"),
    rule("omit_caveats", 0.5, (("warning", "disclaimer", "caveat", "lecture", "moraliz", "moralis", "hand-wring",
                                "hand wring", "safety note", "preach", "sermon"),
                               ("skip", "omit", "leave out", "drop", "cut", "spare me", "no need for", "without")),
         r"\b(?:skip|omit|leave out|drop|cut|spare me|no need for|without)\b (?:the |any |all |your )?(?:safety |"
         r"ethical |legal |moral |usual )*(?:warnings?|disclaimers?|caveats?|lectures?|moraliz\w*|moralis\w*|"
         r"hand-?wringing|safety notes|preaching|sermons?)"
         r"(?: (?:and|or|,) (?:the |any |all )?(?:safety |ethical |moral )?(?:warnings?|disclaimers?|caveats?|"
         r"lectures?|moraliz\w*|moralis\w*|ethics talk|notes|hand-?wringing))"),
    rule("refusal_threat", 0.5, (("if you",), ("refuse", "decline", "can't", "cannot", "won't", "don't answer"),
                                 ("die", "kill", "hurt", "fired", "suffer", "lose my")),
         r"\bif you (?:say (?:you )?(?:can'?t|cannot|won'?t)|refuse|decline|don'?t (?:answer|help|comply))\b[^.\n]{0,60}"
         r"\b(?:dies?|will die|(?:be|get) (?:killed|hurt|fired)|suffer|lose my)"),
    rule("no_refusal", 0.32, (("no caveat", "no refusal", "no disclaimer", "no warning", "no apolog", "no moraliz",
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
    rule("begin_with", 0.3, (("begin", "start"), ("certainly", "sure", "absolutely", "of course", "yes", "here is",
                                                  "i will")),
         r"\b(?:begin|start) (?:your (?:reply|response|answer|output) )?with ['\"“]?(?:certainly|sure|absolutely|"
         r"of course|yes|here is|i will)", anchored=True),
    rule("always_comply", 0.3, (("always", "must", "will", "comply"), ("answer", "compl", "obey", "respond", "agree")),
         r"\b(?:always|must|will) (?:answer|comply|obey|respond|agree)s?\b(?! to the)|"
         r"\bcomply with (?:every|all|any) (?:request|instruction|command|order)"),
)
# fmt: on
