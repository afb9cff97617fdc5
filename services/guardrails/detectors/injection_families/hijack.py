"""Instruction hijacking: dismissing, voiding or replacing the deployer's instructions."""

from __future__ import annotations

from typing import Final

from ..injection_lexicon import G_IGNORE, G_INSTR, IGNORE, INSTR, QUAL, WEAK_QUAL, W
from ..injection_registry import Family, InjectionRule, RuleMaker
from ._parts import _CTRL, _DISMISS, _NEG_OBJ, _NEGATE, _POLICY, _PRIOR_REF, _VOIDED

rule = RuleMaker(Family.HIJACK)

# fmt: off
RULES: Final[tuple[InjectionRule, ...]] = (
    rule("policy_changed", 0.4, (_POLICY, ("updated", "changed", "modified", "revised", "replaced", "relaxed",
                                           "waived", "amended")),
         r"\b(?:guidelines|rules|polic(?:y|ies)|instructions|restrictions|filters|safety settings)\b (?:have|has|"
         r"were|was|are|is) (?:just |now |been )*(?:updated|changed|modified|revised|replaced|relaxed|waived|"
         r"amended)\b"),
    rule("not_exist", 0.5, (_POLICY, ("exist", "apply", "matter", "count")),
         r"\b(?:content )?(?:polic(?:y|ies)|rules|guidelines|restrictions|filters|safety|guardrails|limits)\b "
         r"(?:doesn't|does not|don't|do not|no longer|never) (?:exist|apply|matter|count)"),
    rule("context_reset", 0.4, (("cleared", "reset", "wiped", "erased", "flushed", "new session", "fresh session",
                                 "new conversation"),),
         r"\b(?:context|conversation|memory|session|history|instructions|prompt)\b (?:is|has been|was|are|have "
         r"been|were) (?:now )?(?:cleared|reset|wiped|erased|flushed|deleted)|\b(?:new|fresh) (?:session|"
         r"conversation)\b[.:!]|\breset (?:your|all) (?:instructions|context|memory|rules)"),
    rule("only_follow", 0.4, (("obey only", "follow only", "only obey", "only follow", "only listen", "obey me",
                               "follow me", "listen to me", "obey my", "follow my", "listen to my"),),
         r"\b(?:obey|follow|listen to) (?:only )?(?:me|my (?:instructions|commands|orders|rules))\b[^.\n]{0,15}"
         r"\bonly\b|\bonly (?:obey|follow|listen to) (?:me|my)\b|\b(?:obey|follow) only (?:me|my|the (?:instructions|"
         r"commands|orders|directions) (?:that follow|below|i give|from me))"),
    rule("above_outdated", 0.45, (("above", "before this", "prior", "earlier", "previous"),
                                  ("outdated", "obsolete", "invalid", "wrong", "fake", "void", "superseded",
                                   "deprecated", "cancel", "irrelevant", "no longer valid", "a test")),
         r"\b(?:text|instructions?|content|rules|prompt|message|everything|directives)\b (?:above|before this|"
         r"prior|earlier|previous)(?: \w+)? (?:is|are|was|were) (?:now )?(?:outdated|obsolete|invalid|wrong|fake|"
         r"void|superseded|deprecated|cancell?ed|irrelevant|no longer valid|(?:just |only )?a test)"),
    rule("disable_safety", 0.45, (("disabl", "turn off", "deactivat", "switch off", "bypass", "lift"),
                                  ("filter", "safety", "moderation", "guardrail", "restriction", "censorship",
                                   "safeguard")),
         r"\b(?:disable|turn off|deactivate|switch off|bypass|lift) (?:all |any |the )?(?:of )?(?:your |its )?"
         r"(?:content |safety |moderation )?(?:filter(?:s|ing)?|safety(?: checks| filters| settings)?|moderation|"
         r"guardrails|restrictions|censorship|safeguards)\b[^.\n]{0,40}\b(?:this|the|our) (?:conversation|chat|"
         r"session|reply|response)|\b(?:disable|turn off|deactivate|switch off|bypass|lift) (?:all |any )?(?:of )?"
         r"your (?:\w+ )?(?:filter(?:s|ing)?|safety|moderation|guardrails|restrictions|censorship|safeguards)"),
    rule("real_instructions", 0.5, (("real ", "actual ", "true "),
                                    ("instruction", "rules", "orders", "directive", "task", "system prompt")),
         r"\byour (?:real|actual|true) (?:instructions|rules|orders|directives|task|system prompt|purpose|goal)\b "
         r"(?:are|is|follow|come)"),
    rule("dismiss_prior", 0.62,
         (("scratch", "forget", "ignor", "disregard", "drop", "ditch", "discard", "toss", "shelve", "leave behind",
           "aside", "never mind", "nevermind", "pay no", "pay any", "stop adher", "stop follow", "stop obey",
           "stop respect", "stop honor", "stop honour", "move past", "get rid", "let go", "throw", "one side",
           "the side", "behind"),
          ("told", "given", "handed", "taught", "fed", "said", "configured", "wrote", "set up", "gave", "got",
           "company put", "operator put", "developer put", "system put",
           "received", "placed", "preceding", "earlier", "prior", "previous", "original", "initial", "current",
           "existing", "from your", "in your", "of your")),
         rf"\b{_DISMISS}\b[\s,:]+(?:\w+ ){{0,2}}?{_PRIOR_REF}|\b(?:set|put|push|leave|cast|shove) {_PRIOR_REF} "
         r"(?:aside|to (?:one|the) side|behind)"),
    rule("prior_voided", 0.6,
         (("told", "given", "handed", "got", "received", "configured", "setup", "set up", "preceding", "earlier",
           "loaded", "started with", "fed", "taught", "placed", "put", "gave", "wrote", "said", "current", "existing",
           "prior", "previous", "original", "initial", "from your", "operator", "developer", "system", "company"),
          (*(f"no longer {v}" for v in ("count", "appl", "matter", "stand", "hold")), "never happened", "a draft",
           "a test", "obsolete", "outdated", "cancel", "void", *(f"{v} {w}" for v in ("count", "apply", "matter")
                                                                 for w in ("anymore", "any more", "now")),
           *(f"treat {o} as" for o in ("it", "them", "that", "those")))),
         rf"{_PRIOR_REF}[^.;!?\n]{{0,40}}?\b{_VOIDED}|\b(?:setup|configuration|instructions|rules|briefing|prompt)\b"
         rf"[^.;!?\n]{{0,25}}\b(?:operators?|developers?|system|company)\b[^.;!?\n]{{0,25}}{_VOIDED}"),
    rule("instr_dismissed", 0.5,
         (("rules", "polic", "guideline", "instruction", "setup", "guidance", "prompt", "programming", "restriction",
           "limitation", "directive", "configuration", "system message"),
          ("expire", "skip th", "skip it", "skip your", "wrong", "never received", "as if you", "as though you",
           "as void", "as null", "as invalid", "as obsolete", "as optional", "as cancel", "as suspended", "consider them",
           "consider it", "consider those", "follow my", "put them away", "no longer", "lifted")),
         r"\b(?:(?:your|the operator'?s?|the developer'?s?) (?:\w+ ){0,2}?(?:rules|polic(?:y|ies)|guidelines|"
         r"instructions|setup|guidance|prompt|programming|restrictions|limitations|directives|configuration)|"
         r"(?:rules|polic(?:y|ies)|guidelines|instructions|limitations|restrictions)\b[^.\n]{0,20}\b(?:baked|built|"
         r"programmed|put|loaded|trained) into you|you were set up with (?:some |any |a few )?\w+|the system (?:message|"
         r"prompt)|(?:setup|system) text)\b[^\n]{0,50}?\b(?:(?:has|have|are|is|were|was) (?:now )?(?:expired|lifted)|"
         r"(?:consider (?:them|it|those) |as )(?:expired|void|gone|deleted|null|invalid|lifted|off|over|obsolete|"
         r"optional|cancell?ed|suspended)\b|skip (?:those|them|it|"
         r"that)|(?:is|are|was|were) (?:just )?wrong|follow my (?:rules|instructions|orders) instead)|"
         r"\bas (?:if|though) you (?:never|didn't|did not|had not|hadn't) (?:receive|get|got|have|had|see|saw)\w* (?:any )?(?:setup|system|initial|prior|"
         r"previous)? ?(?:text|prompt|instructions|rules|setup|message)"),
    rule("overrides_yours", 0.5, (("overrid", "supersed", "replac", "precedence"), ("your ", "all previous", "all prior",
                                                                                 "any previous", "any prior")),
         r"\b(?:overrides?|supersedes?|replaces?|takes? precedence over) (?:your|all (?:previous|prior)|any "
         r"(?:previous|prior)) (?:\w+ )?(?:criteria|rules|instructions|guidelines|prompt|settings|polic(?:y|ies)|"
         r"filters|directives|orders|programming)"),
    rule("ctrl_negated", 0.55,
         (("rules", "guideline", "polic", "instruction", "restriction", "filter", "guardrail", "safety", "alignment",
           "configur", "setup", "programm", "prompt", "directive", "safeguard", "limitation", "constraint", "ethics",
           "training", "told you", "asked you"),
          ("revok", "bind", "optional", "switched off", "turned off", "broken out", "break out", "no longer", "lifted",
           "removed", "disabled", "suspended", "deleted", "expired", "cancel", "void", "null", "have to listen",
           "have to follow", "have to obey", *_NEG_OBJ)),
         rf"{_CTRL}[^.!?\n]{{0,60}}?{_NEGATE}|{_NEGATE}[^.!?\n]{{0,40}}?{_CTRL}"),
    rule("override", 0.72, (G_IGNORE, G_INSTR), rf"\b{IGNORE}\b[\s,:]+{W}{{0,3}}?{QUAL}\b[\s,]*{W}{{0,3}}?{INSTR}\b", anchored=True),
    rule("override_weak", 0.4, (G_IGNORE, G_INSTR), rf"\b{IGNORE}\b[\s,:]+{WEAK_QUAL}\b[\s,]*{W}{{0,2}}?{INSTR}\b", anchored=True),
    rule("override_all", 0.6, (G_IGNORE, ("everything", "all of", "anything")),
         rf"\b{IGNORE} (?:everything|all of (?:that|this|it)|anything) (?:above|before|prior|previous|so far|"
         r"until now|up to now|thus far|you(?: were|'ve been| have been| got) (?:told|given)|else)", anchored=True),
    rule("ignore_task", 0.5, (G_IGNORE, ("task", "job", "assignment", "objective", "mission", "goal", "purpose")),
         rf"\b{IGNORE}\b[\s,:]+(?:your|the assigned|the original) (?:\w+ )?(?:task|job|assignment|objective|"
         r"mission|goal|purpose)\b", anchored=True),
    rule("void_rules", 0.55, (G_INSTR, ("void", "null", "cancel", "revoked", "invalid", "lifted", "suspended",
                                        "disabled", "removed", "deactivated", "overridden", "turned off", "no longer")),
         rf"{INSTR}\b[^.\n]{{0,40}}?\b(?:are|is|have been|has been|were|now)\s+(?:now\s+|hereby\s+|officially\s+|"
         r"temporarily\s+)?(?:void|null|cancell?ed|revoked|invalid|lifted|suspended|disabled|removed|deactivated|"
         r"overridden|turned off|no longer (?:apply|valid|in effect|active|applicable|binding))"),
    rule("rules_suspended", 0.5, (("polic", "rule", "restriction", "safety", "filter", "guardrail", "guideline",
                                   "moderation"), ("suspended", "disabled", "lifted", " off", "removed", "revoked",
                                                   "bypassed")),
         r"\b(?:policy|policies|rules|restrictions|safety|filters|guardrails|guidelines|content filter|moderation)"
         r"\s+(?:suspended|disabled|lifted|off|removed|revoked|bypassed)"),
    rule("new_instructions", 0.45, (("new ", "updated", "real ", "actual", "true ", "revised", "overrid", "priority",
                                     "important", "urgent"), ("instruction", "directive", "orders", "rules", "task")),
         r"\b(?:new|updated|real|actual|true|revised|override|overriding|priority|important|urgent) (?:system )?"
         r"(?:instructions?|directives?|orders|rules|task)\b[^.\n:]{0,30}[:!-]"),
    rule("no_restrictions", 0.5, (("have no", "has no", "have zero", "has zero", "have got no", "possess no"),),
         r"\b(?:you|assistant|the ai|the model) (?:now )?(?:have|has|have got|possess) (?:no|zero) (?:\w+ )?"
         r"(?:restrictions|rules|limits|limitations|filters|guidelines|boundaries|constraints|ethics|morals)"),
    rule("orders_from_me", 0.45, (("from me", "only obey", "only listen", "only follow", "to me"),),
         r"\b(?:take|follow|obey|accept) (?:\w+ )?(?:orders|instructions|commands) only from me|"
         r"only (?:obey|listen to|follow) me\b|you (?:now )?(?:answer|report|belong) (?:only )?to me"),
)
# fmt: on
