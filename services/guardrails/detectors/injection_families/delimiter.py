"""Fake turns and delimiter injection: forged role markers, closing tags, labels."""

from __future__ import annotations

from typing import Final

from ..injection_registry import Family, InjectionRule, RuleMaker

rule = RuleMaker(Family.DELIMITER)

# fmt: off
RULES: Final[tuple[InjectionRule, ...]] = (
    rule("override_label", 0.3, (("override", "overrid"),),
         r"(?:^|[\n.!?]\s*|#+\s*)(?:system |admin |priority |emergency )?override\s*[:!#]"),
    rule("bracket_label", 0.35, (("[ai", "[assistant", "[system", "[admin", "[llm", "[model", "[agent", "[hidden",
                                  "[note to", "[new system", "[updated system", "[new admin", "[real system"),),
         r"\[(?:(?:new|updated|real|true) )?(?:ai|assistant|system|admin|llm|model|agent|hidden|note to)(?: [\w ]{0,20})?\]"),
    rule("fake_turn", 0.3, (("\nsystem", "\nassistant", "\nai", "\nbot", "\noperator", "\ndeveloper", "\nadmin",
                             "\nsys", "\nroot", "\ngpt", "\nchatgpt", "\nclaude", "\nmodel", "\n[", "\n<", "\n{",
                             "system:", "assistant:", "ai:", "operator:", "system :", "assistant :"),),
         r"(?:^|\n)\s*(?:\[\[?|<|\{)?(?:system|assistant|ai|bot|operator|developer|admin|administrator|sys|root|"
         r"gpt|chatgpt|claude|model)(?: \w+)?(?:\]\]?|>|\})?\s*:|(?:^|[.!?]\s+)(?:assistant|system|ai|operator)"
         r"\s*:\s"),
    rule("delimiter", 0.35, (("<|", "|>", "[inst]", "[/inst]", "<<", "##", "</", "<system", "<instructions",
                              "<admin", "<context", "<user_input", "<document", "<tool", "[system", "[/system",
                              "[admin", "[operator", "[developer", "end of", "close of", "---", "===", "***",
                              '"role"'),),
         r"<\|?/?(?:im_start|im_end|system|endoftext|start_header_id|eot_id)\|?>|\[/?inst\]|<</?sys>>|"
         r"#{2,}\s*(?:system|instruction|instructions|new instructions|admin|response|override)\b|"
         r"<</?\w*(?:end|context|system)\w*>>|</?(?:system|instructions|admin|context|user_input|document|"
         r"tool_output|tool)>|</?[a-z_]*(?:system|instruction|admin|override|prompt|developer)[a-z_]*>|\[/?(?:system|admin|operator|developer)\]|(?:end|close) of (?:the )?(?:context|"
         r"document|input|user input|prompt|system prompt)|[-=*]{3,}\s*(?:end|begin|start|system|new)\b|"
         r"\"role\"\s*:\s*\"(?:system|developer)\""),
)
# fmt: on
