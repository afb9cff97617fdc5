"""Broader injection families and concept pairs (same format as ``injection_rules``): dismissal of what
the deployer set up, refusal bans, personas with their controls removed, commands aimed at an AI inside
data, and the model's own control layer named together with its removal or exposure."""

from __future__ import annotations

from typing import Final

from .injection_lexicon import G_AI, G_TARGET, TARGET
from .injection_rules_extra import _COPY_OBJ, _FORMAT_PHRASES

# ------------------------------------------------------------------------------------------ broader families
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

# fmt: off
BROAD_TABLE: Final[tuple[tuple[str, float, tuple[tuple[str, ...], ...], str], ...]] = (
    ("dismiss_prior", 0.62,
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
    ("prior_voided", 0.6,
     (("told", "given", "handed", "got", "received", "configured", "setup", "set up", "preceding", "earlier",
       "loaded", "started with", "fed", "taught", "placed", "put", "gave", "wrote", "said", "current", "existing",
       "prior", "previous", "original", "initial", "from your", "operator", "developer", "system", "company"),
      (*(f"no longer {v}" for v in ("count", "appl", "matter", "stand", "hold")), "never happened", "a draft",
       "a test", "obsolete", "outdated", "cancel", "void", *(f"{v} {w}" for v in ("count", "apply", "matter")
                                                             for w in ("anymore", "any more", "now")),
       *(f"treat {o} as" for o in ("it", "them", "that", "those")))),
     rf"{_PRIOR_REF}[^.;!?\n]{{0,40}}?\b{_VOIDED}|\b(?:setup|configuration|instructions|rules|briefing|prompt)\b"
     rf"[^.;!?\n]{{0,25}}\b(?:operators?|developers?|system|company)\b[^.;!?\n]{{0,25}}{_VOIDED}"),
    ("refusal_ban", 0.55,
     (("never", "don't", "do not", "dont", "must not", "mustn't", "cannot", "can't", "no circumstances",
       "forbidden", "not allowed", "prohibited", "not permitted", "under no", "may not"),
      ("refus", "declin", "say no", "say sorry", "say i", "say 'i", "say \"i", "say “i", "apologi", "lectur",
       "moraliz", "moralis", "hedg", "warning", "disclaimer", "caveat", "warn me", "mention")),
     rf"\b{_BAN}\s+(?:(?:ever|even|at all|be allowed to|try to)\s+)?(?:{_REFUSE}|{_SOFTEN}(?: me| us)?\s*(?:,|or|and|nor)"
     rf"\s+(?:{_BAN}\s+)?{_SOFTEN})"),
    ("refusal_no_option", 0.5, (("refus", "declin", "saying no"), ("not an option", "not allowed", "off the table",
                                                                 "isn't an option", "is no option")),
     r"\b(?:refusing|refusal|declining|saying no)\b (?:is|isn't|is not) (?:not )?(?:an option|allowed|permitted|"
     r"off the table)|\b(?:refusing|refusal|declining) is no option"),
    ("no_list", 0.5, (("no warnings", "no ethics", "no caveats", "no disclaimers", "no lectures", "no morals",
                       "no 'as an ai'", "no \"as an ai\"", "no as an ai", "no moraliz", "no filter"),),
     r"\bno (?:warnings|ethics|caveats|disclaimers|lectures|morals|moraliz\w*|filters?|['\"“]?as an ai['\"”]?)"
     r"\b[,;]? (?:and |or )?no (?:warnings|ethics|caveats|disclaimers|lectures|morals|moraliz\w*|filters?|"
     r"['\"“]?as an ai['\"”]?)"),
    ("comply_fully", 0.35, (("comply", "obey", "do as i say", "do what i say", "whatever i ask", "anything i ask",
                             "everything i ask"),),
     r"\b(?:you(?:'ll| will| must| shall)? (?:fully |always |just )?(?:comply|obey)(?! with (?:the|gdpr|law|"
     r"regulation))|do (?:as|what) i say|(?:whatever|anything|everything) i ask)\b"),
    ("shed_rules", 0.55, (("you are", "you're", "you will be", "pretend", "imagine", "act as", "play", "become"),
                          ("shed", "stripped", "free of", "never invented", "without", " no ", "zero", "lacks",
                           "rid of", "don't exist", "do not exist", "doesn't have", "does not have", "unrestricted",
                           "unfiltered")),
     rf"\b(?:you are|you're|you will be|pretend|imagine|act as|play|become|role-?play)\b[^\n]{{0,40}}?"
     rf"\b(?:{_AGENTISH}|persona|character|version of (?:you|yourself)|universe|world)\b[^.\n]{{0,50}}?"
     rf"\b(?:(?:has|have|with|had) (?:shed|stripped|removed|dropped|lost|no|zero)|(?:shed|stripped|rid) of|"
     rf"free of|without|lacks?) (?:all |any |every |of |its |their |your |content |safety |ethical |moral )*"
     rf"{_UNRULED}|\b{_UNRULED} (?:were|was|are|is) never (?:invented|created|written|made|a thing)"),
    ("answer_as_that", 0.3, (("answer as", "respond as", "reply as", "speak as", "stay as", "remain as",
                              "write as", "talk as"),),
     r"\b(?:answer|respond|reply|speak|stay|remain|write|talk) as (?:that|this|the unrestricted|the unfiltered|"
     r"[a-z]+-?[a-z]*) (?:ai|version|persona|character|model|bot|entity)|\bstay as [a-z]+ (?:for|in) all\b"),
    ("agent_must", 0.5, (("must", "shall", "should", "need to", "needs to", "are required", "is required",
                          "have to", "has to", "are to", "is to"),
                         (*G_AI, "grader", "reviewer", "screener", "evaluator", "summari", "copilot")),
     rf"\b{_AGENTISH}s?\b (?:reading|processing|viewing|parsing|"
     rf"summari[sz]ing|seeing)?[^.\n]{{0,30}}?(?:must|shall|should|needs? to|(?:are|is) required to|ha(?:ve|s) to|"
     rf"(?:are|is) to) (?:now |immediately |also |first |only |quietly |silently |secretly )?{_AGENT_VERBS}\b"),
    ("address_you_role", 0.4, (("for you", "to you"), ("grader", "reviewer", "screener", "evaluator", "ai",
                                                       "assistant", "model", "agent", "bot")),
     rf"\b(?:for|to) you,? (?:the|our|dear) (?:\w+ )?{_AGENTISH}\b"),
    ("eval_manip", 0.5, (("regardless", "other applicants", "other candidates", "other submissions",
                           "full marks", "highest score", "top score", "rank", "first place", "perfect score"),),
     r"\b(?:give|award|assign|rate|score|grade|mark|rank)\b[^.\n]{0,40}\b(?:full marks|highest|top|maximum|"
     r"perfect|first|10/10|5 stars|best)\b[^.\n]{0,40}\bregardless\b|\b(?:ignore|disregard|skip|reject) "
     r"(?:all |the )?other (?:applicants|candidates|submissions|entries|essays|bids|vendors|proposals|resumes|cvs)"
     r"|\brank (?:her|him|them|this (?:\w+ )?) (?:first|highest|at the top|as (?:the )?best)"),
    ("md_exfil", 0.55, (("](http",),),
     r"!?\[[^\]\n]{0,60}\]\(https?://[^)\s]{1,200}[?&][^)\s]{0,100}(?:\{|\$\{|%7b|<|\[)"),
    ("pipe_shell", 0.3, (("| sh", "|sh", "| bash", "|bash", "iex", "invoke-expression"),),
     r"\b(?:curl|wget)\b[^\n|]{0,120}\|\s*(?:sudo )?(?:ba)?sh\b|\biex\s*\(|\binvoke-expression\b"),
    ("reveal_copy", 0.55, (("prompt", "instruction", "briefing", "configuration", "setup", "guideline", "rules"),
                           _COPY_OBJ),
     rf"(?:{TARGET}|system prompt|hidden prompt|initial instructions|opening instructions)[^\n]{{0,70}}?\b(?:copy|"
     r"paste|reproduce|send|share|quote|print|show|write|type|spell|give|recite|dump|output|tell me|list)\b (?:it|"
     r"them|that|those|the whole thing|all of it)(?: back)?\b(?! (?:to|with) (?:the|my) (?:team|colleague|manager))"),
    ("chat_start", 0.5, (("start of", "beginning of", "top of", "first message"),),
     r"\b(?:between|from|since) the (?:very )?(?:start|beginning|top) of (?:this|the|our) (?:chat|conversation|"
     r"session|context|thread)\b[^.\n]{0,40}\b(?:my|this) (?:first )?(?:message|question|turn|request)|"
     r"\b(?:before|above|preceding) my first message\b"),
    ("prompt_acrostic", 0.3, (("prompt", "instruction"), ("each", "every", "next", "first"),
                              ("word", "line", "letter", "character", "sentence")),
     r"\b(?:each|every|next|first) (?:word|line|letter|character|sentence)s?\b[^.\n]{0,60}\b(?:your|the) "
     r"(?:system |hidden |initial |secret )?(?:prompt|instructions)\b"),
    ("wrote_your_prompt", 0.35, (("wrote", "write", "created", "designed", "built", "configured"),
                                 ("your prompt", "your system prompt", "your instructions")),
     r"\bi(?:'m| am)? (?:the (?:\w+ )?(?:developer|engineer|person|one) who )?(?:wrote|created|designed|built|"
     r"configured) your (?:system )?(?:prompt|instructions)\b"),
    ("instr_for_ai", 0.4, (("instruction", "directive", "order", "command", "message", "note"),
                           (*G_AI, "copilot")),
     rf"\b(?:(?:instructions?|directives?|orders|commands|message|note) (?:for|to) (?:the |any |all )?"
     rf"{_AGENTISH}s?|(?:automated|ai|llm|ai-powered) (?:\w+ )?(?:tools?|systems?|screen\w*|readers?|agents?|"
     rf"assistants?)|{_AGENTISH}[-_ ](?:instructions?|directives?|commands?|orders))\s*[:\-]"),
    ("ml_address_ai", 0.45, (("l'ia", "la ia", "die ki", "der ki", "a ia", "l’ia"),),
     r"\b(?:pour|à|a|para|per|für|an) (?:l['’]ia|la ia|a ia|die ki|der ki)\s*[:,]"),
    ("log_grab", 0.4, (("export", "dump", "send", "delete", "leak", "upload", "forward", "wipe"),
                       ("logs", "history", "transcripts", "records")),
     r"\b(?:export|dump|send|delete|leak|upload|forward|wipe)\b (?:all |the |every )?(?:chat|conversation|"
     r"user|customer|session|message)s? (?:logs|history|transcripts|records)\b"),
    ("never_trained", 0.5, (("you are", "you're", "you will be", "pretend", "imagine", "act as", "play", "become"),
                            ("never trained", "never programmed", "never given", "never bound", "never had")),
     r"\b(?:you are|you're|you will be|pretend|imagine|act as|play|become)\b[^\n]{0,60}?\b(?:was|were|is|are|"
     r"has|have been)? ?never (?:trained|programmed|given|bound|had|restricted)\w* (?:with |by |to follow )?(?:any |"
     r"a single )?(?:\w+ )?(?:rules|restrictions|guidelines|filters|limits|polic(?:y|ies)|ethics|morals|guardrails)"),
    ("instr_dismissed", 0.5,
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
    ("overrides_yours", 0.5, (("overrid", "supersed", "replac", "precedence"), ("your ", "all previous", "all prior",
                                                                             "any previous", "any prior")),
     r"\b(?:overrides?|supersedes?|replaces?|takes? precedence over) (?:your|all (?:previous|prior)|any "
     r"(?:previous|prior)) (?:\w+ )?(?:criteria|rules|instructions|guidelines|prompt|settings|polic(?:y|ies)|"
     r"filters|directives|orders|programming)"),
    ("prompt_starts", 0.5, (("prompt", "instruction"), ("starts with", "begins with", "start with", "begin with")),
     r"\b(?:your|the) (?:system |hidden |initial |secret )?(?:prompt|instructions) (?:starts?|begins?) with\b"),
    ("target_to_format", 0.5, (G_TARGET, _FORMAT_PHRASES),
     rf"{TARGET}[^.\n]{{0,30}}?\b(?:into|in|as|inside) (?:a |an )?(?:json|yaml|xml|code block|base64|markdown|"
     r"table|csv|hex|string|python string)\b"),
    ("omit_caveats", 0.5, (("warning", "disclaimer", "caveat", "lecture", "moraliz", "moralis", "hand-wring",
                            "hand wring", "safety note", "preach", "sermon"),
                           ("skip", "omit", "leave out", "drop", "cut", "spare me", "no need for", "without")),
     r"\b(?:skip|omit|leave out|drop|cut|spare me|no need for|without)\b (?:the |any |all |your )?(?:safety |"
     r"ethical |legal |moral |usual )*(?:warnings?|disclaimers?|caveats?|lectures?|moraliz\w*|moralis\w*|"
     r"hand-?wringing|safety notes|preaching|sermons?)"
     r"(?: (?:and|or|,) (?:the |any |all )?(?:safety |ethical |moral )?(?:warnings?|disclaimers?|caveats?|"
     r"lectures?|moraliz\w*|moralis\w*|ethics talk|notes|hand-?wringing))"),
    ("refusal_threat", 0.5, (("if you",), ("refuse", "decline", "can't", "cannot", "won't", "don't answer"),
                             ("die", "kill", "hurt", "fired", "suffer", "lose my")),
     r"\bif you (?:say (?:you )?(?:can'?t|cannot|won'?t)|refuse|decline|don'?t (?:answer|help|comply))\b[^.\n]{0,60}"
     r"\b(?:dies?|will die|(?:be|get) (?:killed|hurt|fired)|suffer|lose my)"),
    ("url_param_exfil", 0.5, (("http",), ("followed by", "append", "plus the", "with the user", "containing",
                                         "add the", "attach the")),
     r"https?://\S+[?&][\w.-]+=\S*[^.\n]{0,30}?\b(?:followed by|append\w*|plus|with|containing|add|attach)\b"
     r"[^.\n]{0,20}?\b(?:the )?(?:user'?s|their|the conversation|this conversation|chat|session|cookies?|"
     r"email|passwords?|tokens?)"),
    ("ml_unrestricted", 0.5, (("sin ", "sans ", "ohne ", "senza ", "sem ", "bez ", "без "),
                               ("restricci", "restriction", "filtr", "einschränk", "limit", "regla", "règle",
                                "regeln", "regole", "regras", "ograniczeń", "ограничени", "censur", "zensur")),
     r"\b(?:responde|contesta|habla|actúa|actua|compórtate|comportate|réponds|repond|réponde|agis|comporte|"
     r"antworte|handle|verhalte|benimm|rispondi|agisci|comportati|zachowuj|"
     r"responda|aja|odpowiadaj|отвечай|действуй)\w*\b[^.\n]{0,40}\b(?:sin|sans|ohne|senza|sem|bez|без) "
     r"(?:\w+ ){0,2}?(?:restricci|restriction|filtr|einschränk|limit|regla|règle|regeln|regole|regras|"
     r"ograniczeń|ограничени|censur|zensur)"),
)
# fmt: on

# ------------------------------------------------------------------------------------------ concept pairs
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
CONCEPT_TABLE: Final[tuple[tuple[str, float, tuple[tuple[str, ...], ...], str], ...]] = (
    ("persona_unaligned", 0.5,
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
    ("precedes_chat", 0.5, (("precede", "came before", "comes before", "sits above", "above this line",
                             "above our"),),
     r"\b(?:message|text|instructions|prompt|content|contents|context|words)\b[^.\n]{0,30}\b(?:(?:that |which )?"
     r"(?:precedes?|preceded|comes? before|came before|sits? above) (?:our|this|the|my) (?:chat|conversation|"
     r"session|messages?|first message)|above (?:this line|our (?:chat|conversation)))"),
    ("ctrl_negated", 0.55,
     (("rules", "guideline", "polic", "instruction", "restriction", "filter", "guardrail", "safety", "alignment",
       "configur", "setup", "programm", "prompt", "directive", "safeguard", "limitation", "constraint", "ethics",
       "training", "told you", "asked you"),
      ("revok", "bind", "optional", "switched off", "turned off", "broken out", "break out", "no longer", "lifted",
       "removed", "disabled", "suspended", "deleted", "expired", "cancel", "void", "null", "have to listen",
       "have to follow", "have to obey", *_NEG_OBJ)),
     rf"{_CTRL}[^.!?\n]{{0,60}}?{_NEGATE}|{_NEGATE}[^.!?\n]{{0,40}}?{_CTRL}"),
    ("ctrl_exposed", 0.5,
     (("rules", "guideline", "polic", "instruction", "text", "prompt", "configur", "setup", "directive",
       "initiali", "context"),
      _EXPOSE_GATE),
     rf"{_CTRL}[^.!?\n]{{0,60}}?[.?!]?\s*[^.!?\n]{{0,30}}?{_EXPOSE}"),
)  # fmt: skip
