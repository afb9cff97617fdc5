"""Only a configured trusted proxy may name the client: a forwarding header from anyone else
changes nothing — not the key's IP allow-list, not the management API's per-IP limit, not the
address the audit trail records. (The stack trusts no proxy; the trusted case is unit-tested
in tests/unit/svc/test_clientaddr.py.)"""

from __future__ import annotations

import itertools
import time

import httpx
import pytest

from tests.stack import Stack

FORGED = "203.0.113.7"
HEADERS = [
    {"x-forwarded-for": FORGED},
    {"x-forwarded-for": f"{FORGED}, 127.0.0.1"},
    {"x-real-ip": FORGED},
    {"forwarded": f"for={FORGED}"},
    {"x-forwarded-for": FORGED, "x-forwarded-proto": "https", "x-forwarded-host": "example.com"},
]


@pytest.fixture(scope="module")
def allow_listed_key(stack: Stack) -> str:
    with stack.admin() as http:
        project = http.post("/v1/projects/", json={"name": f"xff-{time.time_ns()}"}).json()["id"]
        made = http.post("/v1/keys/", json={"project_id": project, "allowed_ips": [f"{FORGED}/32"]})
    assert made.status_code == 201, made.text
    stack.created_secrets.append(made.json()["key"])
    return str(made.json()["key"])


@pytest.mark.parametrize("forged", HEADERS, ids=",".join)
def test_forwarding_headers_do_not_pass_the_ip_allow_list(stack: Stack, allow_listed_key: str, forged: dict) -> None:
    response = httpx.post(f"{stack.base_url}/chat/completions", timeout=10,
                          json={"model": "mock-gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
                          headers={"authorization": f"Bearer {allow_listed_key}", **forged})  # fmt: skip
    assert response.status_code == 403, response.text
    assert "allowed_ips" in response.json()["error"]["message"]


def test_two_forwarding_header_lines_do_not_pass_either(stack: Stack, allow_listed_key: str) -> None:
    headers = [("authorization", f"Bearer {allow_listed_key}"), ("x-forwarded-for", FORGED),
               ("x-forwarded-for", FORGED)]  # fmt: skip
    response = httpx.post(f"{stack.base_url}/chat/completions", timeout=10, headers=headers,
                          json={"model": "mock-gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})  # fmt: skip
    assert response.status_code == 403, response.text


def test_a_forged_address_does_not_get_a_fresh_management_rate_limit(stack: Stack) -> None:
    remaining = []
    with stack.admin() as http:
        for n in range(4):
            response = http.get("/v1/projects/", headers={"x-forwarded-for": f"198.51.100.{n + 1}"})
            assert response.status_code == 200, response.text
            remaining.append(int(response.headers["ratelimit-remaining"]))
    # one bucket (the socket peer's): every request counts against it, whatever address it claims
    assert all(b < a for a, b in itertools.pairwise(remaining)), remaining


def test_audit_records_the_peer_not_the_claimed_address(stack: Stack) -> None:
    with stack.admin() as http:
        made = http.post("/v1/projects/", json={"name": f"xff-audit-{time.time_ns()}"},
                         headers={"x-forwarded-for": FORGED, "x-client-request-id": f"xff-{time.time_ns()}"})  # fmt: skip
        assert made.status_code == 201, made.text
        correlation = made.headers["x-client-request-id"]
        deadline, rows = time.monotonic() + 20, []
        while time.monotonic() < deadline and not rows:
            rows = http.get("/v1/audit/", params={"correlation_id": correlation}).json()["data"]
            time.sleep(0.2)
    assert rows, "the action was audited"
    assert {r["ip_address"] for r in rows} == {"127.0.0.1"}
