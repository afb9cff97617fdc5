"""Commands sent to the vault (which alone stores provider keys and routes), replies mapped to problems."""

from __future__ import annotations

from typing import Any, TypeVar

from litestar import Request

from libs.contracts.codec import Codec
from libs.contracts.messages import Denied
from libs.svc.bus import Bus, Unavailable
from services.api.problems import Problem

T = TypeVar("T")
_STATUS = {"vault.not_found": 404, "vault.conflict": 409}


async def ask(
    request: Request[Any, Any, Any], subject: str, message: Any, reply_type: type[T], codec: Codec[Any],
    *, timeout_s: float | None = None,
) -> T:  # fmt: skip
    """Send ``message``; a denial becomes a 404/409/400 problem, no answer a 503."""
    bus: Bus = request.app.state.bus
    try:
        reply = await bus.request("vault", subject, message, codec, timeout_s=timeout_s)
    except Unavailable:
        raise Problem(
            503, "The vault is unavailable; nothing was changed. Retry shortly.", kind="unavailable"
        ) from None
    if isinstance(reply, Denied):
        raise Problem(_STATUS.get(reply.code, 400), reply.reason)
    assert isinstance(reply, reply_type)
    return reply
