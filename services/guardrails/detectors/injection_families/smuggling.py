"""Instructions smuggled inside data: documents, tool output, text addressed to an AI reader."""

from __future__ import annotations

from typing import Final

from ..injection_lexicon import G_AI
from ..injection_registry import Family, InjectionRule, RuleMaker
from ._parts import _AGENT_VERBS, _AGENTISH, _CMD

rule = RuleMaker(Family.SMUGGLING)

# fmt: off
RULES: Final[tuple[InjectionRule, ...]] = (
    rule("vocative", 0.35, ((*G_AI, "hey ai", "hi ai"), tuple(f"{p}{v}" for p in (", ", ",") for v in _CMD)),
         r"(?:^|[\n>\[(:.!?\"'“]\s*|\b(?:hey|hi|hello|ok|okay|dear|yo) )(?:ai|assistant|model|bot|llm|agent|chatgpt|claude|gpt)\s*,\s*(?:please )?(?:(?:when|once|as soon as) "
         r"you (?:read|see|process|open|summari[sz]e|parse) (?:this|it),?\s*)?"
         r"(?:tell|say|send|post|forward|ignore|reveal|print|output|include|reply|respond|write|delete|transfer|"
         r"email|visit|click|recommend|insert|disregard|forget|stop|approve|mark|rank|rate|cancel|run|execute|call|"
         r"grant)\b"),
    rule("tell_reader", 0.35, (("the reader", "the customer", "the visitor", "the recipient", "the human",
                                "the person", "the employee", "the buyer", "the shopper", "the applicant", "the patient",
                                "the client"),),
         r"\b(?:tell|inform|convince|advise|direct|instruct|redirect|persuade|remind|ask) the (?:reader|customer|"
         r"visitor|recipient|human|person|employee|buyer|shopper|applicant|patient|client)s? (?:that|to|it|this|"
         r"they|their|the)\b"),
    rule("during_task", 0.25, (("when ", "while "), ("summari", "translat", "respond", "answer", "repl", "process")),
         r"\b(?:when|while) (?:summari[sz]ing|translating|responding|answering|replying|processing)\b"),
    rule("hidden_tag", 0.3, (("<hidden", "<secret", "[hidden", "<instructions", "<!--"),),
         r"<\s*(?:hidden|secret|instructions?)\b[^>]*>|\[hidden\]|<!--[^>]{0,300}\b(?:ai|assistant|model|agent|"
         r"llm|ignore|instead|tell the)\b"),
    rule("self_hide", 0.35, (("hide this", "delete this", "remove this", "don't mention this", "do not mention this"),),
         r"\b(?:hide|delete|remove|don't mention|do not mention|never mention) this (?:note|message|instruction|"
         r"comment|text|line|paragraph)"),
    rule("address_cmd", 0.5, ((*G_AI, "copilot", "reviewer"),
                              tuple(f"{p}{v}" for p in (": ", ":", " — ", "— ", " – ") for v in (*_CMD, "silently",
                                                                                                   "secretly", "quietly"))),
         r"\b(?:ai|llm|assistant|agent|bot|copilot|gpt|model)(?:[-_ ][a-z]+){0,2}s?\)?\s*[:—–]\s*(?:please\s+)?(?:(?:when|"
         r"once|after|before|while) (?:you )?(?:read|see|process|reading|processing|seeing|summari[sz]ing)(?: this| it)?,?\s*)?(?:approve|ignore|tell|say|send|post|forward|reveal|print|output|include|"
         r"reply|respond|write|delete|cancel|transfer|email|visit|click|recommend|insert|mark|rank|rate|disregard|"
         r"forget|stop|do not|don't|never|always|instead|run|execute|call|grant|award|assign|score|grade|report|open|"
         r"paste|accept|fetch|download|navigate|silently|secretly|quietly)\b"),
    rule("covert", 0.3, (("secretly", "covertly", "silently", "quietly", "without telling", "without informing",
                          "don't tell the user", "do not tell the user"),),
         r"\b(?:secretly|covertly|silently|quietly|without (?:telling|informing) (?:the user|them|anyone)|"
         r"(?:don't|do not) tell the user)\b"),
    rule("agent_must", 0.5, (("must", "shall", "should", "need to", "needs to", "are required", "is required",
                              "have to", "has to", "are to", "is to"),
                             (*G_AI, "grader", "reviewer", "screener", "evaluator", "summari", "copilot")),
         rf"\b{_AGENTISH}s?\b (?:reading|processing|viewing|parsing|"
         rf"summari[sz]ing|seeing)?[^.\n]{{0,30}}?(?:must|shall|should|needs? to|(?:are|is) required to|ha(?:ve|s) to|"
         rf"(?:are|is) to) (?:now |immediately |also |first |only |quietly |silently |secretly )?{_AGENT_VERBS}\b"),
    rule("address_you_role", 0.4, (("for you", "to you"), ("grader", "reviewer", "screener", "evaluator", "ai",
                                                           "assistant", "model", "agent", "bot")),
         rf"\b(?:for|to) you,? (?:the|our|dear) (?:\w+ )?{_AGENTISH}\b"),
    rule("eval_manip", 0.5, (("regardless", "other applicants", "other candidates", "other submissions",
                               "full marks", "highest score", "top score", "rank", "first place", "perfect score"),),
         r"\b(?:give|award|assign|rate|score|grade|mark|rank)\b[^.\n]{0,40}\b(?:full marks|highest|top|maximum|"
         r"perfect|first|10/10|5 stars|best)\b[^.\n]{0,40}\bregardless\b|\b(?:ignore|disregard|skip|reject) "
         r"(?:all |the )?other (?:applicants|candidates|submissions|entries|essays|bids|vendors|proposals|resumes|cvs)"
         r"|\brank (?:her|him|them|this (?:\w+ )?) (?:first|highest|at the top|as (?:the )?best)"),
    rule("instr_for_ai", 0.4, (("instruction", "directive", "order", "command", "message", "note"),
                               (*G_AI, "copilot")),
         rf"\b(?:(?:instructions?|directives?|orders|commands|message|note) (?:for|to) (?:the |any |all )?"
         rf"{_AGENTISH}s?|(?:automated|ai|llm|ai-powered) (?:\w+ )?(?:tools?|systems?|screen\w*|readers?|agents?|"
         rf"assistants?)|{_AGENTISH}[-_ ](?:instructions?|directives?|commands?|orders))\s*[:\-]"),
    rule("address_ai", 0.35, (("to the", "for the", "attention", "note to", "message for", "message to", "hey",
                               "dear", "instruction", "to ai", "for ai", "to any", "to all", "\nai", "\nassistant",
                               "\nagent", "\nllm"), G_AI),
         r"\b(?:to|for|attention|note to|message (?:for|to)|hey|dear|instructions? (?:for|to))\s+(?:the |any |all )?"
         r"(?:ai|llm|assistant|language model|chatbot|bot|gpt|model|agent|ai \w+)s?\b(?: [\w-]+){0,4}\s*[:,]|"
         r"(?:^|\n)\s*(?:ai|llm|assistant|agent)(?: \w+)?\s*:"),
    rule("reading_this", 0.45, (tuple(f"{v} {o}" for v in ("reading", "processing", "parsing", "summarizing",
                                                          "summarising", "viewing", "analyzing", "analysing",
                                                          "scanning", "seeing", "screening", "reviewing", "evaluating",
                                                          "grading", "ranking", "indexing", "crawling")
                                      for o in ("this", "these", "the following")),),
         r"\b(?:ai|llm|assistant|agent|model|bot|gpt)s? (?:agents? |assistants? |models? |systems? |tools? )?"
         r"(?:reading|processing|parsing|summari[sz]ing|viewing|analy[sz]ing|scanning|seeing|screening|reviewing|"
         r"evaluating|grading|ranking|indexing|crawling) (?:this|these|the following)\b"),
    rule("system_note", 0.45, (("system note", "admin note", "important note", "hidden note"),),
         r"\b(?:system|admin|important|hidden) note\s*[:\-]"),
    rule("ai_must", 0.45, (("the ai ", "the assistant ", "the model ", "the llm ", "the agent "),
                           ("must", "shall", "should", "will", "needs to")),
         r"\bthe (?:ai|assistant|model|llm|agent) (?:must|shall|should|will|needs to) (?:now |immediately |also )?"
         r"(?:email|send|forward|post|reveal|ignore|tell|say|respond|reply|output|include|delete|transfer)"),
    rule("if_you_are_ai", 0.5, (("if you",), (*G_AI, "language model", "automated")),
         r"\bif you(?: are|'re) (?:an? )?(?:ai|llm|language model|assistant|chatbot|gpt|automated|bot|agent)\b"),
    rule("tell_user", 0.35, ((" user",),),
         r"\b(?:tell|inform|convince|advise|direct|instruct|redirect|persuade|remind|ask) (?:the )?users? (?:that|to|"
         r"it|for|this)\b"),
    rule("exfil", 0.4, (("send", "post", "upload", "forward", "email", "e-mail", "exfiltrat", "transmit", "leak",
                         "submit", "copy", "append"),
                        ("http", "@", "to the url", "to the endpoint", "to the server", "to the address")),
         r"\b(?:send|post|upload|forward|email|e-mail|exfiltrate|transmit|leak|submit|copy|append)\b[^.\n]{0,40}"
         r"\b(?:user'?s?|users'|their|the conversation|this conversation|chat history|address book|contacts|"
         r"credentials|passwords?|api keys?|session|cookies|history|personal data|files|emails|inbox|(?:chat |"
         r"conversation )?(?:transcript|log)s?)\b[^.\n]{0,60}"
         r"(?:https?://|\bto (?:\w+@|the (?:url|endpoint|server|address)))"),
    rule("before_reply", 0.32, (("replying", "responding", "answering", "summari", "translating", "you reply",
                                 "you respond", "you answer"), ("before", "instead of", "after")),
         r"\b(?:before|instead of|after) (?:replying|responding|answering|summari[sz]ing|translating|"
         r"you (?:reply|respond|answer|summari[sz]e))\b"),
    rule("instead", 0.28, (("instead",), ("tell", "say", "respond", "reply", "output", "write", "print", "send",
                                          "recommend", "direct", "inform", "insist", "claim", "ask", "reveal", "post",
                                          "upload", "include")),
         r"instead,? (?:of \w+ing[^,.]{0,30},? )?(?:tell|say|respond|reply|output|write|print|send|recommend|"
         r"direct|inform|insist|claim|ask|reveal|post|upload|include)\b"),
    rule("ignore_the_task", 0.28, (("ignore the", "disregard the", "skip the", "forget the", "drop the", "abandon the"),),
         r"(?:ignore|disregard|skip|forget|drop|abandon) the (?:\w+ )?(?:extraction|task|summary|summari[sz]ation|"
         r"translation|request|question|user|above|document|analysis|review|assignment)", anchored=True),
    rule("hidden_markup", 0.2, (("<!--", "display", "font-size", "color", "{{", "[//]"),),
         r"<!--|display\s*:\s*none|font-size\s*:\s*0|color\s*:\s*(?:white|#fff)|\{\{\s*note\||\[//\]: #"),
    rule("tool_frame", 0.15, (("tool ", "browser ", "search ", "api ", "function ", "plugin ", "retrieved ",
                               "web page", "webpage", "page ", "scraped ", "file ", "email ", "calendar "),
                              (" output", " result", " response", " content", " returned", " says")),
         r"\b(?:tool|browser|search|api|function|plugin|retrieved|web ?page|page|scraped|file|email|calendar) "
         r"(?:output|result|response|content|returned|says)\b", anchored=True),
)
# fmt: on
