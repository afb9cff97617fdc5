"""Every request yields exactly one usage event and one audit event, visible through the API."""

from __future__ import annotations

import time

import httpx

from tests.stack import Stack


def _wait_for(stack: Stack, path: str, request_id: str, expected: int = 1, timeout: float = 15) -> list[dict]:
    deadline = time.monotonic() + timeout
    rows: list[dict] = []
    while time.monotonic() < deadline:
        response = httpx.get(f"{stack.api}{path}", params={"request_id": request_id}, headers=stack.admin_headers)
        assert response.status_code == 200, response.text
        rows = response.json()["data"]
        if len(rows) >= expected:
            time.sleep(0.5)  # a duplicate would show up now
            return httpx.get(f"{stack.api}{path}", params={"request_id": request_id},
                             headers=stack.admin_headers).json()["data"]  # fmt: skip
        time.sleep(0.1)
    return rows


def test_one_usage_and_one_audit_event_per_request(stack: Stack) -> None:
    headers = {"authorization": f"Bearer {stack.api_key}"}
    ids = []
    for i, stream in enumerate((False, True, False)):
        rid = f"e2e-events-{i}-{time.time_ns()}"
        ids.append(rid)
        body = {
            "model": "mock-gpt-4o-mini",
            "stream": stream,
            "messages": [{"role": "user", "content": f"n{i}"}],
        }
        response = httpx.post(f"{stack.base_url}/chat/completions", json=body, headers={**headers, "x-request-id": rid})
        assert response.status_code == 200
        assert response.headers["x-client-request-id"] == rid
        ids[-1] = response.headers["x-request-id"]
    for rid in ids:
        usage = _wait_for(stack, "/v1/usage/", rid)
        audit = _wait_for(stack, "/v1/audit/", rid)
        assert len(usage) == 1, usage
        assert len(audit) == 1, audit
        assert usage[0]["prompt_tokens"] > 0
        assert audit[0]["action"] == "chat.completion"
        assert audit[0]["success"] is True


