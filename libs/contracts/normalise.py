"""Make durable events storable whatever a client sent (issue 10, defect 1).

Usage and audit events carry values that come from requests (a URL path, a model name, a user
agent, token counts an upstream reported). PostgreSQL refuses some of them — a NUL in ``text`` or
``jsonb``, an unpaired surrogate, an ``integer`` above 2³¹−1 — and a refused row used to be
redelivered forever, stopping the consumer for every tenant. Every event is therefore normalised
where it is published (``libs/svc/events.py``) and again by the consumer before it is stored:
control characters become U+FFFD, text is valid UTF-8 and capped in length, counts are clamped to
the column's range. Normalising twice changes nothing, so the audit hash chain (computed over the
stored form) is stable across redeliveries.
"""

from __future__ import annotations

import re

import msgspec

from libs.contracts.messages.events import AuditEvent, UsageEvent

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
TS_MAX_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the largest time Python can represent
TEXT_MAX = 256
LONG_TEXT_MAX = 1024
DETAIL_MAX_ENTRIES = 32

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def text(value: str, limit: int = TEXT_MAX) -> str:
    """``value`` as storable text: no control characters, valid UTF-8, at most ``limit`` chars."""
    if not value.isascii() or _CONTROL.search(value):
        value = value.encode("utf-8", "replace").decode("utf-8")  # unpaired surrogates → "?"
        value = _CONTROL.sub("\ufffd", value)
    return value[:limit]


def count(value: int) -> int:
    """A non-negative count that fits a PostgreSQL ``integer``."""
    return min(max(value, 0), INT32_MAX)


def status(value: int) -> int:
    """An HTTP status (0 when unknown or out of range)."""
    return value if 0 <= value <= 999 else 0


def timestamp(value: int) -> int:
    """Unix milliseconds that PostgreSQL and Python can both represent."""
    return min(max(value, 0), TS_MAX_MS)


def usage(event: UsageEvent) -> UsageEvent:
    """``event`` with every field storable; a clamped token count marks it ``estimated``."""
    tokens = (event.prompt_tokens, event.completion_tokens, event.cached_tokens)
    clamped = any(count(t) != t for t in tokens)
    return msgspec.structs.replace(
        event,
        request_id=text(event.request_id),
        ts=timestamp(event.ts),
        org_id=text(event.org_id),
        project_id=text(event.project_id),
        key_id=text(event.key_id),
        model=text(event.model),
        provider=text(event.provider),
        status=status(event.status),
        prompt_tokens=count(event.prompt_tokens),
        completion_tokens=count(event.completion_tokens),
        cached_tokens=count(event.cached_tokens),
        estimated=event.estimated or clamped,
        latency_ms=count(event.latency_ms),
        lease_id=text(event.lease_id),
        held_micros=min(max(event.held_micros, 0), INT64_MAX),
        correlation_id=text(event.correlation_id, 128),
    )


def audit(event: AuditEvent) -> AuditEvent:
    """``event`` with every field storable (``detail`` capped to its first entries)."""
    detail = {text(k, 64): text(v, LONG_TEXT_MAX) for k, v in list(event.detail.items())[:DETAIL_MAX_ENTRIES]}
    return msgspec.structs.replace(
        event,
        event_id=text(event.event_id),
        ts=timestamp(event.ts),
        org_id=text(event.org_id),
        actor_type=text(event.actor_type, 64),
        actor_id=text(event.actor_id),
        action=text(event.action, 128),
        resource=text(event.resource, LONG_TEXT_MAX),
        request_id=text(event.request_id),
        ip=text(event.ip, 64),
        user_agent=text(event.user_agent),
        status=status(event.status),
        detail=detail,
    )
