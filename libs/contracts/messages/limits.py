"""Metering's limit check: requests per minute and the USD budget, before the upstream call."""

from __future__ import annotations

import msgspec

from libs.contracts.messages.common import Fault


class LimitCheck(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Count one request and reserve its worst-case cost (micro-dollars) against the key's limits."""

    request_id: str
    org_id: str
    key_id: str
    model: str
    rpm_limit: int | None = None
    usd_limit_micros: int | None = None
    prompt_chars: int = 0
    max_tokens: int | None = None
    sent_at: int = 0


class LimitOk(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="ok", tag_field="kind"):
    """Admitted. ``remaining``/``reset_s`` feed the x-ratelimit-* headers."""

    rpm_limit: int | None = None
    remaining: int | None = None
    reset_s: int = 0
    reserved_micros: int = 0


class LimitDenied(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="denied", tag_field="kind"):
    """Refused: over the rate (``metering.rate_limited``) or the budget (``metering.limit_exceeded``)."""

    code: str
    reason: str
    retry_after_s: int = 0
    rpm_limit: int | None = None
    remaining: int | None = None
    reset_s: int = 0


LimitReply = LimitOk | LimitDenied | Fault
__all__ = ["LimitCheck", "LimitDenied", "LimitOk", "LimitReply"]
