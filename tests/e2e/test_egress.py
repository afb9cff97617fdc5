"""Server-side request forgery: a tenant admin cannot point the gateway at loopback, private,
link-local or other non-public addresses unless the operator allowed them (this stack allows
only its own mock at 127.0.0.1). Refusals are proven without connecting: every address used
here is in 127.0.0.0/8 or is refused before a socket opens."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import httpx
import pytest

from tests.stack import Stack

REFUSED = [
    ("http://169.254.169.254/latest/meta-data", "not a public address"),
    ("https://169.254.169.254/v1", "not a public address"),
    ("https://10.0.0.5/v1", "not a public address"),
    ("https://192.168.1.1/v1", "not a public address"),
    ("https://[::1]:8080/v1", "not a public address"),
    ("https://[::ffff:169.254.169.254]/v1", "not a public address"),
    ("https://[fd00::1]/v1", "not a public address"),
    ("https://0x7f000002/v1", "not a public address"),
    ("https://2130706434/v1", "not a public address"),
    ("https://100.64.0.1/v1", "not a public address"),
    ("https://0.0.0.0/v1", "not a public address"),
    ("http://127.0.0.2:9/v1", "not a public address"),
    ("https://api.openai.com/v1?", "query"),
    ("https://api.openai.com/v1#x", "fragment"),
    ("https://user:pw@api.openai.com/v1", "user info"),
    ("https://api.openai.com/v1 ", "whitespace"),
    ("https://api.openai.com\\@evil.example/v1", "backslash"),
    ("https://api.open%00ai.com/v1", "host name"),
    ("ftp://api.openai.com/v1", "https"),
    ("https://api.openai.com:99999/v1", "valid URL"),
]


@pytest.mark.parametrize(("base_url", "why"), REFUSED)
def test_a_provider_cannot_point_at_a_non_public_or_malformed_url(stack: Stack, base_url: str, why: str) -> None:
    with stack.admin() as http:
        made = http.post("/v1/providers/", json={"name": f"ssrf{time.time_ns()}", "adapter": "openai",
                                                 "base_url": base_url, "models": [f"ssrf-{time.time_ns()}"]})  # fmt: skip
    assert made.status_code == 400, made.text
    assert made.headers["content-type"].startswith("application/problem+json")
    assert why in made.json()["detail"]


def test_a_stored_url_that_turns_private_is_refused_at_connect_time(stack: Stack) -> None:
    """A row that passed validation (a DNS name that now resolves privately, an older row) is
    checked again on the resolved address when the edge and the vault connect."""
    org = stack.new_org("Egress")
    model = f"ssrf-connect-{time.time_ns()}"
    with stack.admin(org["token"]) as http:
        made = http.post("/v1/providers/", json={"name": "later-private", "adapter": "openai_compatible",
                                                 "base_url": f"{stack.mock}/v1", "models": [model]})  # fmt: skip
        assert made.status_code == 201, made.text
        provider_id = made.json()["id"]

    async def repoint() -> None:
        conn = await asyncpg.connect(stack.superuser_dsn)
        try:
            await conn.execute("UPDATE vault.providers SET base_url = $1 WHERE id = $2",
                               f"http://127.0.0.2:{stack.ports['MOCK']}/v1", provider_id)  # fmt: skip
        finally:
            await conn.close()

    asyncio.run(repoint())
    answer = httpx.post(f"{stack.base_url}/chat/completions", timeout=15,
                        json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
                        headers={"authorization": f"Bearer {org['key']}"})  # fmt: skip
    assert answer.status_code == 502, answer.text
    assert answer.json()["error"]["code"] == "upstream_refused"
    assert "127.0.0.2" not in answer.text
    with stack.admin(org["token"]) as http:
        probe = http.post(f"/v1/providers/{provider_id}/test")
    assert probe.status_code == 200, probe.text
    assert (probe.json()["ok"], probe.json()["status"]) == (False, 0)
    assert "egress policy" in probe.json()["detail"]


def test_the_operator_allowed_mock_still_works(stack: Stack) -> None:
    response = httpx.post(f"{stack.base_url}/chat/completions", timeout=15,
                          json={"model": "mock-gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
                          headers={"authorization": f"Bearer {stack.api_key}"})  # fmt: skip
    assert response.status_code == 200, response.text
