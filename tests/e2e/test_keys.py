"""API keys through the management API, enforced by the data plane."""

from __future__ import annotations

import threading
import time

import httpx
import openai
import pytest

from tests.stack import Stack

MODEL = "mock-gpt-4o-mini"


def chat(stack: Stack, key: str, model: str = MODEL) -> httpx.Response:
    return httpx.post(f"{stack.base_url}/chat/completions", timeout=10,
                      json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
                      headers={"authorization": f"Bearer {key}"})  # fmt: skip


@pytest.fixture(scope="module")
def project(stack: Stack) -> str:
    with stack.admin() as http:
        response = http.post("/v1/projects/", json={"name": f"keys-{time.time_ns()}"})
        assert response.status_code == 201, response.text
        return str(response.json()["id"])


def create_key(stack: Stack, project: str, **body: object) -> dict:
    with stack.admin() as http:
        response = http.post("/v1/keys/", json={"project_id": project, **body})
    assert response.status_code == 201, response.text
    created = response.json()
    stack.created_secrets.append(created["key"])
    assert created["key"].startswith(f"sk-proj_{project}_")
    return created


def test_created_key_works_and_is_listed_masked(stack: Stack, project: str) -> None:
    created = create_key(stack, project, name="first")
    client = openai.OpenAI(base_url=stack.base_url, api_key=created["key"], max_retries=0)
    assert client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}]).usage
    with stack.admin() as http:
        listed = http.get("/v1/keys/", params={"project_id": project}).json()["data"]
        one = http.get(f"/v1/keys/{created['id']}").json()
    assert any(k["id"] == created["id"] for k in listed)
    assert created["key"] not in str(listed)
    assert created["key"] not in str(one)
    assert one["masked"] == created["masked"]
    assert "…" in one["masked"]


def test_model_and_ip_allow_lists_give_403(stack: Stack, project: str) -> None:
    limited = create_key(stack, project, allowed_models=[MODEL], allowed_ips=["127.0.0.1/32"])
    assert chat(stack, limited["key"]).status_code == 200
    other_model = chat(stack, limited["key"], "mock-gpt-4o")
    assert other_model.status_code == 403
    assert "allowed_models" in other_model.json()["error"]["message"]
    assert limited["key"] not in other_model.text
    elsewhere = create_key(stack, project, allowed_ips=["10.0.0.0/8", "2001:db8::/32"])
    denied = chat(stack, elsewhere["key"])
    assert denied.status_code == 403
    assert "allowed_ips" in denied.json()["error"]["message"]
    models = openai.OpenAI(base_url=stack.base_url, api_key=limited["key"]).models.list()
    assert [m.id for m in models] == [MODEL]


def test_limits_are_stored_and_updates_apply_at_once(stack: Stack, project: str) -> None:
    created = create_key(stack, project, usage_limit_usd=12.5, rate_limit_rpm=60)
    assert chat(stack, created["key"], "mock-gpt-4o").status_code == 200
    with stack.admin() as http:
        updated = http.patch(f"/v1/keys/{created['id']}", json={"allowed_models": ["mock-gpt-4o-mini"]})
        assert updated.status_code == 200, updated.text
        body = updated.json()
        assert body["usage_limit_usd"] == 12.5
        assert body["rate_limit_rpm"] == 60
        assert body["allowed_models"] == ["mock-gpt-4o-mini"]
        bad = http.patch(f"/v1/keys/{created['id']}", json={"allowed_ips": ["not-a-cidr"]})
        assert bad.status_code == 400
        assert bad.headers["content-type"].startswith("application/problem+json")
        unknown_field = http.post("/v1/keys/", json={"project_id": project, "secret": "x"})
        assert unknown_field.status_code == 400
    assert chat(stack, created["key"], "mock-gpt-4o").status_code == 403


def test_revoke_takes_effect_immediately(stack: Stack, project: str) -> None:
    created = create_key(stack, project)
    assert chat(stack, created["key"]).status_code == 200
    with stack.admin() as http:
        assert http.post(f"/v1/keys/{created['id']}/revoke").status_code == 200
    assert chat(stack, created["key"]).status_code == 401


