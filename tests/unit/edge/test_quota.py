"""Quota leases at the edge: admissions from the lease in hand, one renewal at a time, give-backs,
refusals and outages (metering replaced by a scripted fake; the SQL side is in
tests/integration/test_lease_sql.py)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from libs.contracts.errors import Code
from libs.contracts.messages import KeyLimits, LeaseGrant, LeaseRequest, LimitDenied, Principal, UnitPrice
from libs.svc.bus import Unavailable
from services.edge import quota
from services.edge.errors import ApiError
from services.edge.quota import Quotas

RPM = Principal(org_id="o", project_id="p", key_id="k", limits=KeyLimits(rate_limit_rpm=100))
BUDGET = Principal(org_id="o", project_id="p", key_id="kb", limits=KeyLimits(usage_limit_usd=1.0))


class FakeMetering:
    """Answers lease requests like metering would, from a counter; records what it was sent."""

    def __init__(self, units: int = 5, micros: int = 10_000, priced: bool = True) -> None:
        self.sent: list[LeaseRequest] = []
        self.units, self.micros, self.priced = units, micros, priced
        self.fail: Exception | None = None
        self.deny: LimitDenied | None = None
        self.delay = 0.0

    async def request(self, service: str, subject: str, message: Any, codec: Any, **_: Any) -> Any:
        assert subject == "gw.metering.lease.v1"
        self.sent.append(message)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        if self.deny is not None:
            return self.deny
        need = message.need_micros
        return LeaseGrant(lease_id=message.lease_id, window=int(time.time() // 60 * 60), units=self.units,
                          micros=max(need, min(self.micros, message.want_micros)), rpm_limit=message.rpm_limit,
                          remaining=50, reset_s=30, priced=self.priced, price_input=1_000_000,
                          price_output=2_000_000, price_cached=500_000, default_max_tokens=100)  # fmt: skip


def grants(fake: FakeMetering) -> list[LeaseRequest]:
    return [m for m in fake.sent if m.want_units or m.need_micros]


async def test_requests_are_admitted_from_the_lease_without_a_hop() -> None:
    fake = FakeMetering(units=5)
    quotas = Quotas(fake)  # type: ignore[arg-type]
    admitted = [await quotas.admit(f"r{i}", RPM, "m", 10, 5) for i in range(5)]
    assert len(fake.sent) == 1  # one grant of 5 served all 5
    assert [a.remaining for a in admitted if a] == [54, 53, 52, 51, 50]  # metering's count + units left here
    await quotas.admit("r6", RPM, "m", 10, 5)
    assert len(fake.sent) == 2
    assert fake.sent[1].return_lease_id == fake.sent[0].lease_id  # the spent lease goes back with the renewal
    assert fake.sent[1].return_units == 0


async def test_concurrent_requests_share_one_renewal() -> None:
    fake = FakeMetering(units=64)
    fake.delay = 0.02
    quotas = Quotas(fake)  # type: ignore[arg-type]
    results = await asyncio.gather(*(quotas.admit(f"r{i}", RPM, "m", 10, 5) for i in range(30)))
    assert all(results)
    assert len(fake.sent) == 1


async def test_budget_holds_are_priced_by_metering_and_reported() -> None:
    fake = FakeMetering(micros=10_000)
    quotas = Quotas(fake)  # type: ignore[arg-type]
    first = await quotas.admit("r1", BUDGET, "m", 100, 10)
    # the first grant taught the price: a second round sized the hold, (100/2+16) x 1 + 10 x 2 = 86 µ$
    assert first is not None
    assert first.held_micros == 86
    assert grants(fake)[-1].need_micros == 86
    second = await quotas.admit("r2", BUDGET, "m", 100, 10)
    assert second is not None
    assert second.held_micros == 86
    # at this (low) rate a block is one request's hold; the spent one went back with the renewal
    assert fake.sent[-1].return_lease_id == first.lease_id
    assert fake.sent[-1].return_micros == 0


async def test_a_refusal_is_a_429_and_an_outage_a_503_never_an_admission() -> None:
    fake = FakeMetering()
    fake.deny = LimitDenied(code=Code.RATE_LIMITED, reason="Rate limit reached: 100 requests per minute.",
                            retry_after_s=12, rpm_limit=100, remaining=0, reset_s=12)  # fmt: skip
    quotas = Quotas(fake)  # type: ignore[arg-type]
    with pytest.raises(ApiError) as err:
        await quotas.admit("r1", RPM, "m", 10, 5)
    assert err.value.status == 429
    assert err.value.headers["retry-after"] == "12"
    fake.deny, fake.fail = None, Unavailable("metering", "timeout")
    with pytest.raises(ApiError) as err:
        await Quotas(fake).admit("r2", RPM, "m", 10, 5)  # type: ignore[arg-type]
    assert err.value.status == 503


async def test_a_refused_request_asks_once_more_and_takes_what_came_back_meanwhile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeMetering(units=1)
    fake.deny = LimitDenied(code=Code.RATE_LIMITED, reason="Rate limit reached.", rpm_limit=100, remaining=0,
                            reset_s=12)  # fmt: skip
    monkeypatch.setattr(quota, "REASK_AFTER_S", 0.05)
    quotas = Quotas(fake)  # type: ignore[arg-type]

    async def units_come_back() -> None:  # another process gives back its idle lease
        await asyncio.sleep(0.02)
        fake.deny = None

    _, admitted = await asyncio.gather(units_come_back(), quotas.admit("r1", RPM, "m", 10, 5))
    assert admitted is not None
    assert len(grants(fake)) == 2  # refused, then granted on the re-ask


async def test_refusals_of_a_flood_cost_metering_a_few_calls_not_one_per_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeMetering()
    fake.deny = LimitDenied(code=Code.RATE_LIMITED, reason="Rate limit reached.", rpm_limit=100, remaining=0,
                            reset_s=12)  # fmt: skip
    monkeypatch.setattr(quota, "REASK_AFTER_S", 0.05)
    quotas = Quotas(fake)  # type: ignore[arg-type]
    first = await asyncio.gather(*(quotas.admit(f"r{i}", RPM, "m", 10, 5) for i in range(50)),
                                 return_exceptions=True)  # fmt: skip
    assert all(isinstance(r, ApiError) and r.status == 429 for r in first)
    calls = len(fake.sent)
    later = await asyncio.gather(*(quotas.admit(f"s{i}", RPM, "m", 10, 5) for i in range(50)),
                                 return_exceptions=True)  # fmt: skip
    assert all(isinstance(r, ApiError) and r.status == 429 for r in later)
    assert len(fake.sent) == calls  # answered from the refusal a moment ago
    assert calls == 2  # one first ask and one re-ask for the whole burst


async def test_an_idle_lease_goes_back_before_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeMetering(units=10)
    quotas = Quotas(fake)  # type: ignore[arg-type]
    await quotas.admit("r1", RPM, "m", 10, 5)
    await quotas.sweep()
    assert len(fake.sent) == 1  # just used: kept
    later = time.monotonic() + quota.IDLE_GIVE_BACK_S + 0.01  # idle, still valid
    monkeypatch.setattr(quota.time, "monotonic", lambda: later)
    await quotas.sweep()
    back = fake.sent[-1]
    assert (back.want_units, back.return_units) == (0, 9)


async def test_expired_leases_are_given_back_and_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeMetering(units=10)
    quotas = Quotas(fake)  # type: ignore[arg-type]
    await quotas.admit("r1", RPM, "m", 10, 5)
    later = time.monotonic() + 2
    monkeypatch.setattr(quota.time, "monotonic", lambda: later)
    assert quotas.try_admit(RPM, "m", 10, 5) is None  # past its validity
    await quotas.sweep()
    back = fake.sent[-1]
    assert (back.want_units, back.need_micros) == (0, 0)
    assert back.return_units == 9
    assert back.return_lease_id == fake.sent[0].lease_id
    assert back.key_id == "k"


async def test_keys_without_limits_need_no_lease() -> None:
    fake = FakeMetering()
    quotas = Quotas(fake)  # type: ignore[arg-type]
    free = Principal(org_id="o", project_id="p", key_id="free")
    assert await quotas.admit("r", free, "m", 10, 5) is None
    assert fake.sent == []


async def test_nothing_is_admitted_from_a_lease_while_it_is_being_given_back() -> None:
    fake = FakeMetering(micros=10_000)
    quotas = Quotas(fake)  # type: ignore[arg-type]
    await quotas.admit("r1", BUDGET, "m", 100, 10)  # learns the price; holds 86 µ$
    state = quotas._keys["kb"]
    assert state.lease is not None
    state.lease.micros = 500  # still enough for another small request
    fake.delay = 0.05
    big = asyncio.create_task(quotas.admit("r2", BUDGET, "m", 100, 1000))  # holds 2066 µ$: renews
    await asyncio.sleep(0.01)
    assert quotas.try_admit(BUDGET, "m", 100, 10) is None  # the old block is on its way back
    assert await big is not None
    assert fake.sent[-1].return_micros == 500


async def test_a_budget_hold_counts_n_answers_and_says_whether_the_model_is_priced() -> None:
    fake = FakeMetering(micros=1_000_000)
    quotas = Quotas(fake)  # type: ignore[arg-type]
    one = await quotas.admit("r1", BUDGET, "m", 10, 50)
    three = await quotas.admit("r2", BUDGET, "m", 10, 50, 3)
    assert one is not None
    assert three is not None
    assert three.held_micros - one.held_micros == 2 * 50 * 2  # two more answers of 50 tokens at 2 µ$ each
    assert (one.priced, one.default_max_tokens) == (True, 100)
    unpriced = Quotas(FakeMetering(priced=False))  # type: ignore[arg-type]
    admitted = await unpriced.admit("r3", BUDGET, "local-llm", 10, None)
    assert admitted is not None
    assert (admitted.priced, admitted.held_micros, admitted.default_max_tokens) == (False, 0, 100)


async def test_a_learned_provider_default_price_holds_from_the_lease() -> None:
    fake = FakeMetering(micros=1_000_000, priced=False)
    quotas = Quotas(fake)  # type: ignore[arg-type]
    first = await quotas.admit("r1", BUDGET, "local-llm", 10, 50)
    assert first is not None
    assert (first.priced, first.held_micros, first.held_at_default) == (False, 0, None)
    default = UnitPrice(input=1_000_000, output=2_000_000, cached_input=1_000_000)
    quotas.learn_default("o", "local-llm", default)
    second = await quotas.admit("r2", BUDGET, "local-llm", 10, 50)
    assert second is not None
    assert (second.priced, second.held_at_default) == (True, default)
    assert second.held_micros == 21 + 100  # 21 estimated prompt tokens at 1 µ$ + 50 at 2 µ$
    other_org = Principal(org_id="o2", project_id="p", key_id="kc", limits=KeyLimits(usage_limit_usd=1.0))
    third = await quotas.admit("r3", other_org, "local-llm", 10, 50)
    assert third is not None
    assert third.priced is False  # a default is one tenant's
    quotas.learn_default("o", "local-llm", None)
    fourth = await quotas.admit("r4", BUDGET, "local-llm", 10, 50)
    assert fourth is not None
    assert fourth.priced is False


async def test_a_budget_refusal_answers_no_smaller_request(monkeypatch: pytest.MonkeyPatch) -> None:
    class Budget(FakeMetering):
        async def request(self, service: str, subject: str, message: Any, codec: Any, **_: Any) -> Any:
            self.deny = None if message.need_micros <= 1_000 else LimitDenied(
                code=Code.LIMIT_EXCEEDED, reason="This API key has reached its usage limit.")  # fmt: skip
            return await super().request(service, subject, message, codec)

    monkeypatch.setattr(quota, "REASK_AFTER_S", 0.01)
    fake = Budget()
    quotas = Quotas(fake)  # type: ignore[arg-type]
    await quotas.admit("r0", BUDGET, "m", 10, 5)  # learns the model's price
    with pytest.raises(ApiError) as big:
        await quotas.admit("r1", BUDGET, "m", 10, 1000, 3)
    assert big.value.status == 429
    small = await quotas.admit("r2", BUDGET, "m", 10, 5)  # at once: the refusal was for a bigger hold
    assert small is not None


async def test_a_budget_refusal_before_the_price_is_known_answers_no_later_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Refused before any grant taught the model's price, the hold was unknown: the memo must not
    stand for "covers every request" (it once did, as a hold of 0, for REASK_AFTER_S)."""

    class Budget(FakeMetering):
        async def request(self, service: str, subject: str, message: Any, codec: Any, **_: Any) -> Any:
            if len(self.sent) < 2:  # the first ask and its re-ask are refused, then budget is back
                self.sent.append(message)
                return LimitDenied(code=Code.LIMIT_EXCEEDED, reason="This API key has reached its usage limit.")
            return await super().request(service, subject, message, codec)

    monkeypatch.setattr(quota, "REASK_AFTER_S", 0.01)
    fake = Budget()
    quotas = Quotas(fake)  # type: ignore[arg-type]
    with pytest.raises(ApiError):
        await quotas.admit("r1", BUDGET, "m", 10, 5)
    other = Principal(org_id="o", project_id="p", key_id="kb2", limits=KeyLimits(usage_limit_usd=1.0))
    assert await quotas.admit("r2", other, "m", 10, 5) is not None  # another key's grant teaches the price
    asked = len(fake.sent)
    assert await quotas.admit("r3", BUDGET, "m", 10, 5) is not None  # asks metering, not refused from memory
    assert len(fake.sent) > asked


async def test_a_request_cancelled_while_its_lease_is_being_granted_strands_nothing() -> None:
    """The client left while the renewal was on the bus: the grant metering made still comes back
    here and is given back (or used), not left counted against the key until its minute ends."""
    fake = FakeMetering(units=5)
    fake.delay = 0.05
    quotas = Quotas(fake)  # type: ignore[arg-type]
    task = asyncio.create_task(quotas.admit("r1", RPM, "m", 10, 5))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.1)  # the grant arrives after the cancellation
    granted = fake.sent[0]
    state = quotas._keys[RPM.key_id]
    held_here = state.lease is not None and state.lease.grant.lease_id == granted.lease_id
    given_back = any(m.return_lease_id == granted.lease_id and m.return_units == 5 for m in fake.sent[1:])
    assert held_here or given_back
