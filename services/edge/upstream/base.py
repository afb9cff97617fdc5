"""What every adapter returns, and how upstream failures map to client errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx

from services.edge.errors import ApiError


@dataclass
class Usage:
    """Token counts of one call; ``estimated`` when the provider reported none."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    estimated: bool = False


@dataclass
class JsonResult:
    """A complete (non-streaming) answer in the client's format."""

    status: int
    body: bytes
    usage: Usage


@dataclass
class StreamResult:
    """A streaming answer: SSE frames in the client's format; ``usage`` is final after the last frame."""

    frames: AsyncIterator[bytes]
    usage: Usage = field(default_factory=Usage)


def upstream_error(response: httpx.Response, message: str | None = None) -> ApiError:
    """Map an upstream error status: 429 keeps retry-after, 5xx → 502, 4xx passes through."""
    status = response.status_code
    headers = {}
    if status == 429:
        if "retry-after" in response.headers:
            headers["retry-after"] = response.headers["retry-after"]
        return ApiError(429, message or "The upstream provider is rate limiting requests.",
                        code="upstream_rate_limited", headers=headers)  # fmt: skip
    if status >= 500:
        return ApiError(502, "The upstream provider returned an error.", code="upstream_error")
    return ApiError(status, message or "The upstream provider rejected the request.", code="upstream_error")


def transport_error(exc: httpx.HTTPError) -> ApiError:
    """Timeouts → 504; anything else on the wire → 502."""
    if isinstance(exc, httpx.TimeoutException):
        return ApiError(504, "The upstream provider did not answer in time.", code="upstream_timeout")
    return ApiError(502, "The upstream provider could not be reached.", code="upstream_unreachable")


def estimate_tokens(text_chars: int) -> int:
    """A rough token estimate (≈4 characters per token) for providers that report no usage."""
    return max(1, text_chars // 4)
