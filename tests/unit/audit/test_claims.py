"""The audit consumer stores an event only if its claims fit the source its subject names."""

from __future__ import annotations

import pytest

from libs.contracts import subjects
from libs.contracts.messages import AuditEvent
from libs.svc.events import subject_token
from services.audit.claims import check


def _event(action: str, actor_type: str = "api_key", **kw: object) -> AuditEvent:
    base: dict[str, object] = {"event_id": "e", "ts": 1, "org_id": "o", "actor_type": actor_type, "actor_id": "a",
                               "action": action, "resource": "-", "success": True}  # fmt: skip
    return AuditEvent(**{**base, **kw})  # type: ignore[arg-type]


def _subject(source: str, action: str) -> str:
    family, _, verb = action.partition(".")
    return subjects.audit_event(source, subject_token(family), subject_token(verb or "event"))


@pytest.mark.parametrize(
    ("source", "action", "actor_type"),
    [
        ("edge", "chat.completion", "api_key"),
        ("edge", "messages.count_tokens", "api_key"),
        ("edge", "embeddings.create", "api_key"),
        ("edge", "models.list", "api_key"),
        ("guardrails", "guardrail.violation", "api_key"),
        ("api", "api_key.revoked", "admin_token"),
        ("api", "admin_token.rejected", "admin_token"),
        ("api", "membership.updated", "admin_token"),
        ("api", "provider_key.rotated", "admin_token"),
        ("api", "api_key.revoked", "management_token"),  # the name since issue 13 (the old one still read)
        ("api", "session.signed_out", "user"),
        ("api", "api_key.created", "user"),
    ],
)
def test_what_each_source_really_publishes_is_accepted(source: str, action: str, actor_type: str) -> None:
    assert check(_subject(source, action), _event(action, actor_type)) is None


@pytest.mark.parametrize(
    ("subject", "event", "why"),
    [
        (_subject("edge", "api_key.revoked"), _event("api_key.revoked", "admin_token"), "action not allowed"),
        (_subject("edge", "chat.completion"), _event("chat.completion", "admin_token"), "actor type"),
        (_subject("edge", "chat.completion"), _event("chat.completion", "management_token"), "actor type"),
        (_subject("edge", "chat.completion"), _event("chat.completion", "person"), "actor type"),
        (_subject("edge", "chat.completion"), _event("chat.completion", "user"), "actor type"),
        (_subject("api", "chat.completion"), _event("chat.completion", "admin_token"), "action not allowed"),
        (_subject("guardrails", "api_key.created"), _event("api_key.created"), "action not allowed"),
        (_subject("edge", "chat.completion"), _event("models.list"), "does not match the subject"),
        (_subject("test", "chat.completion"), _event("chat.completion"), "unknown source"),
        (_subject("edge", "chat.completion"), _event("chat.completion", actor_id="unknown"), "unauthenticated"),
        ("gw.evt.usage.o.recorded", _event("chat.completion"), "outside the audit stream"),
    ],
)
def test_forged_claims_are_refused(subject: str, event: AuditEvent, why: str) -> None:
    problem = check(subject, event)
    assert problem is not None
    assert why in problem
