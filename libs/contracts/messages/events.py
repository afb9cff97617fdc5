"""Durable events (JetStream): usage for metering, audit for the audit trail.

Both are delivered at least once; consumers are idempotent by ``request_id`` / ``event_id``, which
the gateway generates (a client's own id is only a ``correlation_id``).
"""

from __future__ import annotations

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


class AuditEvent(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One auditable action. ``detail`` values are short, non-secret strings."""

    event_id: str
    ts: int  # unix milliseconds
    org_id: str
    actor_type: str  # "api_key" | "admin_token" | "user" | "system"
    actor_id: str
    action: str  # e.g. "chat.completion", "api_key.created"
    resource: str
    success: bool
    request_id: str = ""
    ip: str = ""
    user_agent: str = ""
    status: int = 0
    detail: dict[str, str] = {}
    """The client's own request id, if it sent one, is ``detail["correlation_id"]``."""


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
