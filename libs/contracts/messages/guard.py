"""Guardrails: check texts on the way in (and, later, out)."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from libs.contracts.messages.common import Denied, Fault


class GuardCheck(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Texts of one request (every text part, in order) to check for one tenant."""

    request_id: str
    tenant_id: str
    project_id: str
    key_id: str
    texts: list[str]
    direction: Literal["input", "output"] = "input"
    sent_at: int = 0
    dry_run: bool = False
    """Evaluate only: record no violation and emit no audit event (the management API's test)."""


class Finding(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One violation: which rule, what type, what was done. Never the matched value."""

    rule_id: str
    type: str
    action: str
    text_index: int
    start: int
    end: int
    monitor: bool = False


class GuardVerdict(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="ok", tag_field="kind"):
    """The request may pass. ``texts`` is set only when something was redacted."""

    action: Literal["allow", "warn", "redact"] = "allow"
    findings: list[Finding] = []
    texts: list[str] | None = None
    injection_score: float = 0.0


GuardReply = GuardVerdict | Denied | Fault


class RuleCheck(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Validate a custom rule before it is stored (the management API asks; guardrails compiles)."""

    request_id: str
    kind: str
    action: str
    config: dict[str, Any] = {}


class RuleOk(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="ok", tag_field="kind"):
    """The rule compiles and is safe to run."""

    valid: bool = True


RuleCheckReply = RuleOk | Denied | Fault


class RulesChanged(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A tenant's rules changed: drop cached policies (core fan-out to every guardrails replica)."""

    org_id: str
