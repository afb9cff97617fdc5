"""RFC 9457 problem details for every management-API error."""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

log = logging.getLogger("bastion.api")
PROBLEM_JSON = "application/problem+json"
_TITLES = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    409: "Conflict", 413: "Content Too Large", 422: "Unprocessable Content", 429: "Too Many Requests",
    500: "Internal Server Error", 503: "Service Unavailable",
}  # fmt: skip


class Problem(Exception):
    """An error answer: status, a stable ``type`` slug and a client-safe detail."""

    def __init__(self, status: int, detail: str, *, kind: str = "", headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind or _TITLES.get(status, "error").lower().replace(" ", "-")
        self.headers = headers or {}


def _response(request: Request[Any, Any, Any], status: int, detail: str, kind: str,
              headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None) -> Response[Any]:  # fmt: skip
    body: dict[str, Any] = {
        "type": f"https://bastion.dev/problems/{kind}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if extra:
        body.update(extra)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers or {})


def handle_problem(request: Request[Any, Any, Any], exc: Problem) -> Response[Any]:
    """Our own problems."""
    return _response(request, exc.status, exc.detail, exc.kind, exc.headers)


def handle_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """Litestar's errors (validation, 404 route, 405, 413)."""
    status = exc.status_code
    extra: dict[str, Any] | None = None
    detail = str(exc.detail) if status < 500 else "Internal server error."
    if isinstance(exc, ValidationException):
        status, detail = 400, "The request is invalid."
        extra = {"errors": exc.extra} if isinstance(exc.extra, list) and exc.extra else None
    kind = _TITLES.get(status, "error").lower().replace(" ", "-")
    return _response(request, status, detail, kind, exc.headers or {}, extra)


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Anything else: 500 without detail."""
    log.error("unhandled error", extra={"error_type": type(exc).__name__, "path": request.url.path})
    return _response(request, 500, "Internal server error.", "internal")


__all__ = ["PROBLEM_JSON", "MediaType", "Problem", "handle_http", "handle_problem", "handle_unexpected"]
