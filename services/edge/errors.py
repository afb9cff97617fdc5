"""Data-plane errors in OpenAI's format: ``{"error": {"message", "type", "param", "code"}}``.

Handlers raise :class:`ApiError`; one set of exception handlers turns every failure — ours,
Litestar's (bad route, body too large) and unexpected ones — into that shape. Messages never
quote keys, provider secrets or matched content, and never carry a stack trace.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException

from libs.contracts.errors import Code

log = logging.getLogger("bastion.edge")

_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}


class ApiError(Exception):
    """An error answer to the client."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers or {}


def body(status: int, message: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    """The OpenAI error body."""
    kind = _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def unavailable(service: str) -> ApiError:
    """Fail closed: a service on the request path did not answer."""
    return ApiError(
        503,
        f"The {service} service is unavailable; the request was not forwarded. Please retry.",
        code="service_unavailable",
        headers={"retry-after": "1"},
    )


def rate_headers(limit: int | None, remaining: int | None, reset_s: int) -> dict[str, str]:
    """OpenAI's x-ratelimit-*-requests headers."""
    if limit is None:
        return {}
    return {
        "x-ratelimit-limit-requests": str(limit),
        "x-ratelimit-remaining-requests": str(max(0, remaining or 0)),
        "x-ratelimit-reset-requests": f"{reset_s}s",
    }


def limit_denied(denial: Any) -> ApiError:
    """A metering refusal: 429 with retry-after (rate), 429 insufficient_quota (budget), or 403
    model_not_priced (a USD-limited key asked for a model whose cost cannot be held)."""
    if denial.code == Code.MODEL_UNPRICED:
        return ApiError(403, denial.reason, code="model_not_priced", param="model")
    headers = rate_headers(denial.rpm_limit, denial.remaining, denial.reset_s)
    if denial.retry_after_s:
        headers["retry-after"] = str(denial.retry_after_s)
    code = "rate_limit_exceeded" if denial.code == Code.RATE_LIMITED else "insufficient_quota"
    return ApiError(429, denial.reason, code=code, headers=headers)


DENIAL_STATUS = {
    Code.KEY_INVALID: 401,
    Code.KEY_REVOKED: 401,
    Code.KEY_EXPIRED: 401,
    Code.TOKEN_INVALID: 401,
    Code.AUTH_THROTTLED: 429,
    Code.MODEL_NOT_ALLOWED: 403,
    Code.IP_NOT_ALLOWED: 403,
    Code.GUARD_BLOCKED: 400,
    Code.MODEL_NOT_FOUND: 404,
    Code.PROVIDER_KEY_MISSING: 503,
    Code.LIMIT_EXCEEDED: 429,
    Code.RATE_LIMITED: 429,
}

_CLIENT_CODES = {
    Code.KEY_INVALID: "invalid_api_key",
    Code.KEY_REVOKED: "invalid_api_key",
    Code.KEY_EXPIRED: "invalid_api_key",
    Code.AUTH_THROTTLED: "rate_limit_exceeded",
    Code.MODEL_NOT_FOUND: "model_not_found",
    Code.GUARD_BLOCKED: "content_policy_violation",
}


def from_denial(code: str, reason: str) -> ApiError:
    """Map a bus denial to the client's error."""
    try:
        known = Code(code)
    except ValueError:
        return ApiError(403, reason, code=code)
    headers = {"retry-after": "1"} if known == Code.AUTH_THROTTLED else None
    return ApiError(DENIAL_STATUS.get(known, 403), reason, code=_CLIENT_CODES.get(known, code), headers=headers)


def handle_api_error(_: Request[Any, Any, Any], exc: ApiError) -> Response[Any]:
    """ApiError → OpenAI error response."""
    return Response(body(exc.status, exc.message, exc.code, exc.param), status_code=exc.status, headers=exc.headers)


def handle_http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Litestar's own errors (404 route, 405, 413, validation) in OpenAI's format."""
    status = exc.status_code
    message = {
        404: "Not found: unknown endpoint.",
        405: "Method not allowed.",
        413: "Request body too large.",
    }.get(status, exc.detail if status < 500 else "Internal server error.")
    return Response(body(status, message), status_code=status, headers=exc.headers or {})


def handle_unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Anything else: a 500 with no detail (the log keeps the exception type)."""
    log.error("unhandled error", extra={"error_type": type(exc).__name__})
    return Response(body(500, "Internal server error.", "internal_error"), status_code=500)
