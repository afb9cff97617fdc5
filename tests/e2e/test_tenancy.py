"""Another tenant's ids get 404 from every management endpoint, and nothing of theirs shows."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import pytest

from libs.stack import seed
from tests.stack import Stack


@pytest.fixture(scope="module")
def other(stack: Stack) -> dict[str, str]:
    """A second organisation with its own owner token, project and key (made as the superuser)."""
    pepper = stack.pepper

    async def make() -> dict[str, str]:
        conn = await asyncpg.connect(stack.superuser_dsn)
        try:
            async with conn.transaction():
                org = await seed.create_org(conn, f"Other {time.time_ns()}")
                project = await seed.create_project(conn, org, "theirs")
                key = await seed.create_api_key(conn, pepper, org, project, "their key")
                token = await seed.create_admin_token(conn, pepper, org, "owner", "their owner")
                key_id = await conn.fetchval("SELECT id FROM auth.api_keys WHERE project_id = $1", project)
                token_id = await conn.fetchval("SELECT id FROM auth.admin_tokens WHERE org_id = $1", org)
                user_id = await conn.fetchval(
                    "INSERT INTO auth.users (id, email) VALUES ($1, $2) RETURNING id", f"usr{time.time_ns()}",
                    f"other{time.time_ns()}@corp.invalid")  # fmt: skip
                await conn.execute("INSERT INTO auth.memberships (org_id, user_id, role) VALUES ($1, $2, 'admin')",
                                   org, user_id)  # fmt: skip
                rule_id = f"rul{time.time_ns()}"
                await conn.execute("INSERT INTO guard.rules (id, org_id, kind, action, config) VALUES"
                                   " ($1, $2, 'blocked_terms', 'block', '{\"terms\": [\"zzz-forbidden\"]}')", rule_id, org)  # fmt: skip
        finally:
            await conn.close()
        return {"org": org, "project": project, "key": key, "key_id": key_id, "token": token,
                "token_id": token_id, "user_id": user_id, "rule_id": rule_id}  # fmt: skip

    made = asyncio.run(make())
    stack.created_secrets.extend([made["key"], made["token"]])
    return made


def test_every_endpoint_answers_404_for_another_tenants_ids(stack: Stack, other: dict[str, str]) -> None:
    calls = [
        ("GET", f"/v1/keys/{other['key_id']}", None),
        ("PATCH", f"/v1/keys/{other['key_id']}", {"name": "mine now"}),
        ("POST", f"/v1/keys/{other['key_id']}/rotate", None),
        ("POST", f"/v1/keys/{other['key_id']}/revoke", None),
        ("POST", "/v1/keys/", {"project_id": other["project"]}),
        ("GET", f"/v1/projects/{other['project']}", None),
        ("PATCH", f"/v1/projects/{other['project']}", {"name": "mine"}),
        ("POST", f"/v1/tokens/{other['token_id']}/revoke", None),
        ("PATCH", f"/v1/members/{other['user_id']}", {"role": "viewer"}),
        ("DELETE", f"/v1/members/{other['user_id']}", None),
        ("GET", f"/v1/guardrails/rules/{other['rule_id']}", None),
        ("PATCH", f"/v1/guardrails/rules/{other['rule_id']}", {"action": "warn"}),
        ("DELETE", f"/v1/guardrails/rules/{other['rule_id']}", None),
        ("POST", "/v1/guardrails/test", {"project_id": other["project"], "texts": ["x"]}),
        (
            "POST",
            "/v1/guardrails/rules",
            {"project_id": other["project"], "kind": "regex", "action": "warn", "config": {"pattern": "abc"}},
        ),
    ]
    with stack.admin() as http:
        for method, path, body in calls:
            response = http.request(method, path, json=body)
            assert response.status_code == 404, (method, path, response.status_code, response.text[:300])
            text = response.text
            assert other["org"] not in text
            assert other["project"] not in text.replace(path, "")
        for path in ("/v1/keys/", "/v1/projects/", "/v1/tokens/", "/v1/members/", "/v1/usage/",
                     "/v1/guardrails/rules", "/v1/guardrails/violations"):  # fmt: skip
            listing = http.get(path, params={"limit": 500}).text
            assert other["key_id"] not in listing
            assert other["project"] not in listing
            assert other["token_id"] not in listing
            assert other["user_id"] not in listing
        # Our own audit trail records the ids we tried (our input); none of their events shows.
        with stack.admin(other["token"]) as theirs:
            assert theirs.get("/v1/org/").status_code == 200
        trail = http.get("/v1/audit/", params={"limit": 1000}).json()["data"]
        assert all(e["user_id"] != other["token_id"] for e in trail)
    # Their key still works: nothing above changed it.
    import httpx

    ok = httpx.post(f"{stack.base_url}/chat/completions", headers={"authorization": f"Bearer {other['key']}"},
                    json={"model": "mock-gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]})  # fmt: skip
    assert ok.status_code == 404  # their org has no models routed: a 404 model, not a 401 key


def test_org_endpoint_shows_only_the_callers_org(stack: Stack, other: dict[str, str]) -> None:
    with stack.admin() as mine, stack.admin(other["token"]) as theirs:
        assert mine.get("/v1/org/").json()["id"] == stack.env["BASTION_DEMO_ORG"]
        assert theirs.get("/v1/org/").json()["id"] == other["org"]
        assert theirs.get(f"/v1/keys/{other['key_id']}").status_code == 200