def test_rotation_while_requests_flow(stack: Stack, project: str) -> None:
    """Two edge workers, requests in flight: after rotate returns, the old key never succeeds."""
    created = create_key(stack, project)
    old = created["key"]
    results: list[tuple[float, float, int]] = []
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(timeout=10) as http:
            while not stop.is_set():
                sent = time.monotonic()
                response = http.post(f"{stack.base_url}/chat/completions",
                                     json={"model": MODEL, "messages": [{"role": "user", "content": "r"}]},
                                     headers={"authorization": f"Bearer {old}"})  # fmt: skip
                results.append((sent, time.monotonic(), response.status_code))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    with stack.admin() as http:
        rotating = time.monotonic()
        rotated = http.post(f"/v1/keys/{created['id']}/rotate")
    returned = time.monotonic()
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["key"]
    stack.created_secrets.append(new)
    time.sleep(1.5)
    stop.set()
    for t in threads:
        t.join()
    # Finished before the rotation began: must all pass. (Between the start and the return of the
    # rotate call either answer is correct.) Sent after it returned: must all be refused.
    before = [r for r in results if r[1] < rotating]
    after = [r for r in results if r[0] > returned]
    assert before
    assert all(code == 200 for _, _, code in before)
    assert len(after) > 10
    assert all(code == 401 for _, _, code in after), [c for _, _, c in after if c != 401]
    assert all(chat(stack, new).status_code == 200 for _ in range(4))  # both edge workers


def test_rotation_grace_period(stack: Stack, project: str) -> None:
    created = create_key(stack, project)
    with stack.admin() as http:
        rotated = http.post(f"/v1/keys/{created['id']}/rotate", json={"grace_seconds": 2})
    assert rotated.status_code == 200
    stack.created_secrets.append(rotated.json()["key"])
    assert chat(stack, created["key"]).status_code == 200
    assert chat(stack, rotated.json()["key"]).status_code == 200
    time.sleep(2.5)
    assert chat(stack, created["key"]).status_code == 401
    assert chat(stack, rotated.json()["key"]).status_code == 200


def test_expired_key_is_rejected(stack: Stack, project: str) -> None:
    from datetime import UTC, datetime, timedelta

    soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    created = create_key(stack, project, expires_at=soon)
    assert chat(stack, created["key"]).status_code == 200
    time.sleep(2.5)
    assert chat(stack, created["key"]).status_code == 401


def test_roles_are_enforced_and_refusals_audited(stack: Stack, project: str) -> None:
    with stack.admin() as http:
        viewer = http.post("/v1/tokens/", json={"role": "viewer", "name": "ro"})
        assert viewer.status_code == 201
        token = viewer.json()["token"]
        stack.created_secrets.append(token)
        escalate = http.post("/v1/tokens/", json={"role": "owner"})
        assert escalate.status_code == 201  # the demo token is an owner
        stack.created_secrets.append(escalate.json()["token"])
    with stack.admin(token) as ro:
        assert ro.get("/v1/keys/").status_code == 200
        refused = ro.post("/v1/keys/", json={"project_id": project})
        assert refused.status_code == 403
        assert ro.post("/v1/tokens/", json={"role": "admin"}).status_code == 403
    deadline = time.monotonic() + 15
    with stack.admin() as http:
        while time.monotonic() < deadline:
            events = http.get("/v1/audit/", params={"action": "api_key.created", "limit": 200}).json()["data"]
            mine = [e for e in events if e["user_id"] == viewer.json()["id"]]
            if mine:
                break
            time.sleep(0.2)
    assert mine, [(e["user_id"], e["success"]) for e in events][:20]
    assert mine[0]["success"] is False
    assert mine[0]["metadata"]["status"] == 403
    assert mine[0]["ip_address"] == "127.0.0.1"
    assert mine[0]["actor_type"] == "management_token"
    assert mine[0]["user_agent"].startswith("python-httpx")


def test_key_operations_are_audited(stack: Stack, project: str) -> None:
    created = create_key(stack, project)
    with stack.admin() as http:
        http.post(f"/v1/keys/{created['id']}/revoke")
        deadline = time.monotonic() + 15
        actions: set[str] = set()
        while time.monotonic() < deadline and not {"api_key.created", "api_key.revoked"} <= actions:
            events = http.get("/v1/audit/", params={"limit": 500}).json()["data"]
            actions = {
                e["action"]
                for e in events
                if (e["resource_type"], e["resource_id"]) == ("api_key", created["id"]) and e["success"]
            }
            time.sleep(0.2)
    assert {"api_key.created", "api_key.revoked"} <= actions


