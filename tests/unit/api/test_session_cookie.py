"""The management API's session cookie, CSRF and session endpoints, against auth's real session
logic on a fake store and an in-memory bus (the whole stack: tests/e2e/test_sessions.py)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar import Litestar, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.testing import TestClient

from libs.contracts.messages import AdminPrincipal, SessionPrincipal
from libs.crypto import apikeys
from libs.crypto.sealed import Sealer
from libs.svc.authfail import FailedAuths
from libs.svc.micro import MemoryBus, Service
from services.api import problems
from services.api.controllers.sessions import SessionController
from services.api.deps import Admin
from services.api.security import admin
from services.api.sessions import (
    CSRF_HEADER,
    HOST_NAME,
    CookiePolicy,
    cookie_policy,
    csrf_token,
    session_cookie_middleware,
)
from services.api.settings import ApiSettings, SignInSettings
from services.auth import handlers
from services.auth.budget import MissBudget
from services.auth.sessions import Sessions
from services.auth.settings import AuthSettings
from tests.fakes import AuditSink, FakeSessionStore, MemoryBusClient

PEPPER = base64.urlsafe_b64encode(b"p" * 32).decode()
SEALER = Sealer(bytes(range(32)))
POLICY = CookiePolicy(name=HOST_NAME, secure=True)


@post("/v1/thing", status_code=200)
async def change_thing(admin: Admin) -> dict[str, Any]:
    return {"org": admin.org_id, "role": admin.role, "user": admin.user_id}


class World:
    def __init__(self) -> None:
        self.store = FakeSessionStore({("usr1", "org1"): "owner", ("usr2", "org2"): "owner"})
        self.store.now = datetime.now(UTC)
        budget = MissBudget(global_rate=1000, source_rate=1000, source_burst=1000, known_good_ttl_s=60,
                            known_good_size=100)  # fmt: skip
        self.sessions = Sessions(self.store, AuthSettings(key_pepper=PEPPER), budget)
        svc = Service(handlers.SERVICE)
        handlers.register_sessions(svc, self.sessions)
        self.bus = MemoryBusClient(MemoryBus(svc))
        self.audit = AuditSink()
        self.failures = FailedAuths(lambda e: self.audit.audit(e, source="api"), actor_type="user", window_s=60)
        self.app = app = Litestar(
            route_handlers=[SessionController, change_thing],
            dependencies={"admin": Provide(admin)},
            exception_handlers={problems.Problem: problems.handle_problem, HTTPException: problems.handle_http},
            state=State({"sealer": SEALER, "cookie_policy": POLICY, "bus": self.bus, "events": self.audit,
                         "failed_sessions": self.failures}),
        )  # fmt: skip
        self.client = TestClient(session_cookie_middleware(app), base_url="https://api.test")

    async def sign_in(self, user: str = "usr1", org: str = "org1") -> str:
        started = await self.sessions.start(user, org, "test")
        assert isinstance(started, SessionPrincipal)
        return started.renewed


@pytest.fixture
def world() -> Iterator[World]:
    w = World()
    with w.client:
        yield w


def _cookie(secret: str) -> dict[str, str]:
    return {"cookie": f"{HOST_NAME}={secret}"}


def test_cookie_attributes_per_deployment() -> None:
    tls = cookie_policy(ApiSettings(cookie_secure=True), SignInSettings())
    assert tls.set("bst_ses_x", 1000, now=400) == (
        "__Host-bastion_session=bst_ses_x; Max-Age=600; Path=/; HttpOnly; SameSite=Lax; Secure"
    )
    shared = cookie_policy(ApiSettings(cookie_secure=True), SignInSettings(cookie_domain="example.com"))
    assert (
        shared.set("v", 10, now=0)
        == "bastion_session=v; Max-Age=10; Path=/; HttpOnly; SameSite=Lax; Domain=example.com; Secure"
    )
    local = cookie_policy(ApiSettings(cookie_secure=False), SignInSettings())
    assert local.set("v", 10, now=0) == "bastion_session=v; Max-Age=10; Path=/; HttpOnly; SameSite=Lax"
    assert tls.clear().startswith("__Host-bastion_session=; Max-Age=0;")


async def test_session_cookie_authenticates_reads_and_names_the_person(world: World) -> None:
    secret = await world.sign_in()
    got = world.client.get("/v1/session", headers=_cookie(secret))
    assert got.status_code == 200
    body = got.json()
    assert (body["user_id"], body["org_id"], body["role"]) == ("usr1", "org1", "owner")
    assert body["csrf_token"] == csrf_token(SEALER, secret)
    assert secret not in got.text


async def test_state_change_needs_the_csrf_token(world: World) -> None:
    secret = await world.sign_in()
    refused = world.client.post("/v1/thing", headers=_cookie(secret))
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    wrong = world.client.post(
        "/v1/thing", headers={**_cookie(secret), CSRF_HEADER: csrf_token(SEALER, "bst_ses_other")}
    )
    assert wrong.status_code == 403
    other_secret = Sealer(bytes(range(1, 33)))  # a token made under another AUTH_SECRET
    assert (
        world.client.post(
            "/v1/thing", headers={**_cookie(secret), CSRF_HEADER: csrf_token(other_secret, secret)}
        ).status_code
        == 403
    )
    assert world.bus.sent == []  # refused before auth is asked
    ok = world.client.post("/v1/thing", headers={**_cookie(secret), CSRF_HEADER: csrf_token(SEALER, secret)})
    assert ok.status_code == 200
    assert ok.json() == {"org": "org1", "role": "owner", "user": "usr1"}


async def test_cross_site_origin_is_refused_even_with_the_token(world: World) -> None:
    secret = await world.sign_in()
    headers = {**_cookie(secret), CSRF_HEADER: csrf_token(SEALER, secret)}
    assert world.client.post("/v1/thing", headers={**headers, "origin": "https://evil.example"}).status_code == 403
    assert world.client.post("/v1/thing", headers={**headers, "sec-fetch-site": "cross-site"}).status_code == 403
    assert world.client.post("/v1/thing", headers={**headers, "origin": "https://api.test"}).status_code == 200


@pytest.mark.parametrize("forged", ["", "bst_ses_" + "A" * 49, "garbage", apikeys.generate_admin_token()])
async def test_forged_cookie_is_refused_and_cleared(world: World, forged: str) -> None:
    await world.sign_in()
    forged = forged or apikeys.generate_session_secret()
    got = world.client.get("/v1/session", headers=_cookie(forged))
    assert got.status_code == 401
    assert got.headers["set-cookie"].startswith("__Host-bastion_session=; Max-Age=0")
    world.failures.flush()
    assert any(e.action == "auth.failed" and e.actor_type == "user" for _, e in world.audit.events)


async def test_a_token_header_wins_over_the_cookie(world: World) -> None:
    secret = await world.sign_in()
    got = world.client.get("/v1/session", headers={**_cookie(secret), "authorization": "Bearer nope"})
    assert got.status_code != 200  # judged by the (invalid) bearer token alone, not the session
    assert world.bus.sent == [] or all(type(m).__name__ != "VerifySession" for m in world.bus.sent)


async def test_sessions_are_one_persons_own(world: World) -> None:
    mine = await world.sign_in()
    other = await world.sign_in("usr2", "org2")
    theirs = world.client.get("/v1/session", headers=_cookie(other)).json()["session_id"]
    headers = {**_cookie(mine), CSRF_HEADER: csrf_token(SEALER, mine)}
    assert world.client.post(f"/v1/sessions/{theirs}/revoke", headers=headers).status_code == 404
    assert world.client.get("/v1/session", headers=_cookie(other)).status_code == 200
    listed = world.client.get("/v1/sessions", headers=_cookie(mine)).json()["data"]
    assert [s["current"] for s in listed] == [True]
    assert all(s["org_id"] == "org1" for s in listed)


async def test_sign_out_ends_the_session_and_drops_the_cookie(world: World) -> None:
    secret = await world.sign_in()
    elsewhere = await world.sign_in()
    out = world.client.post("/v1/session/signout", headers={**_cookie(secret), CSRF_HEADER: csrf_token(SEALER, secret)})
    assert out.status_code == 200
    assert out.headers["set-cookie"].startswith("__Host-bastion_session=; Max-Age=0")
    assert world.client.get("/v1/session", headers=_cookie(secret)).status_code == 401  # replaying the old cookie
    assert world.client.get("/v1/session", headers=_cookie(elsewhere)).status_code == 200
    events = [e for _, e in world.audit.events if e.action == "session.signed_out"]
    assert [(e.actor_type, e.actor_id, e.org_id, e.success) for e in events] == [("user", "usr1", "org1", True)]
    assert secret not in repr(world.audit.events)


async def test_sign_out_everywhere(world: World) -> None:
    here, there = await world.sign_in(), await world.sign_in()
    headers = {**_cookie(here), CSRF_HEADER: csrf_token(SEALER, here)}
    kept = world.client.post("/v1/sessions/revoke?keep_current=true", headers=headers)
    assert kept.json() == {"revoked": 1}
    assert world.client.get("/v1/session", headers=_cookie(there)).status_code == 401
    assert world.client.post("/v1/sessions/revoke", headers=headers).json() == {"revoked": 1}
    assert world.client.get("/v1/session", headers=_cookie(here)).status_code == 401


async def test_role_change_hands_out_a_new_cookie_and_csrf_token(world: World) -> None:
    secret = await world.sign_in()
    world.store.members[("usr1", "org1")] = "viewer"
    got = world.client.get("/v1/session", headers=_cookie(secret))
    assert got.json()["role"] == "viewer"
    cookie = got.headers["set-cookie"]
    assert cookie.startswith("__Host-bastion_session=bst_ses_")
    assert "HttpOnly" in cookie
    assert "Secure" in cookie
    new = cookie.split(";", 1)[0].split("=", 1)[1]
    assert new != secret
    assert got.headers[CSRF_HEADER] == csrf_token(SEALER, new) == got.json()["csrf_token"]
    assert world.client.get("/v1/session", headers=_cookie(secret)).status_code == 401  # fixation of the old id
    assert world.client.get("/v1/session", headers=_cookie(new)).status_code == 200


async def test_without_auth_secret_cookies_are_refused(world: World) -> None:
    secret = await world.sign_in()
    world.app.state.sealer = None
    assert world.client.get("/v1/session", headers=_cookie(secret)).status_code == 401


def test_principal_of_a_person_audits_as_the_person() -> None:
    person = AdminPrincipal(org_id="o", token_id="", role="owner", user_id="usr1", session_id="ses_1")
    assert person.actor == ("user", "usr1")
    assert AdminPrincipal(org_id="o", token_id="tok1", role="owner").actor == ("admin_token", "tok1")
