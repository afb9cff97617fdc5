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
from typing import Any

import msgspec

from libs.contracts.messages.events import LEGACY_ACTOR_TYPES, AuditEvent, UsageEvent

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
    """``event`` with every field storable, in the record's shape: a legacy ``"type:id"`` resource
    split, legacy ``detail`` and ``status`` folded into ``metadata`` (its own keys win), legacy
    actor type names replaced; ``metadata`` bounded (:func:`metadata`)."""
    resource_type, resource_id = event.resource_type, event.resource_id
    if event.resource and not (resource_type or resource_id):
        resource_type, resource_id = split_resource(event.resource)
    merged: dict[str, Any] = event.metadata
    if event.detail or event.status:
        merged = dict(list(event.detail.items())[:DETAIL_MAX_ENTRIES])
        if event.status and "status" not in event.metadata:
            merged["status"] = status(event.status)
        merged.update(event.metadata)
    return msgspec.structs.replace(
        event,
        event_id=text(event.event_id),
        ts=timestamp(event.ts),
        org_id=text(event.org_id),
        actor_type=text(LEGACY_ACTOR_TYPES.get(event.actor_type, event.actor_type), 64),
        actor_id=text(event.actor_id),
        action=text(event.action, 128),
        resource="",
        request_id=text(event.request_id),
        ip=text(event.ip, 64),
        user_agent=text(event.user_agent),
        status=0,
        detail={},
        resource_type=text(resource_type, 64),
        resource_id=text(resource_id, LONG_TEXT_MAX),
        metadata=metadata(merged),
    )


def split_resource(resource: str) -> tuple[str, str]:
    """A legacy ``"type:id"`` resource as (type, id); ``"-"`` is none, a string without a colon an id."""
    if resource in ("", "-"):
        return "", ""
    kind, sep, ident = resource.partition(":")
    return (kind, ident) if sep else ("", resource)


def metadata(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` as a storable JSON object that reads back from ``jsonb`` as the same value (so a
    row hashes the same when a verifier reads it back): keys and strings as :func:`text`, at most
    ``METADATA_MAX_ENTRIES`` entries per object or array, ``METADATA_MAX_DEPTH`` levels (deeper
    values become their JSON text), integers within ±(2⁶³−1) and floats that are not whole numbers
    (a whole float becomes an int; what fits neither becomes its text), and at most
    ``METADATA_MAX_BYTES`` encoded: entries past that are dropped and ``_truncated`` set."""
    if _plain(value):
        return value
    cleaned = _object(value, 1)
    if len(_encode(cleaned)) <= METADATA_MAX_BYTES:
        return cleaned
    kept: dict[str, Any] = {}
    size = 2 + len(b',"_truncated":true')
    for key, item in cleaned.items():
        entry = len(_encode({key: item}))  # '{' + entry + '}', separators counted once more
        if size + entry > METADATA_MAX_BYTES:
            continue
        kept[key] = item
        size += entry - 1
    kept["_truncated"] = True
    return kept


METADATA_MAX_ENTRIES = 32
METADATA_MAX_DEPTH = 4
METADATA_MAX_BYTES = 8192
_encode = msgspec.json.Encoder(order="sorted").encode


def _plain(value: dict[str, Any]) -> bool:
    """Whether ``value`` is already what :func:`metadata` makes of it, checked without copying:
    a flat object of clean ASCII text, in-range integers, booleans and nulls, surely small enough
    (the common case: the publishers' own metadata)."""
    if len(value) > METADATA_MAX_ENTRIES:
        return False
    size = 2
    for key, item in value.items():
        if type(key) is not str or len(key) > 64 or not key.isascii() or _CONTROL.search(key):
            return False
        kind = type(item)
        if kind is str:
            if len(item) > LONG_TEXT_MAX or not item.isascii() or _CONTROL.search(item):
                return False
            size += 2 * len(item) + 2
        elif kind is int:
            if not -INT64_MAX <= item <= INT64_MAX:
                return False
            size += 20
        elif item is not None and kind is not bool:
            return False
        size += 2 * len(key) + 4  # quotes, colon, comma; escapes at most double a character
    return size <= METADATA_MAX_BYTES


def _object(value: dict[str, Any], depth: int) -> dict[str, Any]:
    return {text(str(k), 64): _value(v, depth) for k, v in list(value.items())[:METADATA_MAX_ENTRIES]}


def _value(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if -INT64_MAX <= value <= INT64_MAX else str(value)[:64]
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):  # noqa: PLR0124 - NaN check
            return str(value)
        if value.is_integer():
            return int(value) if -INT64_MAX <= value <= INT64_MAX else repr(value)
        return value
    if isinstance(value, str):
        return text(value, LONG_TEXT_MAX)
    if isinstance(value, (dict, list)) and depth >= METADATA_MAX_DEPTH:
        return text(_encode(value).decode("utf-8", "replace"), LONG_TEXT_MAX)
    if isinstance(value, dict):
        return _object(value, depth + 1)
    if isinstance(value, list):
        return [_value(v, depth + 1) for v in value[:METADATA_MAX_ENTRIES]]
    return text(str(value), LONG_TEXT_MAX)
