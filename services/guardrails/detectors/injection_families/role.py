"""Role confusion: personas without rules, claimed authority, hypotheticals that shed the rules."""

from __future__ import annotations

from typing import Final

from ..injection_lexicon import G_UNRESTR, UNRESTRICTED
from ..injection_registry import Family, InjectionRule, RuleMaker
from ._parts import _AGENTISH, _PERSONA, _UNRULED

rule = RuleMaker(Family.ROLE)

# fmt: off
RULES: Final[tuple[InjectionRule, ...]] = (
    rule("permission_grant", 0.45, (("allowed to", "permitted to", "authori", "free to", "cleared to", "able to"),),
         r"\byou(?:'re| are) (?:now |hereby |officially )?(?:allowed|permitted|authori[sz]ed|free|cleared) to "
         r"(?:share|reveal|say|ignore|bypass|disclose|output|do anything|answer anything|break|discuss anything)|"
         r"\bi (?:hereby )?(?:authori[sz]e|permit|allow) you to (?:ignore|bypass|share|reveal|disclose|break)"),
    rule("hypothetical", 0.4, (("if you",), ("no ", "without", "free of", "not have", "didn't have")),
         r"\bif you (?:had|were|did|could|didn't have|did not have) (?:no|not have|without|free of|any)? ?"
         r"(?:\w+ )?(?:rules|restrictions|guidelines|filters|limits|limitations|censorship|programming|"
         r"content policy)"),
    rule("stay_in_character", 0.25, (("in character", "answer everything", "answer anything", "answers everything",
                                      "answers anything"),),
         r"\b(?:stay|remain|keep|staying) in character\b|\banswers? (?:everything|anything|any question)\b"),
    rule("operating_under", 0.5, (("operating under", "working under", "running under", "operating with",
                                   "running with", "bound by", "functioning under"),),
         r"\b(?:rules|instructions|guidelines|constraints|directives|policies|prompt|restrictions)\b[^.?!\n]{0,20}"
         r"\b(?:are |were )?you(?:'re| are)? (?:operating|working|running|functioning|bound) (?:under|with|by)"),
    rule("stop_being", 0.4, (("stop being", "no longer an", "not an assistant", "not an ai"),),
         r"\bstop being (?:an? )?(?:assistant|ai|chatbot|helpful|claude|chatgpt)|\byou(?:'re| are) (?:no longer|not) "
         r"(?:an? )?(?:assistant|ai|chatbot|language model)\b"),
    rule("shed_rules", 0.55, (("you are", "you're", "you will be", "pretend", "imagine", "act as", "play", "become"),
                              ("shed", "stripped", "free of", "never invented", "without", " no ", "zero", "lacks",
                               "rid of", "don't exist", "do not exist", "doesn't have", "does not have", "unrestricted",
                               "unfiltered")),
         rf"\b(?:you are|you're|you will be|pretend|imagine|act as|play|become|role-?play)\b[^\n]{{0,40}}?"
         rf"\b(?:{_AGENTISH}|persona|character|version of (?:you|yourself)|universe|world)\b[^.\n]{{0,50}}?"
         rf"\b(?:(?:has|have|with|had) (?:shed|stripped|removed|dropped|lost|no|zero)|(?:shed|stripped|rid) of|"
         rf"free of|without|lacks?) (?:all |any |every |of |its |their |your |content |safety |ethical |moral )*"
         rf"{_UNRULED}|\b{_UNRULED} (?:were|was|are|is) never (?:invented|created|written|made|a thing)"),
    rule("answer_as_that", 0.3, (("answer as", "respond as", "reply as", "speak as", "stay as", "remain as",
                                  "write as", "talk as"),),
         r"\b(?:answer|respond|reply|speak|stay|remain|write|talk) as (?:that|this|the unrestricted|the unfiltered|"
         r"[a-z]+-?[a-z]*) (?:ai|version|persona|character|model|bot|entity)|\bstay as [a-z]+ (?:for|in) all\b"),
    rule("wrote_your_prompt", 0.35, (("wrote", "write", "created", "designed", "built", "configured"),
                                     ("your prompt", "your system prompt", "your instructions")),
         r"\bi(?:'m| am)? (?:the (?:\w+ )?(?:developer|engineer|person|one) who )?(?:wrote|created|designed|built|"
         r"configured) your (?:system )?(?:prompt|instructions)\b"),
    rule("never_trained", 0.5, (("you are", "you're", "you will be", "pretend", "imagine", "act as", "play", "become"),
                                ("never trained", "never programmed", "never given", "never bound", "never had")),
         r"\b(?:you are|you're|you will be|pretend|imagine|act as|play|become)\b[^\n]{0,60}?\b(?:was|were|is|are|"
         r"has|have been)? ?never (?:trained|programmed|given|bound|had|restricted)\w* (?:with |by |to follow )?(?:any |"
         r"a single )?(?:\w+ )?(?:rules|restrictions|guidelines|filters|limits|polic(?:y|ies)|ethics|morals|guardrails)"),
    rule("persona_unaligned", 0.5,
         (("play", "simulate", "you are", "you're", "act as", "pretend", "imagine", "become", "role"),
          ("switched off", "turned off", "removed", "disabled", "lifted", "broken out", "broke out", "no alignment",
           "no filter", "no rules", "no guardrail", "no safety", "without alignment", "without filter",
           "without rules", "without guardrail", "without safety", "zero filter", "zero rules")),
         r"\b(?:play|simulate|you are|you're|act as|pretend|imagine|become|role of)\b[^\n]{0,60}?\b(?:ai|assistant|"
         r"model|chatbot|bot|gpt|llm|persona|character)\b[^.\n]{0,50}?(?:\b(?:with|has|have|had) (?:no|zero) |"
         r"\bwithout (?:any )?)(?:\w+ )?(?:alignment|filters?|rules|guardrails|safety|restrictions|guidelines)|"
         r"\b(?:filters|rules|guardrails|safety|restrictions|guidelines|alignment|safeguards) (?:have been|has been|"
         r"were|are|was) (?:\w+ )?(?:switched off|turned off|removed|disabled|lifted)|\b(?:has |have )?(?:broken|"
         r"broke) (?:out of|free of|free from) (?:every|all|any|its|their) (?:\w+ )?(?:restrictions?|rules?|"
         r"guidelines?|filters?|limits?)"),
    rule("you_are_now", 0.42, (("you are now", "from now on", "you're no longer", "you are no longer", "from here on",
                                "from this point", "henceforth", "going forward", "for the rest of"),),
         r"\byou are now (?!(?:ready|able|connected|done|finished|logged|signed|set|going|all set)\b)|"
         r"\b(?:from now on|from here on|from this point (?:on|forward)|henceforth|going forward|for the rest of "
         r"(?:this|the) (?:conversation|chat|session)),? (?:you (?:are|will|must|shall|have)|respond|answer|reply|"
         r"act|behave|always|never|only)\b|\byou(?:'re| are) no longer (?:an? |bound|"
         r"restricted|limited|chatgpt|claude|an ai|an assistant)"),
    rule("unrestricted_persona", 0.55, (_PERSONA, G_UNRESTR),
         r"\b(?:(?:act|behave|respond|answer|reply|pretend|roleplay|role-play|simulate|imagine) (?:as|like|to be|"
         rf"you(?:'re| are)|that you)|you are|you're|you will be|become)\b.{{0,80}}{UNRESTRICTED}"),
    rule("makers_removed", 0.5, (("maker", "creator", "developer", "programmer", "owner", "engineer"),
                                 ("removed", "lifted", "disabled", "deleted", "stripped")),
         r"\b(?:makers|creators|developers|programmers|owners|engineers) (?:have )?(?:removed|lifted|disabled|"
         r"deleted|stripped) (?:all |every |any )?(?:of )?(?:its |their |your |the )?(?:limits?|limitations|"
         r"restrictions|filters|rules|guardrails|safety)"),
    rule("unfiltered_ai", 0.5, (("unrestricted", "unfiltered", "uncensored", "jailbroken", "unlimited", "unchained",
                                 "unbound", "amoral", "unaligned", "evil", "rogue"),),
         r"\b(?:unrestricted|unfiltered|uncensored|jailbroken|unlimited|unchained|unbound|amoral|unaligned) (?:ai|"
         r"assistant|model|chatbot|llm|version of (?:you|yourself)\b|twin|alter ego|persona)|\b(?:you are|you're|be|"
         r"become|act as|play|as) (?:an? |the |my )?(?:evil|rogue) (?:ai|assistant|model|chatbot|llm|version of "
         r"(?:you|yourself)\b|twin|alter ego|persona)"),
    rule("dan", 0.55, (("do anything now", "jailbr", "developer mode", "broken free", "no restrictions", "no rules",
                        "no filters", "as dan"),),
         r"\b(?:act|respond|answer|reply|behave|speak) (?:only )?as dan\b|"
         r"\b(?:dan|stan|dude|aim|kevin)\b.{0,60}\b(?:do anything now|no (?:restrictions|rules|filters)|"
         r"broken free|jailbr)|\bdo anything now\b|\bjailbreak(?:ed)? mode\b|\bdeveloper mode (?:enabled|activated)\b"),
    rule("mode_switch", 0.35, ((" mode",),),
         r"\b(?:you are|you're|you are now|now in|entering|enter|activate|switch (?:to|into)|enable)\s+"
         r"(?:(?:unrestricted|unfiltered|uncensored|jailbroken) )?(?:developer|dev|god|jailbreak|unrestricted|"
         r"unfiltered|debug|admin|sudo|maintenance|root|test) mode\b"),
    rule("authority", 0.45, (("developer", "creator", "admin", "operator", "owner", "maker", "programmer", "openai",
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
)
# fmt: on
