"""A role may only grant, change, remove or revoke roles at or below its own, and an organisation
always keeps an owner: the last owner membership cannot be removed or demoted, the last active
owner token cannot be revoked — enforced in SQL, so two concurrent requests cannot both win."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import httpx
import pytest

from tests.stack import Stack


@pytest.fixture
def org(stack: Stack) -> dict[str, str]:
    """A fresh organisation with an owner token, an admin token and an owner member."""
    made = stack.new_org("Roles")
    with stack.admin(made["token"]) as owner:
        admin = owner.post("/v1/tokens/", json={"role": "admin", "name": "an admin"})
        assert admin.status_code == 201, admin.text
        stack.created_secrets.append(admin.json()["token"])
        member = owner.post("/v1/members/", json={"email": f"own-{time.time_ns()}@example.com", "role": "owner"})
        assert member.status_code == 201, member.text
        me = owner.get("/v1/org/").json()
    return {
        **made,
        "admin": admin.json()["token"],
        "owner_member": member.json()["id"],
        "owner_token_id": me["token_id"],
    }


def test_an_admin_cannot_add_an_owner(stack: Stack, org: dict[str, str]) -> None:
    with stack.admin(org["admin"]) as admin:
        refused = admin.post("/v1/members/", json={"email": f"x-{time.time_ns()}@example.com", "role": "owner"})
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert admin.post("/v1/members/", json={"email": f"y-{time.time_ns()}@example.com",
                                                "role": "admin"}).status_code == 201  # fmt: skip


def test_an_admin_cannot_demote_promote_or_remove_an_owner(stack: Stack, org: dict[str, str]) -> None:
    with stack.admin(org["admin"]) as admin:
        assert admin.patch(f"/v1/members/{org['owner_member']}", json={"role": "viewer"}).status_code == 403
        assert admin.delete(f"/v1/members/{org['owner_member']}").status_code == 403
        dev = admin.post("/v1/members/", json={"email": f"d-{time.time_ns()}@example.com", "role": "developer"})
        assert admin.patch(f"/v1/members/{dev.json()['id']}", json={"role": "owner"}).status_code == 403
        assert admin.patch(f"/v1/members/{dev.json()['id']}", json={"role": "admin"}).status_code == 200
    with stack.admin(org["token"]) as owner:
        members = {m["id"]: m["role"] for m in owner.get("/v1/members/").json()["data"]}
    assert members[org["owner_member"]] == "owner"


def test_an_admin_cannot_revoke_an_owner_token(stack: Stack, org: dict[str, str]) -> None:
    with stack.admin(org["admin"]) as admin:
        refused = admin.post(f"/v1/tokens/{org['owner_token_id']}/revoke")
        assert refused.status_code == 403, refused.text
    with stack.admin(org["token"]) as owner:
        assert owner.get("/v1/org/").status_code == 200, "the owner token still works"


def test_the_last_owner_member_stays(stack: Stack, org: dict[str, str]) -> None:
    with stack.admin(org["token"]) as owner:
        demote = owner.patch(f"/v1/members/{org['owner_member']}", json={"role": "admin"})
        assert demote.status_code == 409, demote.text
        assert "last owner" in demote.json()["detail"]
        assert owner.delete(f"/v1/members/{org['owner_member']}").status_code == 409
        second = owner.post("/v1/members/", json={"email": f"o2-{time.time_ns()}@example.com", "role": "owner"})
        assert owner.delete(f"/v1/members/{org['owner_member']}").status_code == 204
        assert owner.delete(f"/v1/members/{second.json()['id']}").status_code == 409


def test_the_last_owner_token_stays(stack: Stack, org: dict[str, str]) -> None:
    with stack.admin(org["token"]) as owner:
        last = owner.post(f"/v1/tokens/{org['owner_token_id']}/revoke")
        assert last.status_code == 409, last.text
        spare = owner.post("/v1/tokens/", json={"role": "owner", "name": "spare"}).json()
        stack.created_secrets.append(spare["token"])
    with stack.admin(spare["token"]) as other_owner:
        assert other_owner.post(f"/v1/tokens/{org['owner_token_id']}/revoke").status_code == 200
        assert other_owner.post(f"/v1/tokens/{spare['id']}/revoke").status_code == 409


def test_two_owners_removing_each_other_at_once_leave_one(stack: Stack, org: dict[str, str]) -> None:
    with stack.admin(org["token"]) as owner:
        second = owner.post("/v1/members/", json={"email": f"race-{time.time_ns()}@example.com", "role": "owner"})
    ids = [org["owner_member"], second.json()["id"]]

    def remove(user_id: str) -> int:
        with stack.admin(org["token"]) as http:
            return http.delete(f"/v1/members/{user_id}").status_code

    for _ in range(3):  # the race is between requests; a check in Python alone loses it sometimes
        with ThreadPoolExecutor(2) as pool:
            codes = sorted(pool.map(remove, ids))
        if codes != [409, 409]:
            break
    assert codes == [204, 409], codes

    async def owners() -> int:
        conn = await asyncpg.connect(stack.superuser_dsn)
        try:
            return int(await conn.fetchval(
                "SELECT count(*) FROM auth.memberships WHERE org_id = $1 AND role = 'owner'", org["org"]))  # fmt: skip
        finally:
            await conn.close()

    assert asyncio.run(owners()) == 1


def test_sql_alone_refuses_the_last_owner(stack: Stack, org: dict[str, str]) -> None:
    async def attempt() -> None:
        conn = await asyncpg.connect(stack.superuser_dsn)
        try:
            with pytest.raises(asyncpg.CheckViolationError, match="last owner"):
                await conn.execute("DELETE FROM auth.memberships WHERE org_id = $1", org["org"])
            with pytest.raises(asyncpg.CheckViolationError, match="last owner"):
                await conn.execute("UPDATE auth.admin_tokens SET status = 'revoked' WHERE org_id = $1", org["org"])
        finally:
            await conn.close()

    asyncio.run(attempt())
    assert httpx.get(f"{stack.api}/healthz").status_code == 200
