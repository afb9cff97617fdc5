"""Turn detector output into a verdict under a policy.

Until per-tenant rules exist, every tenant gets the built-in policy: provider secrets are
redacted before they reach the upstream, PII is recorded (monitor), and a likely prompt
injection is passed with a warning. Each rule has an action (block, warn, redact) and a
monitor flag (record, do not act).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from libs.contracts.errors import Code
from libs.contracts.messages import Denied, Finding, GuardVerdict
from services.guardrails.detectors.engine import Span, redact, scan

SECRET_TYPES = frozenset(
    {
        "OPENAI_KEY", "ANTHROPIC_KEY", "GOOGLE_API_KEY", "AWS_ACCESS_KEY", "AWS_SECRET_KEY",
        "GITHUB_TOKEN", "STRIPE_KEY", "SLACK_TOKEN", "PRIVATE_KEY", "JWT", "GENERIC_SECRET", "API_KEY",
    }
)  # fmt: skip
PII_TYPES = frozenset({"EMAIL", "PHONE", "SSN", "CREDIT_CARD", "IP_ADDRESS"})


@dataclass(frozen=True)
class Rule:
    """One built-in rule: which span types it covers and what it does."""

    id: str
    types: frozenset[str]
    action: str  # "block" | "warn" | "redact"
    monitor: bool = False


@dataclass(frozen=True)
class Policy:
    """Rules for span types plus the injection rule."""

    rules: tuple[Rule, ...]
    injection_action: str = "warn"
    injection_monitor: bool = False


DEFAULT_POLICY = Policy(
    rules=(
        Rule(id="builtin.secrets", types=SECRET_TYPES, action="redact"),
        Rule(id="builtin.pii", types=PII_TYPES, action="redact", monitor=True),
    ),
)
INJECTION_RULE = "builtin.injection"


def evaluate(texts: list[str], policy: Policy = DEFAULT_POLICY) -> GuardVerdict | Denied:
    """Scan every text and apply ``policy``."""
    findings: list[Finding] = []
    redacted: list[str] = list(texts)
    changed = False
    worst = 0.0
    blocked: list[str] = []
    warned = False
    for index, text in enumerate(texts):
        result = scan(text)
        worst = max(worst, result.injection.score)
        to_redact: list[Span] = []
        for span in result.spans:
            rule = _rule_for(policy, span.type)
            if rule is None:
                continue
            findings.append(
                Finding(
                    rule_id=rule.id, type=span.type, action=rule.action, text_index=index,
                    start=span.start, end=span.end, monitor=rule.monitor,
                )
            )  # fmt: skip
            if rule.monitor:
                continue
            if rule.action == "block":
                blocked.append(rule.id)
            elif rule.action == "redact":
                to_redact.append(span)
            else:
                warned = True
        if result.injection.label == "attack":
            findings.append(
                Finding(
                    rule_id=INJECTION_RULE, type="PROMPT_INJECTION", action=policy.injection_action,
                    text_index=index, start=0, end=len(text), monitor=policy.injection_monitor,
                )
            )  # fmt: skip
            if not policy.injection_monitor:
                if policy.injection_action == "block":
                    blocked.append(INJECTION_RULE)
                else:
                    warned = True
        if to_redact:
            redacted[index] = redact(text, to_redact)
            changed = True
    if blocked:
        rule_ids = sorted(set(blocked))
        return Denied(
            code=Code.GUARD_BLOCKED,
            reason=f"Request blocked by guardrail rule(s): {', '.join(rule_ids)}",
            rule_ids=rule_ids,
        )
    action: Literal["allow", "warn", "redact"] = "redact" if changed else ("warn" if warned else "allow")
    return GuardVerdict(action=action, findings=findings, texts=redacted if changed else None, injection_score=worst)


def _rule_for(policy: Policy, span_type: str) -> Rule | None:
    for rule in policy.rules:
        if span_type in rule.types:
            return rule
    return None
