"""TOTP and recovery codes in auth (pyotp), on fake stores: enrolment, confirmation by the first
code, one use per code, recovery codes once each, the seed sealed, the session renewed as mfa."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

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


def _age(world: World, secret: str, *, created_s: float = 0, mfa_s: float | None = None) -> None:
    """Make the session ``secret`` look signed in ``created_s`` ago (and its factor shown ``mfa_s`` ago)."""
    import msgspec

    from libs.crypto import apikeys

    store = world.session_store
    lookup = apikeys.lookup_digest(PEPPER, secret)
    rec = store.rows[lookup]
    now = datetime.now(UTC)
    store.rows[lookup] = msgspec.structs.replace(
        rec, created_at=now - timedelta(seconds=created_s),
        mfa_at=None if mfa_s is None else now - timedelta(seconds=mfa_s))  # fmt: skip


async def test_a_first_factor_is_enrolled_only_from_a_fresh_sign_in(world: World) -> None:
    """Nobody has a second factor yet: a session signed in 11 minutes ago (a stolen cookie kept
    for later) may not set one up; one signed in just now may."""
    old = await world.session()
    _age(world, old, created_s=11 * 60)
    refused = await world.totp.enroll(EnrollTotp(request_id="r", user_id="usr1", secret=old))
    assert isinstance(refused, Denied)
    assert refused.code == "auth.second_factor_required"
    assert isinstance(await world.totp.enroll(EnrollTotp(request_id="r", user_id="usr1", secret=await world.session())),
                      TotpSeed)  # fmt: skip


async def test_a_pending_seed_belongs_to_the_session_that_asked_for_it(world: World) -> None:
    """Another session (say, a stolen cookie) can neither replace the person's pending seed with
    its own nor confirm it; the person's own session confirms it."""
    seed = await world.enroll()
    other = await world.session()
    replaced = await world.totp.enroll(EnrollTotp(request_id="r", user_id="usr1", secret=other))
    assert isinstance(replaced, Denied)
    assert replaced.code == "conflict"
    assert isinstance(await world.step_up(other, world.code(seed)), Denied)
    assert isinstance(await world.step_up(world.enrolling, world.code(seed)), SteppedUp)


async def test_with_a_factor_changing_factors_needs_a_recent_step_up(world: World) -> None:
    """TOTP is on: a first-factor-only session is refused, so is one whose factor is 16 minutes
    old; one that showed it 1 minute ago gets past the check (and hears TOTP is on already)."""
    seed = await world.enroll()
    assert isinstance(await world.step_up(world.enrolling, world.code(seed)), SteppedUp)
    for mfa_s in (None, 16 * 60):
        secret = await world.session()
        _age(world, secret, mfa_s=mfa_s)
        refused = await world.totp.enroll(EnrollTotp(request_id="r", user_id="usr1", secret=secret))
        assert isinstance(refused, Denied)
        assert refused.code == "auth.second_factor_required", mfa_s
    recent = await world.session()
    _age(world, recent, mfa_s=60)
    on = await world.totp.enroll(EnrollTotp(request_id="r", user_id="usr1", secret=recent))
    assert isinstance(on, Denied)
    assert on.code == "conflict"


async def test_wrong_codes_pause_the_person_for_longer_each_time(world: World) -> None:
    """Five wrong codes (TOTP or recovery) in a row: the fifth answer says the checks are paused,
    then even the right code is refused until the pause ends; the next pause lasts twice as long."""
    world.store.clock = lambda: datetime.fromtimestamp(world.now, UTC)
    seed = await world.enroll()
    assert isinstance(await world.step_up(world.enrolling, world.code(seed)), SteppedUp)
    wrong = next(f"{n:06d}" for n in range(10) if f"{n:06d}" not in {world.code(seed, d) for d in (-30, 0, 30)})
    secret = await world.session()
    for pause in (300, 600):
        world.now += 60
        answers = [await world.step_up(secret, wrong) for _ in range(4)]
        answers.append(await world.step_up(secret, recovery="abcde-fghij"))
        assert all(isinstance(a, Denied) for a in answers)
        assert [a.code for a in answers if isinstance(a, Denied)][-1] == "auth.factor_locked"
        world.now += pause - 31  # still paused, with a code of a step never used
        paused = await world.step_up(secret, world.code(seed))
        assert isinstance(paused, Denied)
        assert paused.code == "auth.throttled"
        world.now += 31
    assert isinstance(await world.step_up(secret, world.code(seed)), SteppedUp)  # the pause is over
