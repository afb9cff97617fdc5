"""``/healthz`` (process up) and ``/readyz`` (every bus service answers)."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from litestar import Request, Response, get

from libs.contracts import subjects
from libs.contracts.codec import Codec
from libs.contracts.messages import Fault, Ping, Pong
from libs.svc.bus import Unavailable
from services.edge.routes.common import gateway

_pong: Codec[Pong | Fault] = Codec(Pong | Fault)


@get("/healthz", sync_to_thread=False, include_in_schema=False)
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@get("/readyz", include_in_schema=False)
async def readyz(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """200 only when every bus service answers its ping and says it is ready."""
    bus = gateway(request).bus

    async def probe(service: str) -> bool:
        try:
            pong = await bus.request(service, subjects.ping(service), Ping(request_id=secrets.token_hex(6)), _pong)
        except Unavailable:
            return False
        return isinstance(pong, Pong) and pong.ready

    results = await asyncio.gather(*(probe(s) for s in subjects.SERVICES))
    checks = {s: ("ok" if ok else "unavailable") for s, ok in zip(subjects.SERVICES, results, strict=True)}
    ready = all(results)
    return Response({"status": "ready" if ready else "not_ready", "services": checks},
                    status_code=200 if ready else 503)  # fmt: skip
