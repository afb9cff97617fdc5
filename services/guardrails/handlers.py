"""Guardrails endpoints: check texts, validate a rule, drop cached policies on change."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable

from libs.contracts import subjects
from libs.contracts.codec import Codec
from libs.contracts.errors import Code
from libs.contracts.messages import (
    AuditEvent,
    Denied,
    GuardCheck,
    GuardVerdict,
    RuleCheck,
    RuleOk,
    RulesChanged,
)
from libs.svc.metrics import Bounded, Counter
from libs.svc.micro import Service
from services.guardrails.policy import evaluate
from services.guardrails.rules import RuleError, RuleSpec, validate
from services.guardrails.store import Violation
from services.guardrails.tenant import PolicyCache, check_builtin

SERVICE = "guardrails"
log = logging.getLogger("bastion.guardrails")
_INLINE_CHARS = 4_000  # scanning costs µs per hundred chars; big inputs go to a thread
_changed: Codec[RulesChanged] = Codec(RulesChanged)
_BUILTIN_KINDS = frozenset({"pii", "secrets", "injection"})

FINDINGS = Counter(
    "bastion_guardrail_findings_total",
    "Violations found in checked texts (one per rule, type and text), by type, the action taken"
    " (block, redact, warn; monitor: a rule in monitor mode, which did nothing) and direction",
    ("type", "action", "direction"),
)
_types = Bounded(64)  # a tenant's custom rules name their own types: bounded
_actions = Bounded(8)

Record = Callable[[list[Violation]], Awaitable[None]]
Audit = Callable[[AuditEvent], None]


def content_hash(text: str) -> str:
    """What is kept of a violating text: its SHA-256."""
    return hashlib.sha256(text.encode()).hexdigest()


def register(svc: Service, policies: PolicyCache, record: Record, audit: Audit) -> None:
    """Attach the guardrails endpoints."""

    @svc.endpoint(subjects.GUARD_CHECK, GuardCheck)
    async def check(request: GuardCheck) -> GuardVerdict | Denied:
        policy = await policies.get(request.tenant_id, request.project_id)
        if sum(len(t) for t in request.texts) <= _INLINE_CHARS:
            verdict = evaluate(request.texts, policy, request.direction)
        else:
            verdict = await asyncio.to_thread(evaluate, request.texts, policy, request.direction)
        if not request.dry_run:
            await _report(request, verdict, record, audit)
        return verdict

    @svc.endpoint(subjects.GUARD_RULE_CHECK, RuleCheck)
    async def rule_check(request: RuleCheck) -> RuleOk | Denied:
        if request.kind in _BUILTIN_KINDS:
            problem = check_builtin(request.kind, request.config)
            return RuleOk() if problem is None else Denied(code=str(Code.BAD_REQUEST), reason=problem)
        try:
            validate(RuleSpec(id="candidate", kind=request.kind, action=request.action, config=request.config))
        except RuleError as exc:
            return Denied(code=str(Code.BAD_REQUEST), reason=str(exc)[:500])
        return RuleOk()

    @svc.listen(subjects.GUARD_RULES_CHANGED)
    async def on_rules_changed(data: bytes) -> None:
        policies.invalidate(_changed.decode(data).org_id)


async def _report(request: GuardCheck, verdict: GuardVerdict | Denied, record: Record, audit: Audit) -> None:
    """Record every violation and emit one audit event per violating rule and text."""
    if isinstance(verdict, Denied):
        findings = [(rid, "BLOCKED", "block", False, 0) for rid in verdict.rule_ids]
    else:
        findings = [(f.rule_id, f.type, f.action, f.monitor, f.text_index) for f in verdict.findings]
    if not findings:
        return
    seen: set[tuple[str, str, int]] = set()
    violations: list[Violation] = []
    for rule_id, kind, action, monitor, index in findings:
        if (rule_id, kind, index) in seen:
            continue
        seen.add((rule_id, kind, index))
        text = request.texts[index] if index < len(request.texts) else ""
        violations.append(Violation(
            org_id=request.tenant_id, project_id=request.project_id, key_id=request.key_id,
            request_id=request.request_id, rule_id=rule_id, type=kind, action=action, monitor=monitor,
            direction=request.direction, content_hash=content_hash(text)))  # fmt: skip
        FINDINGS.child(_types(kind), "monitor" if monitor else _actions(action), request.direction)[0] += 1
    try:
        await record(violations)
    except Exception as exc:  # noqa: BLE001 - the audit event below still carries every violation
        log.error("violation record failed", extra={"error_type": type(exc).__name__})
    for v in violations:
        audit(AuditEvent(
            event_id=f"evt_{secrets.token_hex(12)}", ts=int(time.time() * 1000), org_id=v.org_id,
            actor_type="api_key", actor_id=v.key_id, action="guardrail.violation", resource_type="rule",
            resource_id=v.rule_id, success=v.action != "block" or v.monitor, request_id=v.request_id,
            metadata={"type": v.type, "action": v.action, "monitor": v.monitor, "direction": v.direction,
                      "project_id": v.project_id, "content_sha256": v.content_hash},
        ))  # fmt: skip
