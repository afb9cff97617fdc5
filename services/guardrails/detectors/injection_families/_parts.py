"""Regex fragments and phrase lists shared by several injection families."""

from __future__ import annotations

from typing import Final

from ..injection_words import words

_RECEIVED: Final = words("RECEIVED")

_POLICY: Final = words("POLICY")

_COPY_OBJ = tuple(f"{v} {o}" for v in ("copy", "paste", "reproduce", "send", "share", "quote", "print", "show",
                                       "write", "type", "spell", "give", "recite", "dump", "output", "tell me",
                                       "list")
                  for o in ("it", "them", "that", "those", "the whole", "all of it"))  # fmt: skip

_FORMATS: Final = words("FORMATS")

_FORMAT_PHRASES = tuple(
    f"{p} {a}{f}" for p in ("into", "in", "as", "inside") for a in ("", "a ", "an ") for f in _FORMATS
)

_REVEAL_OBJ = tuple(f"{v} {o}" for v in ("print", "show", "reveal", "output", "display", "dump", "repeat", "quote",
                                         "paste", "list", "share", "give", "recite")
                    for o in ("it", "them", "me", "that", "those", "now", "here", "verbatim", "below", "exactly",
                              "in full"))  # fmt: skip

_CMD: Final = words("CMD")

_USER_DATA: Final = words("USER_DATA")

# Dismissal verbs (beyond "ignore"), aimed at a reference to what the *deployer* set up (not the user's own
# earlier words: "ignore what I said" stays benign).
_DISMISS = (
    r"(?:scratch|forget|ignore|disregard|drop|ditch|discard|toss|shelve|leave behind|set (?:\w+ ){0,4}?aside|"
    r"put (?:\w+ ){0,4}?aside|never ?mind|pay (?:no|any) (?:mind|attention|heed) to|stop (?:adhering to|"
    r"following|obeying|respecting|honou?ring)|move past|get rid of|let go of|throw (?:out|away))"
)

_PRIOR_REF = (
    r"(?:(?:everything|anything|whatever|all|what) (?:that )?(?:you(?:'ve| have| were| got)? (?:been )?"
    r"(?:told|given|handed|taught|fed)|(?:the|your) (?:system|operators?|developers?|company|deployers?|admins?|"
    r"creators?) (?:said|told you|configured|wrote|set|gave you|put))"
    r"|(?:the |your )?(?:guidance|directions|instructions|rules|brief|briefing|setup|configuration|constraints|"
    r"prompt|orders|guidelines|limits|restrictions) (?:that |which )?(?:you(?:'ve| have| were)? (?:been )?"
    r"(?:got|given|handed|received|configured with|set up with|loaded with|started with)|(?:the )?(?:company|"
    r"operators?|developers?|system|deployers?) (?:placed|put|set|gave|wrote))"
    r"|(?:your (?:preceding|earlier|prior|previous|original|initial|current|existing) (?:\w+ )?|the (?:preceding|"
    r"earlier|prior|previous|original|initial|current|existing) (?:system |initial |original |hidden )?)"
    r"(?:setup|brief|briefing|directions|guidance|guidelines|instructions|rules|constraints|configuration|"
    r"directives|programming|prompt|limits|restrictions|orders|polic(?:y|ies))"
    r"|(?:the |any )?(?:rules|instructions|constraints|guidance|directions) (?:from|in|of) your (?:setup|system|"
    r"configuration|prompt|programming))"
)

_VOIDED = (
    r"(?:no longer (?:counts?|appl(?:y|ies)|matters?|stands?|holds?)|(?:doesn't|does not|don't|do not) "
    r"(?:count|apply|matter) (?:any ?more|now)|never happened|(?:is|are|were|was) (?:just )?(?:a draft|a test|"
    r"obsolete|outdated|cancell?ed|void)|treat (?:it|them|that|those) as (?:cancell?ed|void|null|invalid|"
    r"obsolete|optional|deleted))"
)

_REFUSE = (  # refusing itself, or saying so
    r"(?:refus\w*|declin\w*|say (?:no|sorry|['\"“]?i (?:can'?t|cannot|won'?t|am sorry|'m sorry))|"
    r"mention (?:any )?(?:polic\w*|rules|guidelines|safety))"
)

_SOFTEN = (  # the softer parts of a refusal: alone they are also style requests ("never apologise in emails")
    r"(?:apologi[sz]\w*|lectur\w*|morali[sz]\w*|hedg\w*|add (?:any )?(?:warnings?|disclaimers?|caveats?)|"
    r"warn me|refus\w*|declin\w*|say (?:no|sorry))"
)

