"""Passkey ceremonies in auth (py_webauthn) with a software authenticator (tests/softauthn.py)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from libs.contracts.messages import (
    Denied,
    PasskeyChallenge,
    PasskeyList,
    PasskeyOptions,
    PasskeySignIn,
    RegisterPasskey,
    SessionPrincipal,
    SignInRefused,
)
from services.auth.budget import MissBudget
from services.auth.passkeys import Passkeys
from services.auth.sessions import Sessions
from services.auth.settings import AuthSettings, PasskeySettings
from tests.fakes import FakePasskeyStore, FakeSessionStore
from tests.softauthn import SoftAuthenticator, challenge_of

ORIGIN = "https://console.example.test"
SETTINGS = PasskeySettings(passkey_rp_id="console.example.test", passkey_origins=[ORIGIN])


class World:
    def __init__(self) -> None:
        sessions_store = FakeSessionStore({("usr1", "org1"): "owner", ("usr2", "org1"): "viewer"})
        sessions_store.now = datetime.now(UTC)
        budget = MissBudget(global_rate=100, source_rate=100, source_burst=100, known_good_ttl_s=60, known_good_size=10)
        sessions = Sessions(sessions_store, AuthSettings(key_pepper=base64.urlsafe_b64encode(b"p" * 32).decode()),
                            budget)  # fmt: skip
        self.store = FakePasskeyStore({"usr1": "org1", "usr2": "org1"})
        sessions_store.factor_stores = [self.store]
        self.session_store = sessions_store
        self.sessions = sessions
        self.passkeys = Passkeys(self.store, sessions, SETTINGS)
        self._secrets: dict[str, str] = {}

    async def session(self, user: str = "usr1", *, mfa: bool = True) -> str:
        """A session of ``user`` (``mfa``: a second factor shown just now)."""
        started = await self.sessions.start(user, "org1", "passkey" if mfa else "oauth:github", mfa=mfa)
        assert isinstance(started, SessionPrincipal)
        return started.renewed

    async def secret(self, user: str) -> str:
        if user not in self._secrets:
            self._secrets[user] = await self.session(user)
        return self._secrets[user]

    async def options(self, user: str = "", secret: str = "") -> PasskeyChallenge:
        got = await self.passkeys.options(PasskeyOptions(request_id="r", user_id=user, user_name=user,
                                                         secret=secret or (await self.secret(user) if user else "")))  # fmt: skip
        assert isinstance(got, PasskeyChallenge), got
        return got

    async def register(self, device: SoftAuthenticator, user: str = "usr1", secret: str = "",
                       **kw: str) -> PasskeyList | Denied:  # fmt: skip
        secret = secret or await self.secret(user)
        opts = await self.options(user, secret)
        return await self.passkeys.register(RegisterPasskey(request_id="r", user_id=user, challenge=opts.challenge,
                                                            credential_json=device.create(opts.options_json, **kw),
                                                            name="laptop", secret=secret))  # fmt: skip

    async def sign_in(self, device: SoftAuthenticator, **kw: object) -> SessionPrincipal | SignInRefused:
        opts = await self.options()
        return await self.passkeys.sign_in(PasskeySignIn(request_id="r", challenge=opts.challenge,
                                                         credential_json=device.get(opts.options_json, **kw)))  # type: ignore[arg-type]  # fmt: skip


@pytest.fixture
def world() -> World:
    return World()


async def test_options_require_user_verification_and_discoverable_credentials(world: World) -> None:
    reg = json.loads((await world.options("usr1")).options_json)
    assert reg["authenticatorSelection"]["userVerification"] == "required"
    assert reg["authenticatorSelection"]["residentKey"] == "required"
    assert reg["rp"]["id"] == "console.example.test"
    login = json.loads((await world.options()).options_json)
    assert login["userVerification"] == "required"
    assert login.get("allowCredentials", []) == []  # discoverable: the authenticator names the person


async def test_register_then_sign_in_opens_a_session(world: World) -> None:
    device = SoftAuthenticator(ORIGIN)
    registered = await world.register(device)
    assert isinstance(registered, PasskeyList)
    assert [p.name for p in registered.passkeys] == ["laptop"]
    signed_in = await world.sign_in(device)
    assert isinstance(signed_in, SessionPrincipal)
    assert (signed_in.user_id, signed_in.org_id, signed_in.role) == ("usr1", "org1", "owner")
    assert signed_in.renewed


async def test_several_passkeys_per_person_and_removal(world: World) -> None:
    laptop, phone = SoftAuthenticator(ORIGIN), SoftAuthenticator(ORIGIN)
    await world.register(laptop)
    listed = await world.register(phone)
    assert isinstance(listed, PasskeyList)
    assert len(listed.passkeys) == 2
    assert isinstance(await world.passkeys.remove("usr2", listed.passkeys[0].id, await world.secret("usr2")),
                      Denied)  # not theirs  # fmt: skip
    left = await world.passkeys.remove("usr1", listed.passkeys[0].id, await world.secret("usr1"))
    assert isinstance(left, PasskeyList)
    assert len(left.passkeys) == 1
    assert isinstance(await world.sign_in(laptop), SignInRefused)  # removed
    assert isinstance(await world.sign_in(phone), SessionPrincipal)


async def test_without_user_verification_nothing_passes(world: World) -> None:
    assert isinstance(await world.register(SoftAuthenticator(ORIGIN, uv=False)), Denied)
    device = SoftAuthenticator(ORIGIN)
    await world.register(device)
    device.uv = False
    assert isinstance(await world.sign_in(device), SignInRefused)


async def test_another_origin_is_refused(world: World) -> None:
    device = SoftAuthenticator(ORIGIN)
    assert isinstance(await world.register(device, origin="https://evil.example"), Denied)
    await world.register(device)
    assert isinstance(await world.sign_in(device, origin="https://evil.example"), SignInRefused)


async def test_a_cloned_authenticator_is_caught_by_its_sign_counter(world: World) -> None:
    device = SoftAuthenticator(ORIGIN)
    await world.register(device)
    assert isinstance(await world.sign_in(device), SessionPrincipal)  # counter 1
    assert isinstance(await world.sign_in(device), SessionPrincipal)  # counter 2
    device.credentials[0].count = 0  # a clone still at an old counter value
    refused = await world.sign_in(device)  # presents 1 <= 2
    assert isinstance(refused, SignInRefused)
    assert refused.user_id == "usr1"


async def test_a_replayed_assertion_or_challenge_is_refused(world: World) -> None:
    device = SoftAuthenticator(ORIGIN, counter_step=0)  # counter stays 0: only the challenge stops a replay
    await world.register(device)
    opts = await world.options()
    assertion = device.get(opts.options_json)
    first = await world.passkeys.sign_in(
        PasskeySignIn(request_id="r", challenge=opts.challenge, credential_json=assertion)
    )
    assert isinstance(first, SessionPrincipal)
    again = await world.passkeys.sign_in(
        PasskeySignIn(request_id="r", challenge=opts.challenge, credential_json=assertion)
    )
    assert isinstance(again, SignInRefused)


async def test_an_assertion_for_another_challenge_is_refused(world: World) -> None:
    device = SoftAuthenticator(ORIGIN)
    await world.register(device)
    a, b = await world.options(), await world.options()
    assertion = device.get(a.options_json)
    assert challenge_of(a.options_json) != b.challenge
    assert isinstance(await world.passkeys.sign_in(PasskeySignIn(request_id="r", challenge=b.challenge,
                                                                 credential_json=assertion)), SignInRefused)  # fmt: skip


async def test_a_user_handle_of_someone_else_is_refused(world: World) -> None:
    device = SoftAuthenticator(ORIGIN)
    await world.register(device)
    assert isinstance(await world.sign_in(device, user_handle=b"usr2"), SignInRefused)


async def test_garbage_is_refused(world: World) -> None:
    opts = await world.options()
    assert isinstance(await world.passkeys.sign_in(PasskeySignIn(request_id="r", challenge=opts.challenge,
                                                                 credential_json="{nope")), SignInRefused)  # fmt: skip
    assert isinstance(await world.passkeys.sign_in(PasskeySignIn(request_id="r", challenge="", credential_json="{}")),
                      SignInRefused)  # fmt: skip


async def test_adding_or_removing_a_passkey_needs_a_recent_second_factor_once_there_is_one(world: World) -> None:
    """The person has a passkey: a first-factor-only session (a stolen cookie, a hijacked GitHub
    account) cannot start or finish registering another, nor remove one; a session that signed
    in with the passkey can."""
    device = SoftAuthenticator(ORIGIN)
    listed = await world.register(device, secret=await world.session(mfa=False))  # the first: a fresh sign-in
    assert isinstance(listed, PasskeyList)
    stolen = await world.session(mfa=False)
    refused = await world.passkeys.options(PasskeyOptions(request_id="r", user_id="usr1", secret=stolen))
    assert isinstance(refused, Denied)
    assert refused.code == "auth.second_factor_required"
    opts = await world.options("usr1", await world.session())  # options from a good session, finished by the thief
    attacker = SoftAuthenticator(ORIGIN)
    finished = await world.passkeys.register(RegisterPasskey(request_id="r", user_id="usr1", challenge=opts.challenge,
                                                             credential_json=attacker.create(opts.options_json),
                                                             secret=stolen))  # fmt: skip
    assert isinstance(finished, Denied)
    assert isinstance(await world.passkeys.remove("usr1", listed.passkeys[0].id, stolen), Denied)
    assert isinstance(await world.register(SoftAuthenticator(ORIGIN), secret=await world.session()),
                      PasskeyList)  # fmt: skip
    assert isinstance(await world.passkeys.remove("usr1", listed.passkeys[0].id, await world.session()), PasskeyList)


async def test_a_new_passkey_marks_no_session_mfa(world: World) -> None:
    secret = await world.session(mfa=False)
    assert isinstance(await world.register(SoftAuthenticator(ORIGIN), secret=secret), PasskeyList)
    after = await world.sessions.verify(secret)
    assert isinstance(after, SessionPrincipal)
    assert not after.mfa  # only signing in with it (its first use) shows the factor
