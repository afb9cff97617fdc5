"""What each publisher may claim in an audit event (issue 10, defect 8).

The bus lets a front process publish only under its own ``gw.evt.audit.<source>.>`` (see
``libs/stack/nats_users.py``), so the subject names the source truthfully; the event's claimed
actor and action must fit that source, or the event is dead-lettered instead of stored. The edge
and guardrails speak for API keys on the data plane, the management API for management tokens
(``admin_token``, the name before issue 13, is still read) and signed-in people (``person``;
``user`` before issue 13).
An event without an authenticated actor must not claim an organisation; that an authenticated
actor belongs to the organisation claimed is checked by the store (``audit.actor_belongs``).
"""

from __future__ import annotations

from dataclasses import dataclass

from libs.contracts.messages import AuditEvent
from libs.contracts.messages.events import LEGACY_ACTOR_TYPES
from libs.svc.events import subject_token

_PREFIX = "gw.evt.audit."
EDGE_FAMILIES = frozenset({"chat", "embeddings", "messages", "models"})
GUARDRAIL_FAMILIES = frozenset({"guardrail"})
# refused authentications, counted per source and window (libs/svc/authfail.py): the edge counts
# API-key refusals, the management API token refusals; both without an actor or organisation
SHARED_FAMILIES = frozenset({"auth"})


@dataclass(frozen=True)
class SourceRule:
    """Actor types a source may claim, and which action families (``<family>.<verb>``)."""

    actor_types: frozenset[str]
    families: frozenset[str] | None  # None: any family no other source owns
    reserved: frozenset[str] = frozenset()


RULES: dict[str, SourceRule] = {
    "edge": SourceRule(frozenset({"api_key"}), EDGE_FAMILIES | SHARED_FAMILIES),
    "guardrails": SourceRule(frozenset({"api_key"}), GUARDRAIL_FAMILIES),
    # a management token, or a signed-in person (a session: its person's id); the old names still read
    "api": SourceRule(
        frozenset({"management_token", "admin_token", "person", "user"}),
        None,
        reserved=EDGE_FAMILIES | GUARDRAIL_FAMILIES,
    ),
}


def check(subject: str, event: AuditEvent) -> str | None:
    """None if ``event`` may have come from the source its subject names, else why not."""
    if not subject.startswith(_PREFIX):
        return "subject outside the audit stream"
    source, _, rest = subject[len(_PREFIX) :].partition(".")
    rule = RULES.get(source)
    if rule is None:
        return "unknown source"
    family, _, verb = event.action.partition(".")
    if rest != f"{subject_token(family)}.{subject_token(verb or 'event')}":
        return "action does not match the subject"
    allowed = family in rule.families if rule.families is not None else family not in rule.reserved
    if not allowed:
        return f"action not allowed for source {source}"
    if LEGACY_ACTOR_TYPES.get(event.actor_type, event.actor_type) not in rule.actor_types:
        return f"actor type not allowed for source {source}"
    if event.actor_id == "unknown" and (event.org_id or event.success):
        return "an unauthenticated actor claims an organisation or a success"
    return None