def test_management_api_publishes_openapi_and_rate_limit_headers(stack: Stack) -> None:
    spec = httpx.get(f"{stack.api}/openapi/openapi.json")
    assert spec.status_code == 200
    assert "/v1/keys/{key_id}/rotate" in spec.json()["paths"]
    with stack.admin() as http:
        response = http.get("/v1/projects/")
    assert response.headers["ratelimit-limit"] == "100000"
    assert int(response.headers["ratelimit-remaining"]) > 0
    assert "ratelimit-reset" in response.headers


def test_cli_creates_and_rotates_keys(stack: Stack, project: str) -> None:
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "BASTION_ENV_FILE": str(stack.var / "demo.env")}
    env.pop("BASTION_ADMIN_URL", None)
    env.pop("BASTION_ADMIN_TOKEN", None)

    def cli(*args: str) -> dict:
        out = subprocess.run([sys.executable, "-m", "libs.cli.main", *args], env=env, capture_output=True,
                             text=True, check=True)  # fmt: skip
        return json.loads(out.stdout)

    created = cli("keys", "create", "--project-id", project, "--allowed-models", "mock-*", "--rate-limit-rpm", "30")
    stack.created_secrets.append(created["key"])
    assert chat(stack, created["key"]).status_code == 200
    rotated = cli("keys", "rotate", created["id"])
    stack.created_secrets.append(rotated["key"])
    assert chat(stack, created["key"]).status_code == 401
    assert chat(stack, rotated["key"]).status_code == 200
    listed = cli("keys", "list", "--project-id", project)
    assert any(k["id"] == created["id"] and k["rate_limit_rpm"] == 30 for k in listed["data"])
    assert cli("keys", "revoke", created["id"])["status"] == "revoked"
    assert any(p["id"] == project for p in cli("projects", "list")["data"])


def test_cors_allows_only_listed_origins(stack: Stack) -> None:
    allowed = "https://console.example.test"
    for origin, expect in ((allowed, True), ("https://evil.example.test", False)):
        preflight = httpx.options(f"{stack.api}/v1/keys/", headers={
            "origin": origin, "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type"})  # fmt: skip
        simple = httpx.get(f"{stack.api}/v1/projects/", headers={"origin": origin, **stack.admin_headers})
        for response in (preflight, simple):
            assert (response.headers.get("access-control-allow-origin") == origin) is expect, response.headers
            assert (response.headers.get("access-control-allow-credentials") == "true") is expect


def test_a_key_seen_before_is_still_decided_by_auth_alone(stack: Stack, project: str) -> None:
    """Each edge worker sends a known key's checks ahead of auth's answer (issue 11); auth's
    answer still decides: revoked → 401 whatever else is wrong, narrowed allow-lists → 403."""
    created = create_key(stack, project)
    for _ in range(8):  # both edge workers have seen it verified
        assert chat(stack, created["key"]).status_code == 200
    with stack.admin() as http:
        narrowed = http.patch(f"/v1/keys/{created['id']}", json={"allowed_ips": ["10.0.0.0/8"]})
        assert narrowed.status_code == 200, narrowed.text
    for _ in range(4):
        refused = chat(stack, created["key"])
        assert refused.status_code == 403, refused.text
        assert "allowed_ips" in refused.json()["error"]["message"]
    with stack.admin() as http:
        assert http.patch(f"/v1/keys/{created['id']}", json={"allowed_ips": []}).status_code == 200
        assert chat(stack, created["key"]).status_code == 200
        assert chat(stack, created["key"]).status_code == 200
        assert http.post(f"/v1/keys/{created['id']}/revoke").status_code == 200
    for _ in range(4):
        assert chat(stack, created["key"]).status_code == 401
        bad_body = httpx.post(f"{stack.base_url}/chat/completions", content=b"{not json", timeout=10,
                              headers={"authorization": f"Bearer {created['key']}",
                                       "content-type": "application/json"})  # fmt: skip
        assert bad_body.status_code == 401, bad_body.text
        assert created["key"] not in bad_body.text