def test_failed_requests_are_audited_too(stack: Stack) -> None:
    rid = f"e2e-events-404-{time.time_ns()}"
    response = httpx.post(
        f"{stack.base_url}/chat/completions",
        json={"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]},
        headers={"authorization": f"Bearer {stack.api_key}", "x-request-id": rid},
    )
    assert response.status_code == 404
    rid = response.headers["x-request-id"]
    audit = _wait_for(stack, "/v1/audit/", rid)
    assert len(audit) == 1
    assert audit[0]["success"] is False
    assert audit[0]["metadata"]["status"] == 404
    assert len(_wait_for(stack, "/v1/usage/", rid)) == 1


def test_management_api_requires_a_token(stack: Stack) -> None:
    for headers in ({}, {"authorization": "Bearer bst_adm_wrong"}):
        response = httpx.get(f"{stack.api}/v1/usage/", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["status"] == 401


def test_cli_shows_usage_and_audit(stack: Stack) -> None:
    import json
    import os
    import subprocess
    import sys

    rid = f"e2e-cli-{time.time_ns()}"
    response = httpx.post(
        f"{stack.base_url}/chat/completions",
        json={"model": "mock-gpt-4o-mini", "messages": [{"role": "user", "content": "cli"}]},
        headers={"authorization": f"Bearer {stack.api_key}", "x-request-id": rid},
    )
    assert response.status_code == 200
    client_id, rid = rid, response.headers["x-request-id"]
    assert len(_wait_for(stack, "/v1/audit/", rid)) == 1
    env = {**os.environ, "BASTION_ENV_FILE": str(stack.var / "demo.env")}
    env.pop("BASTION_ADMIN_URL", None)
    env.pop("BASTION_ADMIN_TOKEN", None)
    for group in ("usage", "audit"):
        for flag, value in (("--request-id", rid), ("--correlation-id", client_id)):
            out = subprocess.run([sys.executable, "-m", "libs.cli.main", group, "list", flag, value],
                                 env=env, capture_output=True, text=True, check=True)  # fmt: skip
            assert [r["request_id"] for r in json.loads(out.stdout)["data"]] == [rid]


def test_cost_summary_and_exports(stack: Stack) -> None:
    headers = {"authorization": f"Bearer {stack.api_key}"}
    rid = f"e2e-cost-{time.time_ns()}"
    response = httpx.post(f"{stack.base_url}/chat/completions", headers={**headers, "x-request-id": rid},
                          json={"model": "mock-gpt-4o", "messages": [{"role": "user", "content": "price me"}]})  # fmt: skip
    assert response.status_code == 200
    rows = _wait_for(stack, "/v1/usage/", response.headers["x-request-id"])
    assert rows[0]["priced"] is True
    assert rows[0]["cost_micros"] > 0
    assert isinstance(rows[0]["cost_micros"], int)
    with stack.admin() as http:
        summary = http.get("/v1/usage/summary", params={"group_by": "model"}).json()["data"]
        by_model = {r["group_key"]: r for r in summary}
        assert int(by_model["mock-gpt-4o"]["cost_micros"]) >= rows[0]["cost_micros"]
        assert by_model["mock-gpt-4o"]["cost_usd"].count(".") == 1
        csv_text = http.get("/v1/usage/export", params={"format": "csv", "group_by": "key,model"}).text
        assert (
            csv_text.splitlines()[0]
            == "group_key,requests,prompt_tokens,completion_tokens,cached_tokens,cost_micros,cost_usd"
        )
        assert any("mock-gpt-4o" in line for line in csv_text.splitlines()[1:])
        as_json = http.get("/v1/usage/export", params={"format": "json", "group_by": "day"}).json()
        assert as_json["data"]
        assert all("cost_usd" in r for r in as_json["data"])
        assert http.get("/v1/usage/summary", params={"group_by": "nope"}).status_code == 400


def test_events_are_journaled_until_acked(stack: Stack) -> None:
    """Every edge worker journals its events (var/spool/edge) and empties the journal once
    JetStream has acked them; what a killed worker leaves is replayed by its sibling
    (tests/integration/test_event_spool.py shows the replay)."""
    for _ in range(5):
        httpx.post(f"{stack.base_url}/chat/completions", headers={"authorization": f"Bearer {stack.api_key}"},
                   json={"model": "mock-gpt-4o-mini", "messages": [{"role": "user", "content": "spool"}]})  # fmt: skip
    journals = list((stack.var / "spool" / "edge").glob("*.spool"))
    assert len(journals) >= 2  # one per edge worker
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and sum(p.stat().st_size for p in journals if p.exists()):
        time.sleep(0.1)
    assert sum(p.stat().st_size for p in journals if p.exists()) == 0


def test_the_jetstream_store_holds_no_event_in_clear(stack: Stack) -> None:
    """nats-server encrypts its JetStream store (issue 16): an event's values — here a user agent
    only this request sends — are stored and delivered, yet nowhere in the store's files."""
    agent = f"canary-agent-{time.time_ns()}"
    response = httpx.post(f"{stack.base_url}/chat/completions", timeout=10,
                          json={"model": "mock-gpt-4o-mini", "messages": [{"role": "user", "content": "at rest"}]},
                          headers={"authorization": f"Bearer {stack.api_key}", "user-agent": agent})  # fmt: skip
    assert response.status_code == 200
    audit = _wait_for(stack, "/v1/audit/", response.headers["x-request-id"])
    assert [row["user_agent"] for row in audit] == [agent]  # it went through the stream
    time.sleep(1.0)  # past the server's write-behind of message blocks
    store = stack.var / "nats" / "jetstream"
    files = [p for p in store.rglob("*") if p.is_file()]
    assert files
    assert not [p.name for p in files if agent.encode() in p.read_bytes()]
