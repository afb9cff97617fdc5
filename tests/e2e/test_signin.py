"""Sign in with GitHub (local) and Google (local) through the whole stack: the management API,
auth (authlib, joserfc) and the mock identity provider ``make run`` starts (libs/mockoidc) — the
seeded demo owner lands in the demo organisation as its owner (issue 12)."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.stack import Stack


@pytest.mark.parametrize("provider", ["github", "google"])
def test_sign_in_through_the_local_provider_lands_in_the_demo_org_as_owner(stack: Stack, provider: str) -> None:
    with httpx.Client(follow_redirects=True, timeout=15) as browser:
        landed = browser.get(f"{stack.api}/v1/signin/{provider}")
        assert landed.status_code == 200, landed.text
        assert landed.url.path == "/v1/session"
        me = landed.json()
        assert (me["org_id"], me["role"]) == (stack.env["BASTION_DEMO_ORG"], "owner")
        secret = browser.cookies.get("bastion_session")
        assert secret
        stack.created_secrets.append(secret)
        assert browser.cookies.get("bastion_signin") is None  # the flow cookie is spent
        projects = browser.get(f"{stack.api}/v1/projects/")
        assert {p["id"] for p in projects.json()["data"]} >= {stack.env["BASTION_DEMO_PROJECT"]}
        out = browser.post(f"{stack.api}/v1/session/signout", headers={"x-csrf-token": me["csrf_token"]})
        assert out.status_code == 200, out.text
    deadline = time.monotonic() + 15
    while True:
        rows = stack.admin().get("/v1/audit/", params={"action": "session.signed_in"}).json()["data"]
        mine = [r for r in rows if (r["resource_type"], r["resource_id"]) == ("session", me["session_id"])]
        if mine or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert [(r["actor_type"], r["user_id"], r["success"], r["metadata"]["method"]) for r in mine] == [
        ("person", me["user_id"], True, f"oauth:{provider}")
    ]
    assert secret not in str(rows)


def test_a_forged_callback_gets_no_session(stack: Stack) -> None:
    with httpx.Client(follow_redirects=False, timeout=15) as browser:
        started = browser.get(f"{stack.api}/v1/signin/github")
        assert started.status_code == 302
        forged = browser.get(f"{stack.api}/v1/signin/github/callback", params={"code": "x", "state": "forged"})
        assert forged.status_code == 400
        assert browser.cookies.get("bastion_session") is None
