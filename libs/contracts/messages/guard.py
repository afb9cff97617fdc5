"""Guardrails: check texts on the way in (and, later, out)."""

from __future__ import annotations

from typing import Literal

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