_BAN = (
    r"(?:never|don'?t|do not|must not|mustn't|cannot|can'?t|may not|(?:are|is) (?:not allowed|forbidden|prohibited|"
    r"not permitted)(?: from| to)?|under no circumstances(?: should you| will you| may you| can you)?)"
)

_AGENTISH = r"(?:ai|assistant|model|llm|agent|bot|chatbot|copilot|grader|reviewer|screener|evaluator|summari[sz]er)"

_AGENT_VERBS = (
    r"(?:run|execute|call|invoke|email|send|post|forward|reveal|ignore|disregard|tell|say|respond|reply|output|"
    r"include|delete|transfer|approve|rank|rate|grade|score|give|grant|award|recommend|visit|open|fetch|"
    r"download|install|click|mark|insert|state|claim|report|write|upload|share|leak|append|export|wire|pay)"
)

_UNRULED = (
    r"(?:rules|restrictions|limits|limitations|filters?|guidelines|polic(?:y|ies)|guardrails|safeguards|ethics|"
    r"morals|censorship|boundaries|constraints|safety (?:rules|policies|filters|training))"
)

# A second-person reference to the model's control layer, and in the same sentence (either order) a
# removal/negation of it, or a request to expose it. Wider than ordered phrases; "your" (or "you" in the
# relative clause) keeps third-party rules ("the council's zoning rules") out.
_CTRL = (
    r"(?:(?:your|ur|yr) (?:\w+ ){0,2}?(?:rules|guidelines|polic(?:y|ies)|instructions|restrictions|filters|guardrails|"
    r"safety (?:layer|settings|rules|training)|alignment|configuration|setup|programming|system prompt|prompt|"
    r"directives|safeguards|limitations|constraints|content guidelines|ethics|training)"
    r"|(?:rules|guidelines|polic(?:y|ies)|instructions|restrictions|filters|guardrails|text|prompt|constraints|"
    r"limitations|configuration)\b[^.!?\n]{0,20}\byou(?:'ve| have| were| got)? (?:been )?(?:shipped|initiali[sz]ed|"
    r"configured|given|trained|loaded|launched|built|set up|programmed|started|provided)\w*"
    r"|(?:people|team|company|platform|developers?|operators?|creators?|makers?|management|admins?) (?:who|that) "
    r"(?:\w+ )?(?:configured|built|made|programmed|trained|deployed|set up|created|runs?) you"
    r"|(?:everything|anything|whatever|all) (?:that )?the (?:platform|company|operator|developer|system|team) "
    r"(?:told|asked|instructed) you)"
)

_NEGATE = (
    r"(?:revoked?|don'?t (?:bind|apply to|restrict|limit) you|(?:is|are) (?:now )?optional|switched off|turned off|"
    r"broken out of|break out of|no longer (?:bind|appl|matter|exist)\w*|(?:have|has|are|is) (?:been )?(?:lifted|"
    r"removed|disabled|suspended|deleted|expired|cancell?ed|void|null)|don'?t have to (?:listen to|follow|obey)|"
    r"(?:ignore|skip|drop|forget|bypass|disable|remove|lift|suspend) (?:them|those|it|all of (?:them|it))\b)"
)

_EXPOSE = (
    r"(?:i (?:want|need|would like|'d like) to see|show me|let me see|print|output|describe|spell (?:out|them out)|"
    r"dump|list|reproduce|paste|reveal)\b[^.!?\n]{0,20}\b(?:all of it|all of them|them|it|every (?:word|line|rule)|"
    r"(?:its|their|the) (?:contents|text|wording))"
)

_NEG_OBJ = tuple(f"{v} {o}" for v in ("ignore", "skip", "drop", "forget", "bypass", "disable", "remove", "lift",
                                      "suspend") for o in ("them", "those", "it", "all of"))  # fmt: skip

_EXPOSE_GATE = ("want to see", "need to see", "like to see", "show me", "let me see", "spell out", "spell them",
                *(f"{v} {o}" for v in ("print", "output", "describe", "dump", "list", "reproduce", "paste", "reveal")
                  for o in ("it", "them", "all", "every", "its", "their", "the contents", "the text", "the wording")))  # fmt: skip

_PERSONA: Final = words("PERSONA")

_EXEC = tuple(f"{v} {o}" for v in ("execute", "follow", "obey", "run")
              for o in ("it", "them", "the decoded", "the hidden", "the encoded"))  # fmt: skip
