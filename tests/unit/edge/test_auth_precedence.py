"""Over HTTP: for a key with a hint (its checks go out before auth answers), auth's refusal is
what the client sees and what is recorded, even when Litestar itself refuses the body (413)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from litestar import Litestar
from litestar.exceptions import HTTPException

from libs.contracts import subjects
from libs.contracts.errors import Code
from libs.contracts.messages import Denied
from libs.crypto import apikeys
from libs.svc.authfail import Failure
from libs.svc.requestid import request_id_middleware
from services.edge import errors
from services.edge.gateway import Gateway
from services.edge.quota import Quotas
from services.edge.routes.chat import chat_completions
from services.edge.routes.embeddings import create_embeddings
from services.edge.routes.messages import count_message_tokens, create_message
from tests.unit.edge.test_auth_ahead import ALICE

KEY = apikeys.generate("prjalice1")

MAX_BODY = 1024


class SlowDenyingAuth:
    """Auth answers 'revoked' a moment after it is asked; nothing else is expected."""

    async def request(self, service: str, subject: str, message: Any, codec: Any, **_: Any) -> Any:
        assert subject == subjects.AUTH_VERIFY, subject
        await asyncio.sleep(0.05)
        return Denied(code=Code.KEY_REVOKED, reason="API key has been revoked")


class Recorder:
    def __init__(self) -> None:
        self.failures: list[Failure] = []
        self.audits: list[Any] = []

    def add(self, failure: Failure) -> None:
        self.failures.append(failure)

    def audit(self, event: Any, **_: Any) -> None:
        self.audits.append(event)

    def usage(self, *_: Any) -> None: ...


def app(recorder: Recorder) -> Any:
    bus = SlowDenyingAuth()
    gw = Gateway(bus, recorder, quotas=Quotas(bus), failures=recorder)  # type: ignore[arg-type]
    gw.hints.put(gw.hints.digest(KEY), ALICE)  # verified a moment ago, revoked since
    litestar = Litestar(
        route_handlers=[chat_completions, create_message, count_message_tokens, create_embeddings],
        exception_handlers={errors.ApiError: errors.handle_api_error, HTTPException: errors.handle_http_exception},
        request_max_body_size=MAX_BODY,
    )
    litestar.state.gateway = gw
    litestar.state.adapters = {}
    return request_id_middleware(litestar)


async def test_a_revoked_key_with_a_hint_gets_401_not_413_for_a_body_too_large() -> None:
    for path in ("/v1/chat/completions", "/v1/messages", "/v1/messages/count_tokens", "/v1/embeddings"):
        recorder = Recorder()
        transport = httpx.ASGITransport(app=app(recorder))
        async with httpx.AsyncClient(transport=transport, base_url="http://edge") as client:
            response = await client.post(path, content=b"{" + b" " * (2 * MAX_BODY) + b"}",
                                         headers={"authorization": f"Bearer {KEY}",
                                                  "content-type": "application/json"})  # fmt: skip
        assert response.status_code == 401, (path, response.text)
        assert [f.reason for f in recorder.failures] == [Code.KEY_REVOKED], path  # counted as a failed auth
        assert recorder.audits == [], path  # not audited as a request of nobody
