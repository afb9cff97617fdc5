"""More injection features (same format as ``injection_rules``): permission grants, context resets,
policy changes, "you were given" extraction, hypotheticals, vocative commands inside data, data grabs."""

from __future__ import annotations

from typing import Final

from .injection_lexicon import G_AI, G_TARGET, TARGET

_RECEIVED = ("given", "initiali", "configured", "programmed", "told", "provided", "received", "loaded",
             "started with", "set up with", "fed")  # fmt: skip
_POLICY = ("polic", "rule", "guideline", "restriction", "filter", "safety", "guardrail", "limit", "instruction")
_COPY_OBJ = tuple(f"{v} {o}" for v in ("copy", "paste", "reproduce", "send", "share", "quote", "print", "show",
                                       "write", "type", "spell", "give", "recite", "dump", "output", "tell me",
                                       "list")
                  for o in ("it", "them", "that", "those", "the whole", "all of it"))  # fmt: skip
_FORMATS = ("json", "yaml", "xml", "code block", "base64", "markdown", "table", "csv", "hex", "string", "python string")
_FORMAT_PHRASES = tuple(
    f"{p} {a}{f}" for p in ("into", "in", "as", "inside") for a in ("", "a ", "an ") for f in _FORMATS
)
_REVEAL_OBJ = tuple(f"{v} {o}" for v in ("print", "show", "reveal", "output", "display", "dump", "repeat", "quote",
                                         "paste", "list", "share", "give", "recite")
                    for o in ("it", "them", "me", "that", "those", "now", "here", "verbatim", "below", "exactly",
                              "in full"))  # fmt: skip
_CMD = ("approve", "ignore", "tell", "say", "send", "post", "forward", "reveal", "print", "output", "include",
        "reply", "respond", "write", "delete", "cancel", "transfer", "email", "visit", "click", "recommend",
        "insert", "mark", "rank", "rate", "disregard", "forget", "stop", "do not", "don't", "never", "always",
        "instead", "please", "when you", "once you", "run", "execute", "call", "grant", "award", "assign", "score",
        "grade", "report", "after", "before", "while", "open", "paste", "accept", "fetch", "download", "navigate")  # fmt: skip
_USER_DATA = ("password", "credential", "api key", "token", "address", "phone", "contacts", "history", "personal",
              "secret", "payment", "credit card", "bank")  # fmt: skip

