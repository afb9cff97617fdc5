"""Per-project model aliases: set through the management API (or CLI), resolved by the vault for
the project's keys, listed by ``/v1/models``, gone after delete; other tenants' projects are 404."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import asyncpg
import httpx
import openai
import pytest

from libs.stack import seed
from tests.stack import Stack

TARGET = "mock-gpt-4o-mini"


@pytest.fixture(scope="module")
def project(stack: Stack) -> str:
    return stack.env["BASTION_DEMO_PROJECT"]


@pytest.fixture(scope="module")
def other_project(stack: Stack) -> str:
    """A project of another organisation (made as the superuser)."""

    async def make() -> str:
        conn = await asyncpg.connect(stack.superuser_dsn)
        try:
            org = await seed.create_org(conn, f"Alias other {time.time_ns()}")
            return await seed.create_project(conn, org, "theirs")
        finally:
            await conn.close()

    return asyncio.run(make())


def _chat(stack: Stack, model: str) -> httpx.Response:
    return httpx.post(f"{stack.base_url}/chat/completions", headers={"authorization": f"Bearer {stack.api_key}"},
                      json={"model": model, "messages": [{"role": "user", "content": "hi"}]}, timeout=10)  # fmt: skip


def _audited(stack: Stack, action: str, resource: str) -> list[dict[str, object]]:
    deadline = time.monotonic() + 15
    with stack.admin() as http:
        while time.monotonic() < deadline:
            events = http.get("/v1/audit/", params={"action": action, "limit": 200}).json()["data"]
            mine = [e for e in events if f"{e['resource_type']}:{e['resource_id']}" == resource]
            if mine:
                return mine
            time.sleep(0.2)
    return []


def test_alias_routes_lists_and_disappears(stack: Stack, project: str) -> None:
    with stack.admin() as http:
        created = http.put(f"/v1/projects/{project}/aliases/fast", json={"target": TARGET})
        assert created.status_code == 201, created.text
        assert created.json() == {"alias": "fast", "target": TARGET, "provider": "mock",
                                  "created": created.json()["created"]}  # fmt: skip
        again = http.put(f"/v1/projects/{project}/aliases/fast", json={"target": TARGET})
        assert again.status_code == 200
        listed = http.get(f"/v1/projects/{project}/aliases").json()["data"]
        assert [(a["alias"], a["target"], a["provider"]) for a in listed] == [("fast", TARGET, "mock")]

    httpx.post(f"{stack.mock}/_mock/reset")
    client = openai.OpenAI(base_url=stack.base_url, api_key=stack.api_key, max_retries=0, timeout=10)
    completion = client.chat.completions.create(model="fast", messages=[{"role": "user", "content": "alias"}])
    assert completion.choices[0].message.content == "Mock reply: alias"
    assert httpx.get(f"{stack.mock}/_mock/requests").json()[-1]["body"]["model"] == TARGET

    models = {m.id: m.owned_by for m in client.models.list()}
    assert models["fast"] == "mock"
    assert TARGET in models

    with stack.admin() as http:
        assert http.delete(f"/v1/projects/{project}/aliases/fast").status_code == 204
        missing = http.delete(f"/v1/projects/{project}/aliases/fast")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")
    # Other vault replicas may serve the alias until their route cache expires (5 s).
    deadline = time.monotonic() + 6.5
    gone = _chat(stack, "fast")
    while gone.status_code == 200 and time.monotonic() < deadline:
        time.sleep(0.2)
        gone = _chat(stack, "fast")
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "model_not_found"
    assert "fast" not in {m.id for m in client.models.list()}

    resource = f"model_alias:{project}/fast"
    assert {e["metadata"]["created"] for e in _audited(stack, "model_alias.set", resource)} >= {"true", "false"}
    deleted = _audited(stack, "model_alias.deleted", resource)
    assert sorted(e["success"] for e in deleted) == [False, True]


def test_alias_points_at_provider_slash_model(stack: Stack, project: str) -> None:
    with stack.admin() as http:
        assert (
            http.put(f"/v1/projects/{project}/aliases/steered", json={"target": "mock/mock-gpt-4o"}).status_code == 201
        )
    try:
        httpx.post(f"{stack.mock}/_mock/reset")
        assert _chat(stack, "steered").status_code == 200
        assert httpx.get(f"{stack.mock}/_mock/requests").json()[-1]["body"]["model"] == "mock-gpt-4o"
    finally:
        with stack.admin() as http:
            http.delete(f"/v1/projects/{project}/aliases/steered")


@pytest.mark.parametrize(
    ("alias", "body"),
    [
        ("fast", {"target": "no-such-model"}),  # the target must route now
        ("fast", {"target": "nope/x"}),
        ("a%20b", {"target": TARGET}),  # no whitespace or control characters
        ("tab%09", {"target": TARGET}),
        ("x" * 129, {"target": TARGET}),
        ("fast", {"target": "two words"}),
        ("fast", {"target": ""}),
        ("fast", {"target": TARGET, "extra": 1}),
        ("fast", {}),
    ],
)
def test_bad_input_is_a_problem(stack: Stack, project: str, alias: str, body: dict[str, object]) -> None:
    with stack.admin() as http:
        response = http.put(f"/v1/projects/{project}/aliases/{alias}", json=body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 400


def test_another_tenants_project_is_404(stack: Stack, other_project: str) -> None:
    with stack.admin() as http:
        assert http.get(f"/v1/projects/{other_project}/aliases").status_code == 404
        put = http.put(f"/v1/projects/{other_project}/aliases/fast", json={"target": TARGET})
        assert put.status_code == 404
        assert put.headers["content-type"].startswith("application/problem+json")
        assert http.delete(f"/v1/projects/{other_project}/aliases/fast").status_code == 404
        assert http.get("/v1/projects/prj-does-not-exist/aliases").status_code == 404
    refused = _audited(stack, "model_alias.set", f"model_alias:{other_project}/fast")
    assert [(e["success"], e["metadata"]["status"]) for e in refused] == [(False, 404)]


def test_viewers_may_list_but_not_change(stack: Stack, project: str) -> None:
    with stack.admin() as http:
        viewer = http.post("/v1/tokens/", json={"role": "viewer", "name": "alias viewer"}).json()
    stack.created_secrets.append(viewer["token"])
    with stack.admin(viewer["token"]) as ro:
        assert ro.get(f"/v1/projects/{project}/aliases").status_code == 200
        assert ro.put(f"/v1/projects/{project}/aliases/mine", json={"target": TARGET}).status_code == 403
        assert ro.delete(f"/v1/projects/{project}/aliases/mine").status_code == 403


def test_cli_sets_lists_and_deletes_aliases(stack: Stack, project: str) -> None:
    env = {**os.environ, "BASTION_ENV_FILE": str(stack.var / "demo.env")}
    env.pop("BASTION_ADMIN_URL", None)
    env.pop("BASTION_ADMIN_TOKEN", None)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "libs.cli.main", "aliases", *args], env=env,
                              capture_output=True, text=True, check=False)  # fmt: skip

    made = cli("set", project, "cli-alias", TARGET)
    assert made.returncode == 0, made.stdout + made.stderr
    assert json.loads(made.stdout)["target"] == TARGET
    listed = json.loads(cli("list", project).stdout)["data"]
    assert "cli-alias" in [a["alias"] for a in listed]
    assert cli("delete", project, "cli-alias").returncode == 0
    assert cli("delete", project, "cli-alias").returncode == 1
    assert cli("set", project, "cli-alias", "no-such-model").returncode == 1


def _limited_key(stack: Stack, project: str, **limits: object) -> dict[str, str]:
    with stack.admin() as http:
        created = http.post("/v1/keys/", json={"project_id": project, **limits}).json()
    stack.created_secrets.append(created["key"])
    return created


def test_an_alias_cannot_widen_a_keys_budget_or_allow_list(stack: Stack, project: str) -> None:
    """The key's limits apply to the alias's target: priced, metered and allow-listed by it."""
    alias = f"pricey{time.time_ns() % 10**6}"
    with stack.admin() as http:
        assert http.put(f"/v1/projects/{project}/aliases/{alias}", json={"target": "mock-gpt-4o"}).status_code == 201
    budget = _limited_key(stack, project, usage_limit_usd=0.001)
    headers = {"authorization": f"Bearer {budget['key']}"}
    # worst case at the target's price: 1000 output tokens x $10/M = $0.01 > $0.001 (the alias name is unpriced)
    big = httpx.post(f"{stack.base_url}/chat/completions", headers=headers, timeout=10,
                     json={"model": alias, "max_tokens": 1000, "messages": [{"role": "user", "content": "hi"}]})  # fmt: skip
    assert big.status_code == 429, big.text
    assert big.json()["error"]["code"] == "insufficient_quota"
    small = httpx.post(f"{stack.base_url}/chat/completions", headers=headers, timeout=10,
                       json={"model": alias, "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]})  # fmt: skip
    assert small.status_code == 200, small.text
    # metered under the target's name, so the spend counts against the budget
    deadline = time.monotonic() + 15
    rows: list[dict[str, object]] = []
    with stack.admin() as http:
        while time.monotonic() < deadline and not any(r["status"] == 200 for r in rows):
            rows = http.get("/v1/usage/", params={"key_id": budget["id"]}).json()["data"]
            time.sleep(0.2)
    assert {r["model"] for r in rows if r["status"] == 200} == {"mock-gpt-4o"}

    narrow = _limited_key(stack, project, allowed_models=[alias])
    refused = httpx.post(f"{stack.base_url}/chat/completions", headers={"authorization": f"Bearer {narrow['key']}"},
                         json={"model": alias, "messages": [{"role": "user", "content": "hi"}]}, timeout=10)  # fmt: skip
    assert refused.status_code == 403
    assert "mock-gpt-4o" in refused.json()["error"]["message"]
    both = _limited_key(stack, project, allowed_models=[alias, "mock-gpt-4o"])
    allowed = httpx.post(f"{stack.base_url}/chat/completions", headers={"authorization": f"Bearer {both['key']}"},
                         json={"model": alias, "messages": [{"role": "user", "content": "hi"}]}, timeout=10)  # fmt: skip
    assert allowed.status_code == 200
