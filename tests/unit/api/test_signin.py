"""Sign-in through the management API: the sealed flow cookie, ``state``, one use, the session
cookie at the end and the audit trail — auth's real OAuth code against the mock provider."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from litestar import Litestar
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.testing import TestClient

from libs.crypto import apikeys
from libs.crypto.sealed import Sealer
from libs.mockoidc.app import CLIENT_ID, CLIENT_SECRET
from libs.svc.micro import MemoryBus, Service
from services.api import problems
from services.api.controllers.signin import SignInController
from services.api.sessions import CookiePolicy, session_cookie_middleware
from services.api.settings import get_settings
from services.auth import handlers
from services.auth.budget import MissBudget
from services.auth.lazy import Lazy
from services.auth.oauth import OAuth
from services.auth.sessions import Sessions
from services.auth.settings import AuthSettings, OAuthSettings
from services.auth.signin import SignIn
from tests.fakes import AuditSink, FakeSessionStore, MemoryBusClient
from tests.helpers import mock_identity_provider

SEALER = Sealer(bytes(range(32)))
FLOW = "__Host-bastion_signin"
SESSION = "__Host-bastion_session"


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    with mock_identity_provider() as url:
        yield url


class World:
    def __init__(self, mock_url: str) -> None:
        store = FakeSessionStore({("usr-demo", "org1"): "owner"})
        store.now = datetime.now(UTC)
        budget = MissBudget(global_rate=100, source_rate=100, source_burst=100, known_good_ttl_s=60, known_good_size=10)
        sessions = Sessions(store, AuthSettings(key_pepper=base64.urlsafe_b64encode(b"p" * 32).decode()), budget)
        self.sessions = sessions
        oauth = OAuth(OAuthSettings(github_client_id=CLIENT_ID, github_client_secret=CLIENT_SECRET,
                                    github_base_url=mock_url))  # fmt: skip

        async def find(provider: str, subject: str) -> tuple[str, str | None] | None:
            return ("usr-demo", "org1") if (provider, subject) == ("github-enterprise", "1001") else None

        svc = Service(handlers.SERVICE)
        signin = SignIn(oauth, sessions, find)
        handlers.register_signin(svc, Lazy(lambda: signin))
        self.audit = AuditSink()
        app = Litestar(
            route_handlers=[SignInController],
            exception_handlers={problems.Problem: problems.handle_problem, HTTPException: problems.handle_http},
            state=State({"sealer": SEALER, "cookie_policy": CookiePolicy(name=SESSION, secure=True),
                         "bus": MemoryBusClient(MemoryBus(svc)), "events": self.audit}),
        )  # fmt: skip
        self.client = TestClient(session_cookie_middleware(app), base_url="https://api.test")

    def begin(self) -> tuple[str, str]:
        """(the flow cookie, the authorize URL)."""
        started = self.client.get("/v1/signin/github", follow_redirects=False)
        assert started.status_code == 302, started.text
        flow = started.cookies.get(FLOW)
        assert flow
        assert "HttpOnly" in started.headers["set-cookie"]
        return flow, started.headers["location"]

    @staticmethod
    def approve(authorize_url: str, who: str = "demo") -> dict[str, str]:
        answer = httpx.get(f"{authorize_url}&login_hint={who}")
        assert answer.status_code == 302
        query = parse_qs(urlsplit(answer.headers["location"]).query)
        return {"code": query["code"][0], "state": query["state"][0]}

    def callback(self, flow: str | None, params: dict[str, str]) -> Any:
        self.client.cookies.clear()
        headers = {"cookie": f"{FLOW}={flow}"} if flow else {}
        return self.client.get("/v1/signin/github/callback", params=params, headers=headers, follow_redirects=False)

    def actions(self) -> list[tuple[str, str, str, bool]]:
        return [(e.action, e.actor_type, e.actor_id, e.success) for _, e in self.audit.events]


@pytest.fixture
def world(mock_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("BASTION_PUBLIC_URL", "https://api.test")
    get_settings.cache_clear()
    w = World(mock_url)
    with w.client:
        yield w
    get_settings.cache_clear()


def test_without_a_public_url_a_tls_server_starts_no_sign_in(mock_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The callback URL must not come from the Host header (a forged Host would have the
    provider send the person's code to another site): no BASTION_PUBLIC_URL, no OAuth."""
    monkeypatch.delenv("BASTION_PUBLIC_URL", raising=False)
    get_settings.cache_clear()
    w = World(mock_url)
    with w.client:
        started = w.client.get("/v1/signin/github", headers={"host": "evil.example"}, follow_redirects=False)
    get_settings.cache_clear()
    assert started.status_code == 503, started.text
    assert "location" not in started.headers


