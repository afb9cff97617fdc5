"""Stable error codes carried across the bus and mapped to HTTP at the edges."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Code(StrEnum):
    """Stable codes: denials (a normal reply) and faults (an error reply)."""

    # denials
    KEY_INVALID = "auth.key_invalid"
    KEY_REVOKED = "auth.key_revoked"
    KEY_EXPIRED = "auth.key_expired"
    TOKEN_INVALID = "auth.token_invalid"
    SESSION_INVALID = "auth.session_invalid"
    SIGNIN_REFUSED = "auth.signin_refused"
    AUTH_THROTTLED = "auth.throttled"
    SECOND_FACTOR_REQUIRED = "auth.second_factor_required"
    FACTOR_LOCKED = "auth.factor_locked"
    MODEL_NOT_ALLOWED = "auth.model_not_allowed"
    IP_NOT_ALLOWED = "auth.ip_not_allowed"
    GUARD_BLOCKED = "guard.blocked"
    MODEL_NOT_FOUND = "vault.model_not_found"
    PROVIDER_KEY_MISSING = "vault.key_missing"
    LIMIT_EXCEEDED = "metering.limit_exceeded"
    RATE_LIMITED = "metering.rate_limited"
    FORBIDDEN = "auth.forbidden"
    CONFLICT = "conflict"
    MODEL_UNPRICED = "metering.model_unpriced"
    # faults
    BAD_REQUEST = "bad_request"
    INTERNAL = "internal"
    UNAVAILABLE = "unavailable"


SERVICE_ERROR_HEADER: Final = "Nats-Service-Error"
SERVICE_ERROR_CODE_HEADER: Final = "Nats-Service-Error-Code"
