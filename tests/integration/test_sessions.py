"""People's sessions on the real database, as the auth role: the SQL functions of 0016_sessions.sql."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest

from libs.contracts.messages import Denied, RevokeSessions, SessionPrincipal
from libs.stack import pg, seed
from services.auth.budget import MissBudget
from services.auth.session_store import SessionStore
from services.auth.sessions import Sessions
from services.auth.settings import AuthSettings
from tests.helpers import service_dsn

pytestmark = pytest.mark.integration
PEPPER = base64.urlsafe_b64encode(b"s" * 32).decode()


@pytest.fixture
async def people(dsn: str) -> AsyncIterator[dict[str, str]]:
    conn = await asyncpg.connect(dsn)
    try:
        tag = time.time_ns()
        orgs = [await seed.create_org(conn, f"ses-{i}-{tag}") for i in range(2)]
        ids = {"org_a": orgs[0], "org_b": orgs[1], "alice": f"usralice{tag}", "bob": f"usrbob{tag}"}
        for who in ("alice", "bob"):
            await conn.execute(
                "INSERT INTO auth.users (id, email) VALUES ($1, $2)", ids[who], f"{who}{tag}@example.com"
            )
        await conn.execute("INSERT INTO auth.memberships (org_id, user_id, role) VALUES ($1, $2, 'owner'),"
                           " ($1, $3, 'admin'), ($4, $3, 'owner')", orgs[0], ids["alice"], ids["bob"], orgs[1])  # fmt: skip
        yield ids
    finally:
        await conn.close()


@pytest.fixture
async def sessions(cluster: pg.Cluster) -> AsyncIterator[Sessions]:
    pool = await asyncpg.create_pool(service_dsn(cluster, "auth"), min_size=1, max_size=2)
    budget = MissBudget(global_rate=1000, source_rate=1000, source_burst=1000, known_good_ttl_s=60,
                        known_good_size=100)  # fmt: skip
    try:
        yield Sessions(SessionStore(pool), AuthSettings(key_pepper=PEPPER, session_touch_s=0), budget)
    finally:
        await pool.close()


async def test_sessions_live_and_end_in_the_database(sessions: Sessions, people: dict[str, str], dsn: str) -> None:
    alice, bob = people["alice"], people["bob"]
    a = await sessions.start(alice, people["org_a"], "test", "203.0.113.1", "UA")
    assert isinstance(a, SessionPrincipal)
    assert a.role == "owner"
    assert isinstance(await sessions.start(alice, people["org_b"], "test"), Denied)  # not a member there
    b1 = await sessions.start(bob, people["org_a"], "test")
    b2 = await sessions.start(bob, people["org_b"], "test")
    assert isinstance(b1, SessionPrincipal)
    assert isinstance(b2, SessionPrincipal)
    assert (await sessions.verify(b2.renewed)).org_id == people["org_b"]  # type: ignore[union-attr]
    # the database holds no secret: only its digest
    admin = await asyncpg.connect(dsn)
    try:
        dump = str(await admin.fetch("SELECT * FROM auth.sessions WHERE user_id IN ($1, $2)", alice, bob))
        assert a.renewed not in dump
        assert a.renewed[8:] not in dump
        # a role change renews the secret
        await admin.execute("UPDATE auth.memberships SET role = 'owner' WHERE user_id = $1 AND org_id = $2",
                            bob, people["org_a"])  # fmt: skip
        renewed = await sessions.verify(b1.renewed)
        assert isinstance(renewed, SessionPrincipal)
        assert renewed.role == "owner"
        assert renewed.renewed
        assert isinstance(await sessions.verify(b1.renewed), Denied)
        assert isinstance(await sessions.verify(renewed.renewed), SessionPrincipal)
        # a removed member's session is refused
        await admin.execute("DELETE FROM auth.memberships WHERE user_id = $1 AND org_id = $2", bob, people["org_a"])
        assert isinstance(await sessions.verify(renewed.renewed), Denied)
        # an ended lifetime is refused even if the row says nothing else
        await admin.execute("UPDATE auth.sessions SET expires_at = now() - interval '1 s' WHERE id = $1", a.session_id)
        assert isinstance(await sessions.verify(a.renewed), Denied)
    finally:
        await admin.close()
    # list and revoke are per person: alice cannot revoke bob's session by its id
    assert (await sessions.revoke(RevokeSessions(request_id="r", user_id=alice, session_id=b2.session_id))).count == 0
    assert {s.id for s in (await sessions.list(bob)).sessions} >= {b2.session_id}
    assert (await sessions.revoke(RevokeSessions(request_id="r", user_id=bob))).count >= 1
    assert isinstance(await sessions.verify(b2.renewed), Denied)
    assert (await sessions.list(bob)).sessions == []


async def test_the_auth_role_cannot_read_the_table_and_the_api_role_not_even_the_functions(
    cluster: pg.Cluster, people: dict[str, str]
) -> None:
    for service in ("auth", "api"):
        conn = await asyncpg.connect(service_dsn(cluster, service))
        try:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetch("SELECT lookup FROM auth.sessions")
            if service == "api":
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.fetch("SELECT * FROM auth.user_sessions($1)", people["alice"])
        finally:
            await conn.close()
