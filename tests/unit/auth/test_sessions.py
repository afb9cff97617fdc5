"""People's sessions in auth, on a fake store (the SQL is exercised by tests/integration/test_sessions.py)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from libs.contracts import subjects
from libs.contracts.codec import Codec, encode
from libs.contracts.errors import Code
from libs.contracts.messages import (
    Denied,
    ListSessions,
    RevokeSessions,
    RevokeSessionsReply,
    SessionListReply,
    SessionPrincipal,
    VerifySession,
    VerifySessionReply,
)
from libs.crypto import apikeys
from libs.svc.micro import MemoryBus, Service
from services.auth import handlers
from services.auth.budget import MissBudget
from services.auth.sessions import Sessions
from services.auth.settings import AuthSettings
from tests.fakes import FakeSessionStore

PEPPER = base64.urlsafe_b64encode(b"p" * 32).decode()
T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, store: FakeSessionStore) -> None:
        self.store = store
        self.now = T0
        store.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        self.store.now = self.now


def make(idle: int = 3600, lifetime: int = 43200, **members: str) -> tuple[Sessions, FakeSessionStore, Clock]:
    store = FakeSessionStore({(u, "org1"): role for u, role in (members or {"usr1": "owner"}).items()})
    clock = Clock(store)
    settings = AuthSettings(key_pepper=PEPPER, session_idle_s=idle, session_lifetime_s=lifetime)
    budget = MissBudget(global_rate=1000, source_rate=1000, source_burst=1000, known_good_ttl_s=60,
                        known_good_size=100)  # fmt: skip
    return Sessions(store, settings, budget, clock=clock), store, clock


async def _start(sessions: Sessions, user: str = "usr1") -> SessionPrincipal:
    started = await sessions.start(user, "org1", "oauth:github", "203.0.113.9", "UA")
    assert isinstance(started, SessionPrincipal)
    return started


async def test_start_issues_a_fresh_random_secret_stored_only_as_its_digest() -> None:
    sessions, store, _ = make()
    a, b = await _start(sessions), await _start(sessions)
    assert apikeys.parse_session_secret(a.renewed)
    assert a.renewed != b.renewed
    assert a.session_id != b.session_id
    assert a.renewed not in repr(a)
    for lookup, rec in store.rows.items():
        assert lookup not in (a.renewed, b.renewed)
        assert len(lookup) == 64
        assert a.renewed not in repr(rec)
    verified = await sessions.verify(a.renewed)
    assert isinstance(verified, SessionPrincipal)
    assert (verified.user_id, verified.org_id, verified.role, verified.renewed) == ("usr1", "org1", "owner", "")


async def test_no_session_for_someone_not_a_member() -> None:
    sessions, _, _ = make()
    assert isinstance(await sessions.start("usr-stranger", "org1", "oauth:github"), Denied)


@pytest.mark.parametrize("presented", ["", "bst_ses_short", "x" * 57, apikeys.generate_admin_token(),
                                        apikeys.generate_session_secret()])  # fmt: skip
async def test_forged_or_unknown_secret_is_refused(presented: str) -> None:
    sessions, _, _ = make()
    await _start(sessions)
    reply = await sessions.verify(presented)
    assert isinstance(reply, Denied)
    assert reply.code == Code.SESSION_INVALID


async def test_idle_timeout_and_activity_keeps_it_alive() -> None:
    sessions, store, clock = make(idle=600)
    s = await _start(sessions)
    for _ in range(5):  # used every 5 minutes: alive for 25 minutes, past one idle period
        clock.advance(300)
        assert isinstance(await sessions.verify(s.renewed), SessionPrincipal)
    assert store.touches == 5
    clock.advance(600)
    assert isinstance(await sessions.verify(s.renewed), Denied)


async def test_touch_is_rate_limited() -> None:
    sessions, store, clock = make()
    s = await _start(sessions)
    for _ in range(10):
        clock.advance(5)
        await sessions.verify(s.renewed)
    assert store.touches == 0  # 50 s < one touch interval
    clock.advance(15)
    await sessions.verify(s.renewed)
    assert store.touches == 1


async def test_absolute_lifetime_ends_even_an_active_session() -> None:
    sessions, _, clock = make(idle=600, lifetime=1800)
    s = await _start(sessions)
    assert s.expires_at == int((T0 + timedelta(seconds=1800)).timestamp())
    for _ in range(5):
        clock.advance(299)
        assert isinstance(await sessions.verify(s.renewed), SessionPrincipal)
    clock.advance(305)
    assert isinstance(await sessions.verify(s.renewed), Denied)


async def _count(sessions: Sessions, cmd: RevokeSessions) -> int:
    done = await sessions.revoke(cmd)
    assert not isinstance(done, Denied), done
    return done.count


async def test_revoke_one_and_all_of_a_person() -> None:
    sessions, _, _ = make(usr1="owner", usr2="admin")
    a, b, c = await _start(sessions), await _start(sessions), await _start(sessions)
    other = await _start(sessions, "usr2")
    # another person cannot revoke my session by its id
    assert await _count(sessions, RevokeSessions(request_id="r", user_id="usr2", session_id=a.session_id)) == 0
    assert isinstance(await sessions.verify(a.renewed), SessionPrincipal)
    assert await _count(sessions, RevokeSessions(request_id="r", user_id="usr1", session_id=a.session_id)) == 1
    assert isinstance(await sessions.verify(a.renewed), Denied)
    listed = await sessions.list("usr1")
    assert {x.id for x in listed.sessions} == {b.session_id, c.session_id}
    assert listed.sessions[0].method == "oauth:github"
    assert listed.sessions[0].ip == "203.0.113.9"
    # everywhere but here
    assert (await _count(sessions, RevokeSessions(request_id="r", user_id="usr1", keep=c.session_id,
                                                  secret=c.renewed))) == 1  # fmt: skip
    assert isinstance(await sessions.verify(b.renewed), Denied)
    assert isinstance(await sessions.verify(c.renewed), SessionPrincipal)
    assert await _count(sessions, RevokeSessions(request_id="r", user_id="usr1")) == 1
    assert isinstance(await sessions.verify(c.renewed), Denied)
    assert isinstance(await sessions.verify(other.renewed), SessionPrincipal)  # usr2 untouched


async def test_role_change_renews_the_secret_and_the_old_one_stops_working() -> None:
    sessions, store, _ = make(usr1="admin")
    s = await _start(sessions)
    store.members[("usr1", "org1")] = "owner"  # promoted by another owner
    renewed = await sessions.verify(s.renewed)
    assert isinstance(renewed, SessionPrincipal)
    assert renewed.role == "owner"
    assert apikeys.parse_session_secret(renewed.renewed)
    assert renewed.renewed != s.renewed
    assert renewed.session_id == s.session_id  # the same session, a new id in the cookie
    assert isinstance(await sessions.verify(s.renewed), Denied)
    again = await sessions.verify(renewed.renewed)
    assert isinstance(again, SessionPrincipal)
    assert again.renewed == ""
    assert again.role == "owner"
    store.members[("usr1", "org1")] = "viewer"  # demoted: renewed again, now as viewer
    demoted = await sessions.verify(renewed.renewed)
    assert isinstance(demoted, SessionPrincipal)
    assert demoted.role == "viewer"
    assert demoted.renewed


async def test_removed_member_is_refused() -> None:
    sessions, store, _ = make()
    s = await _start(sessions)
    del store.members[("usr1", "org1")]
    assert isinstance(await sessions.verify(s.renewed), Denied)


async def test_unknown_secrets_are_budgeted_per_source() -> None:
    store = FakeSessionStore({("usr1", "org1"): "owner"})
    clock = Clock(store)
    budget = MissBudget(global_rate=1000, source_rate=0.001, source_burst=3, known_good_ttl_s=60, known_good_size=10)
    sessions = Sessions(store, AuthSettings(key_pepper=PEPPER), budget, clock=clock)
    good = await _start(sessions)
    # its first use pays one of the 3; then it is known-good and exempt
    assert isinstance(await sessions.verify(good.renewed, "198.51.100.1"), SessionPrincipal)
    codes = [(await sessions.verify(apikeys.generate_session_secret(), "198.51.100.1")).code for _ in range(5)]  # type: ignore[union-attr]
    assert codes[:2] == [Code.SESSION_INVALID] * 2
    assert set(codes[2:]) == {Code.AUTH_THROTTLED}
    assert isinstance(await sessions.verify(good.renewed, "198.51.100.1"), SessionPrincipal)


async def test_endpoints_over_the_bus() -> None:
    sessions, _, _ = make()
    s = await _start(sessions)
    svc = Service(handlers.SERVICE)
    handlers.register_sessions(svc, sessions)
    bus = MemoryBus(svc)
    reply = await bus.request(subjects.AUTH_SESSION_VERIFY, encode(VerifySession(request_id="r", secret=s.renewed)))
    assert isinstance(Codec(VerifySessionReply).decode(reply.data), SessionPrincipal)
    reply = await bus.request(subjects.AUTH_SESSION_LIST, encode(ListSessions(request_id="r", user_id="usr1")))
    assert [x.id for x in Codec(SessionListReply).decode(reply.data).sessions] == [s.session_id]  # type: ignore[union-attr]
    reply = await bus.request(subjects.AUTH_SESSION_REVOKE, encode(RevokeSessions(request_id="r", user_id="usr1")))
    assert Codec(RevokeSessionsReply).decode(reply.data).count == 1  # type: ignore[union-attr]
    reply = await bus.request(subjects.AUTH_SESSION_VERIFY, encode(VerifySession(request_id="r", secret=s.renewed)))
    assert isinstance(Codec(VerifySessionReply).decode(reply.data), Denied)


class _HasFactor:
    def has_factor(self, user_id: str) -> bool:
        return True


async def test_everywhere_but_here_needs_the_second_factor_here_when_the_person_has_one() -> None:
    """A stolen first-factor cookie must not sign the real person out everywhere and stay."""
    sessions, store, _ = make(usr1="owner")
    store.factor_stores = [_HasFactor()]
    mine = await sessions.start("usr1", "org1", "passkey", mfa=True)
    stolen = await _start(sessions)
    assert isinstance(mine, SessionPrincipal)
    refused = await sessions.revoke(RevokeSessions(request_id="r", user_id="usr1", keep=stolen.session_id,
                                                   secret=stolen.renewed))  # fmt: skip
    assert isinstance(refused, Denied)
    assert refused.code == Code.SECOND_FACTOR_REQUIRED
    # nor by naming a session to keep without holding it
    assert isinstance(await sessions.revoke(RevokeSessions(request_id="r", user_id="usr1", keep=mine.session_id,
                                                           secret=stolen.renewed)), Denied)  # fmt: skip
    assert isinstance(await sessions.verify(mine.renewed), SessionPrincipal)
    assert await _count(sessions, RevokeSessions(request_id="r", user_id="usr1", keep=mine.session_id,
                                                 secret=mine.renewed)) == 1  # fmt: skip
    assert isinstance(await sessions.verify(stolen.renewed), Denied)
    # signing out everywhere (this session too) stays open to any session: it gives nothing away
    assert await _count(sessions, RevokeSessions(request_id="r", user_id="usr1")) == 1
