"""Checks sent ahead of auth's answer (issue 11): only for a key seen verified before, only in
the scope it had then, and never instead of auth's answer."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from libs.contracts import subjects
from libs.contracts.errors import Code
from libs.contracts.messages import Denied, GuardCheck, GuardVerdict, KeyLimits, Principal, Resolve, Resolved
from libs.svc.bus import Unavailable
from services.edge.ahead import KeyHints
from services.edge.errors import ApiError
from services.edge.gateway import Call, Gateway
from services.edge.quota import Quotas

KEY = "sk-proj_prj1_" + "A" * 48
ALICE = Principal(org_id="org1", project_id="prj1", key_id="key1")


class FakeBus:
    """Auth answers only when released; guardrails and vault answer at once. Every request is
    recorded with whether auth had answered by then."""

    def __init__(self) -> None:
        self.auth_replies: list[Any] = []
        self.release = asyncio.Event()
        self.sent: list[tuple[str, Any, bool]] = []
        self.auth_answered = False

    async def request(self, service: str, subject: str, message: Any, codec: Any, **_: Any) -> Any:
        self.sent.append((subject, message, self.auth_answered))
        if subject == subjects.AUTH_VERIFY:
            await self.release.wait()
            self.auth_answered = True
            reply = self.auth_replies.pop(0)
            if isinstance(reply, Exception):
                raise reply
            return reply
        if subject == subjects.GUARD_CHECK:
            return GuardVerdict(action="allow")
        if subject == subjects.VAULT_RESOLVE:
            return Resolved(
                provider_id="pv1", provider="p", adapter="openai", base_url="http://u", upstream_model="gpt-4o"
            )
        raise AssertionError(subject)

    def of(self, subject: str) -> list[tuple[Any, bool]]:
        return [(m, answered) for s, m, answered in self.sent if s == subject]


class NoEvents:
    def audit(self, *_: Any, **__: Any) -> None: ...

    def usage(self, *_: Any) -> None: ...


def gateway(bus: FakeBus) -> Gateway:
    return Gateway(bus, NoEvents(), quotas=Quotas(bus))  # type: ignore[arg-type]


async def one_request(gw: Gateway, bus: FakeBus, reply: Any) -> Any:
    """One request's auth and checks; auth answers ``reply`` once the checks had their chance to go out."""
    bus.auth_replies.append(reply)
    bus.release.clear()
    bus.auth_answered = False
    call = Call(request_id="req", client_ip="10.0.0.1", user_agent="", action="chat")
    call.model = "gpt-4o"
    auth = gw.begin_auth(call, KEY)

    async def answer_later() -> None:
        for _ in range(5):
            await asyncio.sleep(0)
        bus.release.set()

    releaser = asyncio.ensure_future(answer_later())
    try:
        if auth.hint is None:
            await auth.principal()
        return await gw.prepare(call, auth, ["hello"], 16)
    finally:
        await releaser


async def test_an_unknown_key_is_verified_before_any_check_is_sent() -> None:
    bus = FakeBus()
    admitted = await one_request(gateway(bus), bus, ALICE)
    assert admitted.principal == ALICE
    assert [answered for _, answered in bus.of(subjects.GUARD_CHECK)] == [True]
    assert [answered for _, answered in bus.of(subjects.VAULT_RESOLVE)] == [True]


async def test_a_key_seen_verified_has_its_checks_sent_while_auth_verifies_it_again() -> None:
    bus = FakeBus()
    gw = gateway(bus)
    await one_request(gw, bus, ALICE)
    bus.sent.clear()
    admitted = await one_request(gw, bus, ALICE)
    assert admitted.principal == ALICE
    assert len(bus.of(subjects.AUTH_VERIFY)) == 1  # auth is asked every time
    guard = bus.of(subjects.GUARD_CHECK)
    assert [answered for _, answered in guard] == [False]  # sent before auth answered
    assert isinstance(guard[0][0], GuardCheck)
    assert guard[0][0].tenant_id == "org1"
    assert [answered for _, answered in bus.of(subjects.VAULT_RESOLVE)] == [False]


async def test_a_key_refused_now_is_refused_whatever_its_checks_said_and_loses_its_hint() -> None:
    bus = FakeBus()
    gw = gateway(bus)
    await one_request(gw, bus, ALICE)
    with pytest.raises(ApiError) as refused:
        await one_request(gw, bus, Denied(code=Code.KEY_REVOKED, reason="API key has been revoked"))
    assert refused.value.status == 401
    assert len(gw.hints) == 0
    bus.sent.clear()  # the next request of that key waits for auth again
    with pytest.raises(ApiError):
        await one_request(gw, bus, Denied(code=Code.KEY_REVOKED, reason="API key has been revoked"))
    assert bus.of(subjects.GUARD_CHECK) == []


async def test_auth_unavailable_is_a_503_even_for_a_key_with_a_hint() -> None:
    bus = FakeBus()
    gw = gateway(bus)
    await one_request(gw, bus, ALICE)
    with pytest.raises(ApiError) as refused:
        await one_request(gw, bus, Unavailable("auth", "timeout"))
    assert refused.value.status == 503


async def test_checks_made_for_another_scope_are_sent_again_for_the_verified_one() -> None:
    bus = FakeBus()
    gw = gateway(bus)
    await one_request(gw, bus, ALICE)
    moved = Principal(org_id="org2", project_id="prj9", key_id="key1")
    bus.sent.clear()
    admitted = await one_request(gw, bus, moved)
    assert admitted.principal == moved
    guards = [m for m, _ in bus.of(subjects.GUARD_CHECK)]
    resolves = [m for m, _ in bus.of(subjects.VAULT_RESOLVE)]
    assert [g.tenant_id for g in guards] == ["org1", "org2"]
    assert isinstance(resolves[-1], Resolve)
    assert resolves[-1].tenant_id == "org2"


async def test_no_check_goes_ahead_when_the_hint_itself_refuses_the_address_or_model() -> None:
    bus = FakeBus()
    gw = gateway(bus)
    narrow = Principal(org_id="org1", project_id="prj1", key_id="key1", limits=KeyLimits(allowed_models=["other-*"]))
    gw.hints.put(gw.hints.digest(KEY), narrow)
    await one_request(gw, bus, ALICE)  # auth now allows every model: checks go only after its answer
    assert [answered for _, answered in bus.of(subjects.GUARD_CHECK)] == [True]
    bus.sent.clear()
    gw.hints.put(gw.hints.digest(KEY), msgspec.structs.replace(ALICE, limits=KeyLimits(allowed_ips=["192.0.2.0/24"])))
    await one_request(gw, bus, ALICE)
    assert [answered for _, answered in bus.of(subjects.GUARD_CHECK)] == [True]


def test_hints_hold_no_key_expire_and_stay_bounded() -> None:
    hints = KeyHints(max_size=2, ttl_s=0.0)
    digest = hints.digest(KEY)
    assert KEY.encode() not in digest
    assert len(digest) == 16
    assert KeyHints().digest(KEY) != digest  # keyed per process
    hints.put(digest, ALICE)
    assert hints.get(digest) is None  # expired
    bounded = KeyHints(max_size=2)
    for i in range(5):
        bounded.put(bounded.digest(f"{KEY}{i}"), ALICE)
    assert len(bounded) <= 2
