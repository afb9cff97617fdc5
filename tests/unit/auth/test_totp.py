"""TOTP and recovery codes in auth (pyotp), on fake stores: enrolment, confirmation by the first
code, one use per code, recovery codes once each, the seed sealed, the session renewed as mfa."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pyotp
import pytest

from libs.contracts.messages import Denied, EnrollTotp, SessionPrincipal, SteppedUp, StepUp, TotpSeed
from services.auth.budget import MissBudget
from services.auth.sessions import Sessions
from services.auth.settings import AuthSettings
from services.auth.totp import Totp
from tests.fakes import FakeSessionStore, FakeTotpStore

PEPPER = b"p" * 32
T = 1_800_000_000.0


class World:
    def __init__(self) -> None:
        store = FakeSessionStore({("usr1", "org1"): "admin"})
        store.now = datetime.now(UTC)
        self.session_store = store
        budget = MissBudget(global_rate=100, source_rate=100, source_burst=100, known_good_ttl_s=60, known_good_size=10)
        self.sessions = Sessions(store, AuthSettings(key_pepper=base64.urlsafe_b64encode(PEPPER).decode()), budget)
        self.store = FakeTotpStore()
        store.factor_stores = [self.store]
        self.now = T
        self.totp = Totp(self.store, self.sessions, PEPPER, clock=lambda: self.now)
        self.enrolling = ""  # the session that started the enrolment (only it may confirm)

    async def session(self) -> str:
        started = await self.sessions.start("usr1", "org1", "oauth:github")
        assert isinstance(started, SessionPrincipal)
        return started.renewed

    async def enroll(self, secret: str = "") -> str:
        self.enrolling = secret or await self.session()
        seed = await self.totp.enroll(EnrollTotp(request_id="r", user_id="usr1", account="ada@example.com",
                                                 secret=self.enrolling))  # fmt: skip
        assert isinstance(seed, TotpSeed), seed
        assert seed.uri.startswith("otpauth://totp/")
        return seed.seed

    def code(self, seed: str, offset: float = 0) -> str:
        return pyotp.TOTP(seed).at(self.now + offset)

    async def step_up(self, secret: str, code: str = "", recovery: str = "") -> SteppedUp | Denied:
        return await self.totp.step_up(StepUp(request_id="r", secret=secret, code=code, recovery_code=recovery))


@pytest.fixture
def world() -> World:
    return World()


async def test_first_code_confirms_gives_recovery_codes_and_renews_the_session(world: World) -> None:
    secret = await world.session()
    seed = await world.enroll(secret)
    assert seed.encode() not in world.store.sealed_seed  # sealed, not stored in clear
    done = await world.step_up(secret, world.code(seed))
    assert isinstance(done, SteppedUp)
    assert len(done.recovery_codes) == 10
    assert done.session.mfa
    assert done.session.renewed
    assert done.session.renewed != secret
    assert not isinstance(await world.sessions.verify(secret), SessionPrincipal)  # the old id is gone
    again = await world.sessions.verify(done.session.renewed)
    assert isinstance(again, SessionPrincipal)
    assert again.mfa
    assert all(c not in repr(done) for c in done.recovery_codes)


async def test_a_code_works_once_and_a_wrong_one_never(world: World) -> None:
    seed = await world.enroll()
    first = await world.step_up(world.enrolling, world.code(seed))
    assert isinstance(first, SteppedUp)
    assert isinstance(await world.step_up(await world.session(), world.code(seed)), Denied)  # replayed
    assert isinstance(await world.step_up(await world.session(), "000000" if world.code(seed, 30) != "000000" else "1"),
                      Denied)  # fmt: skip
    world.now += 30
    assert isinstance(await world.step_up(await world.session(), world.code(seed)), SteppedUp)  # the next step
    world.now += 300
    assert isinstance(await world.step_up(await world.session(), world.code(seed, -300)), Denied)  # too old


async def test_recovery_codes_work_once_each(world: World) -> None:
    seed = await world.enroll()
    done = await world.step_up(world.enrolling, world.code(seed))
    assert isinstance(done, SteppedUp)
    code = done.recovery_codes[0]
    assert isinstance(await world.step_up(await world.session(), recovery=code.upper()), SteppedUp)
    assert isinstance(await world.step_up(await world.session(), recovery=code), Denied)
    assert isinstance(await world.step_up(await world.session(), recovery="abcde-fghij"), Denied)


async def test_recovery_codes_before_confirmation_do_nothing_and_enrolment_cannot_be_redone(world: World) -> None:
    seed = await world.enroll()
    assert isinstance(await world.step_up(world.enrolling, recovery="abcde-12345"), Denied)
    done = await world.step_up(world.enrolling, world.code(seed))
    assert isinstance(done, SteppedUp)
    again = await world.totp.enroll(EnrollTotp(request_id="r", user_id="usr1", secret=done.session.renewed))
    assert isinstance(again, Denied)
    assert again.code == "conflict"  # on already (the session did show the factor just now)


async def test_no_step_up_without_a_live_session_or_without_totp(world: World) -> None:
    assert isinstance(await world.step_up(await world.session(), "123456"), Denied)  # no TOTP set up
    seed = await world.enroll()
    assert isinstance(await world.step_up("bst_ses_forged", world.code(seed)), Denied)