def test_sign_in_lands_in_the_organisation_with_a_fresh_session_cookie(world: World) -> None:
    flow, url = world.begin()
    assert "redirect_uri=https%3A%2F%2Fapi.test%2Fv1%2Fsignin%2Fgithub%2Fcallback" in url
    back = world.callback(flow, world.approve(url))
    assert back.status_code == 303, back.text
    assert back.headers["location"] == "/v1/session"
    cookies = back.headers.get_list("set-cookie")
    assert any(c.startswith(f"{FLOW}=; Max-Age=0") for c in cookies)  # the flow cookie is spent
    session = next(c for c in cookies if c.startswith(f"{SESSION}=bst_ses_"))
    for attribute in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/"):
        assert attribute in session
    secret = session.split(";", 1)[0].split("=", 1)[1]
    assert apikeys.parse_session_secret(secret)
    assert back.headers["x-csrf-token"]
    assert world.actions() == [("session.signed_in", "user", "usr-demo", True)]
    assert secret not in repr(world.audit.events)


def test_a_wrong_state_is_refused(world: World) -> None:
    flow, url = world.begin()
    params = world.approve(url)
    refused = world.callback(flow, {**params, "state": params["state"][:-2] + "xx"})
    assert refused.status_code == 400
    assert not any(c.startswith(f"{SESSION}=bst") for c in refused.headers.get_list("set-cookie"))
    assert world.actions() == [("session.signin_failed", "management_token", "unknown", False)]


def test_a_callback_without_its_flow_cookie_is_refused(world: World) -> None:
    _, url = world.begin()
    assert world.callback(None, world.approve(url)).status_code == 400
    other_flow, _ = world.begin()  # another browser's flow: its state is not this one
    _flow, url = world.begin()
    assert world.callback(other_flow, world.approve(url)).status_code == 400


def test_a_tampered_or_foreign_flow_cookie_is_refused(world: World) -> None:
    flow, url = world.begin()
    params = world.approve(url)
    assert world.callback(flow[:-4] + "AAAA", params).status_code == 400
    forged = Sealer(bytes(range(1, 33))).seal("signin-flow", b'["github","s","n","v","r"]', 60)
    assert world.callback(forged, {"code": params["code"], "state": "s"}).status_code == 400


def test_a_replayed_callback_is_refused(world: World) -> None:
    flow, url = world.begin()
    params = world.approve(url)
    assert world.callback(flow, params).status_code == 303
    replay = world.callback(flow, params)  # the same flow cookie and code again
    assert replay.status_code == 401
    assert [a[0] for a in world.actions()] == ["session.signed_in", "session.signin_failed"]


def test_an_unverified_email_gets_no_session(world: World) -> None:
    flow, url = world.begin()
    refused = world.callback(flow, world.approve(url, "unverified"))
    assert refused.status_code == 401
    assert "not verified" in refused.json()["detail"]


def test_an_unlinked_identity_gets_no_session(world: World) -> None:
    flow, url = world.begin()
    refused = world.callback(flow, world.approve(url, "outsider"))
    assert refused.status_code == 401
    assert "not linked" in refused.json()["detail"]


def test_without_auth_secret_sign_in_is_off() -> None:
    bare = Litestar(route_handlers=[SignInController], state=State({"sealer": None}),
                    exception_handlers={problems.Problem: problems.handle_problem})  # fmt: skip
    with TestClient(bare) as client:
        assert client.get("/v1/signin/github", follow_redirects=False).status_code == 503
