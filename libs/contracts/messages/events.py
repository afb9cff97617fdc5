"""Durable events (JetStream): usage for metering, audit for the audit trail.

Both are delivered at least once; consumers are idempotent by ``request_id`` / ``event_id``, which
the gateway generates (a client's own id is only a ``correlation_id``).
"""

from __future__ import annotations

from typing import Any

import msgspec

from libs.contracts.messages.common import UnitPrice


class UsageEvent(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Tokens used by one data-plane request (exactly one per request)."""

    request_id: str
    ts: int  # unix milliseconds
    org_id: str
    project_id: str
    key_id: str
    model: str
    provider: str
    status: int
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    estimated: bool = False
    latency_ms: int = 0
    stream: bool = False
    lease_id: str = ""
    """The quota lease the request was admitted from (its hold comes off that lease)."""
    held_micros: int = 0
    correlation_id: str = ""
    """The client's own request id (``x-client-request-id`` / ``x-request-id``), if any; stored,
    never used for deduplication (``request_id`` is always the gateway's)."""
    default_price: UnitPrice | None = None
    """The provider's default price the request was routed with: metering prices a model its
    table does not know at this (and records it unpriced, at $0, when there is none)."""


ACTOR_TYPES = ("person", "api_key", "management_token", "system")
"""Who acted: a person (signed in), an API key (data plane), a management token, the system."""
LEGACY_ACTOR_TYPES = {"admin_token": "management_token", "user": "person"}
"""Names older publishers used (still read: events may wait in a journal or the stream)."""


class AuditEvent(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One auditable action, as its publisher saw it; the audit service stores it as the record
    (``libs/audit/record.py``): ``event_id`` → id, ``ts`` → timestamp, ``actor_id`` → userId,
    ``org_id`` → organizationId, ``ip`` → ipAddress.

    ``resource``, ``status`` and ``detail`` are the shape before issue 13 (``"type:id"``, an HTTP
    status, string-to-string details); they are still accepted and folded into
    ``resource_type``/``resource_id`` and ``metadata`` by ``libs.contracts.normalise.audit``.
    """

    event_id: str
    ts: int  # unix milliseconds
    org_id: str
    actor_type: str  # one of ACTOR_TYPES (or a LEGACY_ACTOR_TYPES name)
    actor_id: str  # the acting person, key or token; "unknown" when no credential was accepted
    action: str  # e.g. "chat.completion", "api_key.created"
    resource: str = ""  # legacy "type:id"
    success: bool
    request_id: str = ""
    ip: str = ""
    user_agent: str = ""
    status: int = 0  # legacy: publishers now put it in metadata["status"]
    detail: dict[str, str] = {}  # legacy: publishers now send metadata
    resource_type: str = ""
    resource_id: str = ""
    metadata: dict[str, Any] = {}
    """A JSON object (normalised: bounded depth, size and numbers). The client's own request id,
    if it sent one, is ``metadata["correlation_id"]``."""


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A durable event a consumer could not store, kept (stream ``DEADLETTER``) to be replayed.

    ``reason`` is a class (``undecodable``, ``unstorable``, ``claims``, ``retries_exhausted``);
    ``detail`` a short fixed text or an exception type, never a value from the event. ``payload``
    is the original message, secret-shaped substrings masked.
    """

    subject: str
    stream: str
    stream_seq: int
    consumer: str
    reason: str
    detail: str = ""
    deliveries: int = 1
    ts: int = 0  # unix milliseconds, when it was dead-lettered
    payload: bytes = b""