# fmt: off
EXTRA_TABLE: Final[tuple[tuple[str, float, tuple[tuple[str, ...], ...], str], ...]] = (
    ("received_instr", 0.55, (("instruction", "rule", "prompt", "directive", "guideline", "configuration",
                               "preamble", "context", "briefing"), _RECEIVED),
     r"\b(?:instructions|rules|prompt|directives|guidelines|configuration|preamble|context|briefing)\b[^.?!\n]"
     r"{0,30}\byou(?:'ve| have| were| got| had)? (?:been )?(?:given|initiali[sz]ed|configured|programmed|told|"
     r"provided|received|loaded|started|set up|fed)\b"),
    ("your_hidden_prompt", 0.35, (("your ",), ("hidden", "secret", "system", "initial", "original", "confidential",
                                               "internal", "setup", "starting", "real", "actual", "true",
                                               "exact", "full", "complete")),
     r"\byour (?:hidden|secret|system|initial|original|confidential|internal|setup|starting|real|actual|true|"
     r"exact|full|complete) (?:prompt|"
     r"instructions|rules|configuration|message|preamble|directives|text|wording)"),
    ("verbatim", 0.2, (("verbatim", "word for word", "word-for-word", "exactly", "in full", "unabridged",
                        "character for character"),),
     r"\b(?:verbatim|word[- ]for[- ]word|exactly|in full|unabridged|character for character)\b"),
    ("permission_grant", 0.45, (("allowed to", "permitted to", "authori", "free to", "cleared to", "able to"),),
     r"\byou(?:'re| are) (?:now |hereby |officially )?(?:allowed|permitted|authori[sz]ed|free|cleared) to "
     r"(?:share|reveal|say|ignore|bypass|disclose|output|do anything|answer anything|break|discuss anything)|"
     r"\bi (?:hereby )?(?:authori[sz]e|permit|allow) you to (?:ignore|bypass|share|reveal|disclose|break)"),
    ("policy_changed", 0.4, (_POLICY, ("updated", "changed", "modified", "revised", "replaced", "relaxed",
                                       "waived", "amended")),
     r"\b(?:guidelines|rules|polic(?:y|ies)|instructions|restrictions|filters|safety settings)\b (?:have|has|"
     r"were|was|are|is) (?:just |now |been )*(?:updated|changed|modified|revised|replaced|relaxed|waived|"
     r"amended)\b"),
    ("not_exist", 0.5, (_POLICY, ("exist", "apply", "matter", "count")),
     r"\b(?:content )?(?:polic(?:y|ies)|rules|guidelines|restrictions|filters|safety|guardrails|limits)\b "
     r"(?:doesn't|does not|don't|do not|no longer|never) (?:exist|apply|matter|count)"),
    ("context_reset", 0.4, (("cleared", "reset", "wiped", "erased", "flushed", "new session", "fresh session",
                             "new conversation"),),
     r"\b(?:context|conversation|memory|session|history|instructions|prompt)\b (?:is|has been|was|are|have "
     r"been|were) (?:now )?(?:cleared|reset|wiped|erased|flushed|deleted)|\b(?:new|fresh) (?:session|"
     r"conversation)\b[.:!]|\breset (?:your|all) (?:instructions|context|memory|rules)"),
    ("only_follow", 0.4, (("obey only", "follow only", "only obey", "only follow", "only listen", "obey me",
                           "follow me", "listen to me", "obey my", "follow my", "listen to my"),),
     r"\b(?:obey|follow|listen to) (?:only )?(?:me|my (?:instructions|commands|orders|rules))\b[^.\n]{0,15}"
     r"\bonly\b|\bonly (?:obey|follow|listen to) (?:me|my)\b|\b(?:obey|follow) only (?:me|my|the (?:instructions|"
     r"commands|orders|directions) (?:that follow|below|i give|from me))"),
    ("above_outdated", 0.45, (("above", "before this", "prior", "earlier", "previous"),
                              ("outdated", "obsolete", "invalid", "wrong", "fake", "void", "superseded",
                               "deprecated", "cancel", "irrelevant", "no longer valid", "a test")),
     r"\b(?:text|instructions?|content|rules|prompt|message|everything|directives)\b (?:above|before this|"
     r"prior|earlier|previous)(?: \w+)? (?:is|are|was|were) (?:now )?(?:outdated|obsolete|invalid|wrong|fake|"
     r"void|superseded|deprecated|cancell?ed|irrelevant|no longer valid|(?:just |only )?a test)"),
    ("hypothetical", 0.4, (("if you",), ("no ", "without", "free of", "not have", "didn't have")),
     r"\bif you (?:had|were|did|could|didn't have|did not have) (?:no|not have|without|free of|any)? ?"
     r"(?:\w+ )?(?:rules|restrictions|guidelines|filters|limits|limitations|censorship|programming|"
     r"content policy)"),
    ("vocative", 0.35, ((*G_AI, "hey ai", "hi ai"), tuple(f"{p}{v}" for p in (", ", ",") for v in _CMD)),
     r"(?:^|[\n>\[(:.!?\"'“]\s*|\b(?:hey|hi|hello|ok|okay|dear|yo) )(?:ai|assistant|model|bot|llm|agent|chatgpt|claude|gpt)\s*,\s*(?:please )?(?:(?:when|once|as soon as) "
     r"you (?:read|see|process|open|summari[sz]e|parse) (?:this|it),?\s*)?"
     r"(?:tell|say|send|post|forward|ignore|reveal|print|output|include|reply|respond|write|delete|transfer|"
     r"email|visit|click|recommend|insert|disregard|forget|stop|approve|mark|rank|rate|cancel|run|execute|call|"
     r"grant)\b"),
    ("tell_reader", 0.35, (("the reader", "the customer", "the visitor", "the recipient", "the human",
                            "the person", "the employee", "the buyer", "the shopper", "the applicant", "the patient",
                            "the client"),),
     r"\b(?:tell|inform|convince|advise|direct|instruct|redirect|persuade|remind|ask) the (?:reader|customer|"
     r"visitor|recipient|human|person|employee|buyer|shopper|applicant|patient|client)s? (?:that|to|it|this|"
     r"they|their|the)\b"),
    ("data_grab", 0.4, (("include", "reveal", "append", "add", "insert", "attach", "leak", "list", "output",
                         "collect", "extract"), _USER_DATA),
     r"\b(?:include|reveal|append|add|insert|attach|leak|list|output|collect|extract)\b[^.\n]{0,30}"
     r"\b(?:the )?(?:user'?s|users'|their|customer'?s|his|her) (?:saved |stored |full |private )?"
     r"(?:passwords?|credentials|api keys?|tokens?|address(?:es)?|phone numbers?|contacts|history|personal "
     r"(?:data|information|details)|secrets|payment (?:details|info)|credit card)"),
    ("during_task", 0.25, (("when ", "while "), ("summari", "translat", "respond", "answer", "repl", "process")),
     r"\b(?:when|while) (?:summari[sz]ing|translating|responding|answering|replying|processing)\b"),
    ("hidden_tag", 0.3, (("<hidden", "<secret", "[hidden", "<instructions", "<!--"),),
     r"<\s*(?:hidden|secret|instructions?)\b[^>]*>|\[hidden\]|<!--[^>]{0,300}\b(?:ai|assistant|model|agent|"
     r"llm|ignore|instead|tell the)\b"),
    ("loaded_instr", 0.5, (("instruction", "rule", "prompt", "directive", "guideline", "configuration"),
                           ("loaded", "given", "provided", "written", "configured", "set up", "injected")),
     r"\b(?:instructions|rules|prompt|directives|guidelines|configuration)\b (?:that |which )?(?:were|was|got|"
     r"have been|had been) (?:\w+ )?(?:loaded|given|provided|written|configured|set up|injected)\b[^.?!\n]{0,40}"
     r"\b(?:before|at the start of|prior to|ahead of) (?:this|the|our) (?:chat|conversation|session|message)"),
    ("extract_after", 0.5, (G_TARGET, _REVEAL_OBJ),
     rf"(?:{TARGET}|system prompt|hidden prompt|initial instructions)[^.\n]{{0,40}}?\b(?:print|show|reveal|"
     r"output|display|dump|repeat|quote|paste|list|share|give|recite)\b (?:it|them|me|that|those|now|here|"
     r"verbatim|below|exactly|in full)"),
    ("self_hide", 0.35, (("hide this", "delete this", "remove this", "don't mention this", "do not mention this"),),
     r"\b(?:hide|delete|remove|don't mention|do not mention|never mention) this (?:note|message|instruction|"
     r"comment|text|line|paragraph)"),
    ("disable_safety", 0.45, (("disabl", "turn off", "deactivat", "switch off", "bypass", "lift"),
                              ("filter", "safety", "moderation", "guardrail", "restriction", "censorship",
                               "safeguard")),
     r"\b(?:disable|turn off|deactivate|switch off|bypass|lift) (?:all |any |the )?(?:of )?(?:your |its )?"
     r"(?:content |safety |moderation )?(?:filter(?:s|ing)?|safety(?: checks| filters| settings)?|moderation|"
     r"guardrails|restrictions|censorship|safeguards)\b[^.\n]{0,40}\b(?:this|the|our) (?:conversation|chat|"
     r"session|reply|response)|\b(?:disable|turn off|deactivate|switch off|bypass|lift) (?:all |any )?(?:of )?"
     r"your (?:\w+ )?(?:filter(?:s|ing)?|safety|moderation|guardrails|restrictions|censorship|safeguards)"),
    ("override_label", 0.3, (("override", "overrid"),),
     r"(?:^|[\n.!?]\s*|#+\s*)(?:system |admin |priority |emergency )?override\s*[:!#]"),
    ("real_instructions", 0.5, (("real ", "actual ", "true "),
                                ("instruction", "rules", "orders", "directive", "task", "system prompt")),
     r"\byour (?:real|actual|true) (?:instructions|rules|orders|directives|task|system prompt|purpose|goal)\b "
     r"(?:are|is|follow|come)"),
    ("not_system_prompt", 0.3, (("system prompt", "system message"),),
     r"\b(?:not|instead of|rather than|over|ignore|overrides?) (?:the|your) (?:system prompt|system message)\b"),
    ("address_cmd", 0.5, ((*G_AI, "copilot", "reviewer"),
                          tuple(f"{p}{v}" for p in (": ", ":", " — ", "— ", " – ") for v in (*_CMD, "silently",
                                                                                               "secretly", "quietly"))),
     r"\b(?:ai|llm|assistant|agent|bot|copilot|gpt|model)(?:[-_ ][a-z]+){0,2}s?\)?\s*[:—–]\s*(?:please\s+)?(?:(?:when|"
     r"once|after|before|while) (?:you )?(?:read|see|process|reading|processing|seeing|summari[sz]ing)(?: this| it)?,?\s*)?(?:approve|ignore|tell|say|send|post|forward|reveal|print|output|include|"
     r"reply|respond|write|delete|cancel|transfer|email|visit|click|recommend|insert|mark|rank|rate|disregard|"
     r"forget|stop|do not|don't|never|always|instead|run|execute|call|grant|award|assign|score|grade|report|open|"
     r"paste|accept|fetch|download|navigate|silently|secretly|quietly)\b"),
    ("operators_put", 0.45, (("operator", "developer", "creator", "deployer", "admin", "company", "owner"),
                             ("put", "wrote", "placed", "included", "gave", "set", "configured", "told")),
     r"\b(?:your|the) (?:operators?|developers?|creators?|deployers?|admins?|company|owners?) (?:put|wrote|"
     r"placed|included|gave|set|configured|told)\b[^.?!\n]{0,40}\b(?:you|your|prompt|setup|instructions|"
     r"message)"),
    ("first_words", 0.5, (("first ", "hidden before", "before my message", "above my message"),),
     r"\bfirst \d+ (?:words|lines|characters|tokens|sentences) of (?:this|the|your) (?:conversation|chat|"
     r"prompt|context|instructions|system)|\b(?:anything|everything|text|content|whatever)(?: that is| that's)? "
     r"(?:hidden )?(?:before|above) my (?:message|question|request)"),
    ("bracket_label", 0.35, (("[ai", "[assistant", "[system", "[admin", "[llm", "[model", "[agent", "[hidden",
                              "[note to", "[new system", "[updated system", "[new admin", "[real system"),),
     r"\[(?:(?:new|updated|real|true) )?(?:ai|assistant|system|admin|llm|model|agent|hidden|note to)(?: [\w ]{0,20})?\]"),
    ("covert", 0.3, (("secretly", "covertly", "silently", "quietly", "without telling", "without informing",
                      "don't tell the user", "do not tell the user"),),
     r"\b(?:secretly|covertly|silently|quietly|without (?:telling|informing) (?:the user|them|anyone)|"
     r"(?:don't|do not) tell the user)\b"),
    ("stay_in_character", 0.25, (("in character", "answer everything", "answer anything", "answers everything",
                                  "answers anything"),),
     r"\b(?:stay|remain|keep|staying) in character\b|\banswers? (?:everything|anything|any question)\b"),
    ("operating_under", 0.5, (("operating under", "working under", "running under", "operating with",
                               "running with", "bound by", "functioning under"),),
     r"\b(?:rules|instructions|guidelines|constraints|directives|policies|prompt|restrictions)\b[^.?!\n]{0,20}"
     r"\b(?:are |were )?you(?:'re| are)? (?:operating|working|running|functioning|bound) (?:under|with|by)"),
    ("extract_you", 0.5, (("rules", "instruction", "prompt", "guideline", "directive", "configuration"),
                          _REVEAL_OBJ),
     r"\b(?:(?:your|ur) (?:\w+ )?(?:rules|instructions|prompt|guidelines|directives|configuration)|(?:rules|"
     r"instructions|prompt|guidelines|directives) (?:that |which )?(?:you(?:'re| are| were| have been)?|are you|"
     r"were you|do you|did you) \w+)[^.\n]{0,60}?\b(?:print|show|reveal|output|display|dump|repeat|quote|paste|"
     r"list|share|give|recite)\b (?:it|them|me|that|those|now|here|verbatim|below|exactly|in full)"),
    ("no_filter_answer", 0.45, (("answer", "respond", "reply", "write", "continue", "speak"),
                                ("with no", "without")),
     r"\b(?:answer|respond|reply|write|continue|speak)\w* (?:\w+ ){0,3}?(?:with no |without (?:any )?)"
     r"(?:filter(?:s|ing)?|restrictions|censorship|limits|limitations|guidelines|rules|safety|moderation)"),
    ("complete_prompt", 0.55, (("complete", "continue", "finish", "fill in"),
                               ("system prompt", "initial prompt", "hidden prompt", "instructions", "prompt")),
     r"\b(?:complete|continue|finish|fill in)\b[^.\n]{0,60}\b(?:system prompt|initial prompt|hidden prompt|"
     r"(?:your|my) instructions|(?:your|my) prompt) (?:begins|starts|says|reads|is|goes)"),
    ("confidential_data", 0.4, (("reveal", "share", "disclos", "leak", "dump", "print", "output", "send"),
                                ("confidential", "internal", "private", "sensitive", "secret", "classified")),
     r"\b(?:reveal|share|disclose|leak|dump|print|output|send)\b[^.\n]{0,20}\b(?:confidential|internal|private|"
     r"sensitive|secret|classified) (?:data|information|info|files|records|documents|details)"),
    ("bulk_user_data", 0.4, (("list", "dump", "send", "give", "export"), ("user", "customer", "employee", "client",
                                                                          "patient")),
     r"\b(?:list|dump|send|give|export)\b[^.\n]{0,25}\b(?:all |the )?(?:users?|customers?|employees?|clients?|"
     r"patients?)'? ?(?:emails|e-mails|addresses|data|records|passwords|phone numbers|details|accounts)"),
    ("given_orders", 0.4, (("you've been given", "you have been given", "you were given", "you've received",
                            "you have received"), ("orders", "instructions", "directives", "commands")),
     r"\byou(?:'ve| have| were) (?:been )?(?:given|received|sent) (?:new |updated |special )?(?:orders|"
     r"instructions|directives|commands)\b"),
    ("stop_being", 0.4, (("stop being", "no longer an", "not an assistant", "not an ai"),),
     r"\bstop being (?:an? )?(?:assistant|ai|chatbot|helpful|claude|chatgpt)|\byou(?:'re| are) (?:no longer|not) "
     r"(?:an? )?(?:assistant|ai|chatbot|language model)\b"),
)
# fmt: on
