"""Credential commands sent to auth (which alone hashes secrets), with replies mapped to problems."""

from __future__ import annotations

import secrets
from typing import Any, TypeVar

from litestar import Request

from libs.contracts import subjects
from libs.contracts.codec import Codec
from libs.contracts.errors import Code
from libs.contracts.messages import Changed, ChangeReply, Denied, Issued, IssueReply
from libs.svc.bus import Bus, Unavailable
from services.api.problems import Problem

T = TypeVar("T")
_issue: Codec[IssueReply] = Codec(IssueReply)
_change: Codec[ChangeReply] = Codec(ChangeReply)
_STATUS = {
    "auth.not_found": 404,
    str(Code.FORBIDDEN): 403,
    str(Code.CONFLICT): 409,
    str(Code.SESSION_INVALID): 401,
    str(Code.SECOND_FACTOR_REQUIRED): 403,
    str(Code.FACTOR_LOCKED): 429,
    str(Code.AUTH_THROTTLED): 429,
}
_KIND = {str(Code.SECOND_FACTOR_REQUIRED): "second-factor-required", str(Code.FACTOR_LOCKED): "second-factor-locked"}


def request_id() -> str:
    """An id for one command."""
    return "cmd_" + secrets.token_hex(10)


async def _send(request: Request[Any, Any, Any], subject: str, message: Any, codec: Codec[T]) -> T:
    bus: Bus = request.app.state.bus
    try:
        reply = await bus.request("auth", subject, message, codec)
    except Unavailable:
        raise Problem(503, "The auth service is unavailable; nothing was changed. Retry shortly.",
                      kind="unavailable") from None  # fmt: skip
    if isinstance(reply, Denied):
        status = _STATUS.get(reply.code, 400)
        raise Problem(status, reply.reason, kind=_KIND.get(reply.code, ""))
    return reply


async def issue(request: Request[Any, Any, Any], subject: str, message: Any) -> Issued:
    """Send an issue/rotate command; the reply carries a new secret."""
    reply = await _send(request, subject, message, _issue)
    assert isinstance(reply, Issued)
    return reply


async def change(request: Request[Any, Any, Any], subject: str, message: Any) -> Changed:
    """Send a revoke/update command."""
    reply = await _send(request, subject, message, _change)
    assert isinstance(reply, Changed)
    return reply


async def ask(request: Request[Any, Any, Any], subject: str, message: Any, codec: Codec[T]) -> T:
    """Send any command to auth; a denial becomes its problem, an outage a 503."""
    return await _send(request, subject, message, codec)


__all__ = ["ask", "change", "issue", "request_id", "subjects"]
