"""Adversarial review of issue 12: the CSRF Origin check ignores the scheme (failing test)."""

from __future__ import annotations

from services.api.sessions import CSRF_HEADER, csrf_token
from tests.unit.api.test_session_cookie import SEALER, World, _cookie


async def test_a_plain_http_origin_is_not_our_tls_site() -> None:
    """The API is served over TLS (``https://api.test``); ``_same_site`` compares only the
    Origin's host:port with ``Host``, so ``Origin: http://api.test`` (a page served over plain
    HTTP on the same name — anyone on the path can inject one) counts as our own site. An origin
    is scheme + host + port (RFC 6454)."""
    world = World()
    secret = await world.sign_in()
    headers = {**_cookie(secret), CSRF_HEADER: csrf_token(SEALER, secret), "origin": "http://api.test"}
    assert world.client.post("/v1/thing", headers=headers).status_code == 403
