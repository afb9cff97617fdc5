"""Metering's limit check: requests per minute and the USD budget, before the upstream call."""

from __future__ import annotations

import msgspec

from libs.contracts.messages.common import Fault, UnitPrice


class LimitCheck(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Count one request and reserve its worst-case cost (micro-dollars) against the key's limits:
    ``n`` answers of ``max_tokens`` each, priced from the price table or, for a model it does not
    know, at ``default_price`` (the provider's); a USD-limited key's request to a model with
    neither is refused (``metering.model_unpriced``)."""

    request_id: str
    org_id: str
    key_id: str
    model: str
    rpm_limit: int | None = None
    usd_limit_micros: int | None = None
    prompt_chars: int = 0
    max_tokens: int | None = None
    sent_at: int = 0
    n: int = 1
    default_price: UnitPrice | None = None


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


class LeaseRequest(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An edge process asks for a block of a key's limits (``want_units`` requests of the current
    minute, ``want_micros`` of its budget, at least ``need_micros`` — the hold of the request
    waiting for it) and gives back what its previous lease (``return_*``) did not use. A request
    with nothing wanted is a give-back only."""

    request_id: str
    org_id: str
    key_id: str
    model: str
    lease_id: str
    rpm_limit: int | None = None
    usd_limit_micros: int | None = None
    want_units: int = 0
    want_micros: int = 0
    need_micros: int = 0
    return_lease_id: str = ""
    return_window: int = 0  # unix seconds of the minute the returned units were counted in
    return_units: int = 0
    return_micros: int = 0
    sent_at: int = 0


class LeaseGrant(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="ok", tag_field="kind"):
    """A block to admit requests from: ``units`` requests of the minute starting at ``window``
    (unlimited if the key has no rpm limit), ``micros`` of budget; the model's prices (µ$ per
    million tokens, ``priced`` false when unknown) and the default completion size price each
    request's hold at the edge exactly as metering would."""

    lease_id: str
    window: int
    units: int = 0
    micros: int = 0
    rpm_limit: int | None = None
    remaining: int | None = None
    reset_s: int = 0
    priced: bool = False
    price_input: int = 0
    price_output: int = 0
    price_cached: int = 0
    default_max_tokens: int = 4096
    valid_ms: int = 1000


LeaseReply = LeaseGrant | LimitDenied | Fault
__all__ = ["LeaseGrant", "LeaseReply", "LeaseRequest", "LimitCheck", "LimitDenied", "LimitOk", "LimitReply"]
