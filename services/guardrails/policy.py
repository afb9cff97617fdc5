"""Turn detector and custom-rule output into a verdict under a tenant's policy.

Every tenant starts from the built-in policy: provider secrets are redacted before they reach
the upstream (or the client), PII is recorded (monitor), and a likely prompt injection passes
with a warning. An organisation or project can replace any built-in category with its own
``pii`` / ``secrets`` / ``injection`` rule (other action, monitor mode, a type subset, an
injection threshold) and add custom ``blocked_terms``, ``regex`` and ``topic_restriction`` rules.
Each rule acts by ``block``, ``warn`` or ``redact``, or only records (``monitor``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from libs.contracts.errors import Code
from libs.contracts.guard_types import REGISTRY, Family
from libs.contracts.messages import Denied, Finding, GuardVerdict
from services.guardrails.detectors.engine import Span, redact, scan
from services.guardrails.rules import CompiledRules

Direction = Literal["input", "output"]


@dataclass(frozen=True)
class Rule:
    """A detector-backed rule: which span types it covers and what it does."""

    id: str
    types: frozenset[str]
    action: str  # "block" | "warn" | "redact"
    monitor: bool = False
    directions: frozenset[str] = frozenset({"input", "output"})


@dataclass(frozen=True)
class InjectionRule:
    """What to do with a likely prompt injection (input only: outputs are the model's own)."""

    id: str = "builtin.injection"
    action: str = "warn"
    monitor: bool = False
    threshold: float = 0.5


@dataclass(frozen=True)
class Policy:
    """Detector rules, the injection rule and the tenant's custom rules."""

    rules: tuple[Rule, ...]
    injection: InjectionRule | None = InjectionRule()
    custom: CompiledRules | None = None
    custom_directions: dict[str, frozenset[str]] = field(default_factory=dict)


def _builtin(family: Family, rule_id: str) -> tuple[Rule, ...]:
    """One built-in rule per default action of the family's registered types ("monitor" = redact, monitored)."""
    by_action: dict[str, set[str]] = {}
    for name, info in REGISTRY.items():
        if info.family is family:
            by_action.setdefault(info.default_action, set()).add(name)
    return tuple(
        Rule(id=rule_id, types=frozenset(types), action="redact", monitor=action == "monitor")
        for action, types in sorted(by_action.items())
    )


DEFAULT_POLICY = Policy(rules=_builtin(Family.SECRET, "builtin.secrets") + _builtin(Family.PII, "builtin.pii"))


@dataclass
class _Outcome:
    findings: list[Finding] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    warned: bool = False
    score: float = 0.0


def evaluate(
    texts: list[str], policy: Policy = DEFAULT_POLICY, direction: Direction = "input"
) -> GuardVerdict | Denied:
    """Scan every text and apply ``policy``; redacted texts come back only if something changed."""
    out = _Outcome()
    redacted = list(texts)
    changed = False
    for index, text in enumerate(texts):
        to_redact = _detectors(policy, direction, index, text, out) + _custom(policy, direction, index, text, out)
        if to_redact:
            redacted[index] = redact(text, to_redact)
            changed = True
    if out.blocked:
        rule_ids = sorted(set(out.blocked))
        return Denied(
            code=Code.GUARD_BLOCKED,
            reason=f"{'Request' if direction == 'input' else 'Response'} blocked by guardrail rule(s): "
            f"{', '.join(rule_ids)}",
            rule_ids=rule_ids,
        )
    action: Literal["allow", "warn", "redact"] = "redact" if changed else ("warn" if out.warned else "allow")
    return GuardVerdict(
        action=action, findings=out.findings, texts=redacted if changed else None, injection_score=out.score
    )


def _act(out: _Outcome, rule_id: str, action: str, monitor: bool) -> bool:
    """Apply a non-redact action; True if the span should be redacted."""
    if monitor:
        return False
    if action == "block":
        out.blocked.append(rule_id)
    elif action == "warn":
        out.warned = True
    return action == "redact"


def _detectors(policy: Policy, direction: Direction, index: int, text: str, out: _Outcome) -> list[Span]:
    result = scan(text, injection=direction == "input" and policy.injection is not None)
    out.score = max(out.score, result.injection.score)
    spans: list[Span] = []
    for span in result.spans:
        rule = next((r for r in policy.rules if span.type in r.types and direction in r.directions), None)
        if rule is None:
            continue
        out.findings.append(Finding(rule_id=rule.id, type=span.type, action=rule.action, text_index=index,
                                    start=span.start, end=span.end, monitor=rule.monitor))  # fmt: skip
        if _act(out, rule.id, rule.action, rule.monitor):
            spans.append(span)
    inj = policy.injection
    if inj is not None and direction == "input" and result.injection.score >= inj.threshold:
        action = "warn" if inj.action == "redact" else inj.action  # an attack has no span to redact
        out.findings.append(Finding(rule_id=inj.id, type="PROMPT_INJECTION", action=action, text_index=index,
                                    start=0, end=len(text), monitor=inj.monitor))  # fmt: skip
        _act(out, inj.id, action, inj.monitor)
    return spans


def _custom(policy: Policy, direction: Direction, index: int, text: str, out: _Outcome) -> list[Span]:
    if policy.custom is None:
        return []
    spans: list[Span] = []
    for hit in policy.custom.match(text):
        if direction not in policy.custom_directions.get(hit.rule_id, frozenset({"input", "output"})):
            continue
        out.findings.append(Finding(rule_id=hit.rule_id, type=hit.type, action=hit.action, text_index=index,
                                    start=hit.start, end=hit.end, monitor=hit.monitor))  # fmt: skip
        if _act(out, hit.rule_id, hit.action, hit.monitor):
            spans.append(Span(start=hit.start, end=hit.end, type=hit.type))
    return spans
