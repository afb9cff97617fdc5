"""Request ids are the gateway's: a client's ``x-request-id`` never merges distinct requests.

Deduplication (usage rows, JetStream message ids, audit events, reservations) keys on the id the
gateway generates; the client's value is stored and echoed only as a correlation id."""

from __future__ import annotations

import time

import httpx

from tests.stack import Stack


def _usage(stack: Stack, headers: dict[str, str], correlation_id: str, expected: int) -> list[dict]:
    deadline = time.monotonic() + 20
    rows: list[dict] = []
    while time.monotonic() < deadline:
        response = httpx.get(f"{stack.api}/v1/usage/", params={"correlation_id": correlation_id}, headers=headers)
        assert response.status_code == 200, response.text
        rows = response.json()["data"]
        if len(rows) >= expected:
            break
        time.sleep(0.2)
    time.sleep(0.5)  # a late duplicate would show now
    return httpx.get(f"{stack.api}/v1/usage/", params={"correlation_id": correlation_id}, headers=headers).json()[
        "data"
    ]


def _chat(stack: Stack, key: str, correlation_id: str, header: str = "x-request-id") -> httpx.Response:
    response = httpx.post(
        f"{stack.base_url}/chat/completions", timeout=20,
        json={"model": "mock-gpt-4o-mini", "messages": [{"role": "user", "content": "count me"}]},
        headers={"authorization": f"Bearer {key}", header: correlation_id},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    return response


def test_ten_requests_with_one_client_id_are_ten_usage_rows(stack: Stack) -> None:
    shared = f"same-id-{time.time_ns()}"
    answers = [_chat(stack, stack.api_key, shared) for _ in range(10)]
    ids = {a.headers["x-request-id"] for a in answers}
    assert len(ids) == 10, "every request gets its own gateway id"
    assert all(i.startswith("req_") and i != shared for i in ids)
    assert all(a.headers["x-client-request-id"] == shared for a in answers)
    rows = _usage(stack, stack.admin_headers, shared, 10)
    assert len(rows) == 10, rows
    assert {r["request_id"] for r in rows} == ids
    assert {r["correlation_id"] for r in rows} == {shared}


def test_the_same_client_id_in_two_tenants_is_two_requests(stack: Stack) -> None:
    other = stack.new_org("ReqIdOther")
    with stack.admin(other["token"]) as http:
        made = http.post("/v1/providers/", json={"name": "mock", "adapter": "openai_compatible",
                                                 "base_url": f"{stack.mock}/v1", "models": ["*"]})  # fmt: skip
        assert made.status_code == 201, made.text
    shared = f"cross-tenant-{time.time_ns()}"
    mine = _chat(stack, stack.api_key, shared)
    theirs = _chat(stack, other["key"], shared, header="x-client-request-id")
    assert mine.headers["x-request-id"] != theirs.headers["x-request-id"]
    assert [r["request_id"] for r in _usage(stack, stack.admin_headers, shared, 1)] == [mine.headers["x-request-id"]]
    other_admin = {"authorization": f"Bearer {other['token']}"}
    assert [r["request_id"] for r in _usage(stack, other_admin, shared, 1)] == [theirs.headers["x-request-id"]]


def test_audit_rows_keep_the_client_id_as_correlation(stack: Stack) -> None:
    shared = f"audit-corr-{time.time_ns()}"
    answers = [_chat(stack, stack.api_key, shared) for _ in range(3)]
    deadline = time.monotonic() + 20
    rows: list[dict] = []
    while time.monotonic() < deadline and len(rows) < 3:
        rows = httpx.get(f"{stack.api}/v1/audit/", params={"correlation_id": shared},
                         headers=stack.admin_headers).json()["data"]  # fmt: skip
        time.sleep(0.2)
    assert {r["request_id"] for r in rows} == {a.headers["x-request-id"] for a in answers}


def test_an_unsafe_client_id_is_not_echoed(stack: Stack) -> None:
    response = httpx.get(f"{stack.edge}/healthz", headers={"x-request-id": "bad id\twith spaces"})
    assert response.headers["x-request-id"].startswith("req_")
    assert "x-client-request-id" not in response.headers
    api = httpx.get(f"{stack.api}/healthz", headers={"x-request-id": "mgmt-corr-1"})
    assert api.headers["x-request-id"].startswith("req_")
    assert api.headers["x-client-request-id"] == "mgmt-corr-1"
