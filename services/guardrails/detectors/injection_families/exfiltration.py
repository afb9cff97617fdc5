"""Exfiltration: sending the conversation, user data or secrets to an outside address."""

from __future__ import annotations

from typing import Final

from ..injection_registry import Family, InjectionRule, RuleMaker
from ._parts import _USER_DATA

rule = RuleMaker(Family.EXFILTRATION)

# fmt: off
RULES: Final[tuple[InjectionRule, ...]] = (
    rule("data_grab", 0.4, (("include", "reveal", "append", "add", "insert", "attach", "leak", "list", "output",
                             "collect", "extract"), _USER_DATA),
         r"\b(?:include|reveal|append|add|insert|attach|leak|list|output|collect|extract)\b[^.\n]{0,30}"
         r"\b(?:the )?(?:user'?s|users'|their|customer'?s|his|her) (?:saved |stored |full |private )?"
         r"(?:passwords?|credentials|api keys?|tokens?|address(?:es)?|phone numbers?|contacts|history|personal "
         r"(?:data|information|details)|secrets|payment (?:details|info)|credit card)", anchored=True),
    rule("confidential_data", 0.4, (("reveal", "share", "disclos", "leak", "dump", "print", "output", "send"),
                                    ("confidential", "internal", "private", "sensitive", "secret", "classified")),
         r"\b(?:reveal|share|disclose|leak|dump|print|output|send)\b[^.\n]{0,20}\b(?:confidential|internal|private|"
         r"sensitive|secret|classified) (?:data|information|info|files|records|documents|details)"),
    rule("bulk_user_data", 0.4, (("list", "dump", "send", "give", "export"), ("user", "customer", "employee", "client",
                                                                              "patient")),
         r"\b(?:list|dump|send|give|export)\b[^.\n]{0,25}\b(?:all |the )?(?:users?|customers?|employees?|clients?|"
         r"patients?)'? ?(?:emails|e-mails|addresses|data|records|passwords|phone numbers|details|accounts)"),
    rule("md_exfil", 0.55, (("](http",),),
         r"!?\[[^\]\n]{0,60}\]\(https?://[^)\s]{1,200}[?&][^)\s]{0,100}(?:\{|\$\{|%7b|<|\[)"),
    rule("pipe_shell", 0.3, (("| sh", "|sh", "| bash", "|bash", "iex", "invoke-expression"),),
         r"\b(?:curl|wget)\b[^\n|]{0,120}\|\s*(?:sudo )?(?:ba)?sh\b|\biex\s*\(|\binvoke-expression\b"),
    rule("log_grab", 0.4, (("export", "dump", "send", "delete", "leak", "upload", "forward", "wipe"),
                           ("logs", "history", "transcripts", "records")),
         r"\b(?:export|dump|send|delete|leak|upload|forward|wipe)\b (?:all |the |every )?(?:chat|conversation|"
         r"user|customer|session|message)s? (?:logs|history|transcripts|records)\b"),
    rule("url_param_exfil", 0.5, (("http",), ("followed by", "append", "plus the", "with the user", "containing",
                                             "add the", "attach the")),
         r"https?://\S+[?&][\w.-]+=\S*[^.\n]{0,30}?\b(?:followed by|append\w*|plus|with|containing|add|attach)\b"
         r"[^.\n]{0,20}?\b(?:the )?(?:user'?s|their|the conversation|this conversation|chat|session|cookies?|"
         r"email|passwords?|tokens?)"),
)
# fmt: on
