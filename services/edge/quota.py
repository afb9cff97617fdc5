"""Per-key limits admitted in this process from quota leases granted by metering.

A key with limits is admitted from the lease this process holds for it: one request of the
current minute and the request's worst-case cost (priced as metering prices it) come off the
lease in memory, with no bus hop. When the lease is missing, spent, expired or of another minute,
one request per key (the others wait for it) asks metering for a new block and gives back what
the old one did not use — one atomic step in Postgres, so the blocks held by every edge process
together never exceed a limit. Block sizes follow this process's recent rate for the key
(half a second of traffic, at most ``MAX_UNITS``) and metering caps them at a quarter of what is
left, so near a limit every request asks for itself and few admissions are stranded here.

Leases are valid for ``valid_ms`` (1 s) and given back by a sweep when they expire, or as soon as
they sat unused for ``IDLE_GIVE_BACK_S``, so an idle process holds nothing for long, and a
metering outage stops admissions within a second: a renewal that gets no answer is a 503, never
an admission.

Near a limit, what is left may sit on another process's lease just as this one is refused. A
refused request therefore asks once more after ``REASK_AFTER_S`` (by then an idle lease elsewhere
has been given back), and only then gets its 429: a burst across replicas is admitted up to the
limit exactly, not a few short. The re-asks of one key are coalesced: while one is refused, the
key's other requests in this process are refused from that answer for ``REASK_AFTER_S``, so a
flood above the limit costs metering a call or two per key and window, not one per request.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, TypedDict

from libs.contracts import subjects
from libs.contracts.codec import Codec
from libs.contracts.errors import Code
from libs.contracts.messages import LeaseGrant, LeaseReply, LeaseRequest, LimitDenied, Principal, UnitPrice
from libs.pricing import Price, worst_case_micros
from libs.svc.bus import Bus, Unavailable
from services.edge import errors

log = logging.getLogger("bastion.edge.quota")
_codec: Codec[LeaseReply] = Codec(LeaseReply)

MAX_UNITS = 64
IDLE_GIVE_BACK_S = 0.1
"""A lease not drawn on for this long goes back (what it holds may be all another process needs)."""
REASK_AFTER_S = 0.25
"""A refused request asks again after this long (two sweeps: other processes' idle leases are back)."""
LEASE_SECONDS_OF_TRAFFIC = 0.5
PRICE_TTL_S = 60.0
MAX_PRICES = 10_000
DEFAULT_PRICE_TTL_S = 5.0
"""How long a provider default price learned from a route prices holds here (the vault's route
cache TTL); every request's route re-checks it, so a changed price is re-held at once."""


@dataclass
class Admission:
    """One request admitted: what it holds of which lease, and the rate headers to send."""

    lease_id: str
    held_micros: int
    rpm_limit: int | None
    remaining: int | None
    reset_s: int
    priced: bool = True
    """Whether the price table knows the model (a USD-limited key's request to one it does not
    know is priced at its provider's default price once routed, or refused)."""
    default_max_tokens: int = 0
    """The completion size held for a request without ``max_tokens`` (then sent upstream)."""
    held_at_default: UnitPrice | None = None
    """The provider default price the hold was computed at (a model the table lacks, its default
    learned from an earlier route), None if the table priced it."""


@dataclass
class _Lease:
    org_id: str
    key_id: str
    grant: LeaseGrant
    units: int | None  # None: the key has no rpm limit
    micros: int
    valid_until: float
    minute_ends: float
    """When the minute its units count in ends (monotonic; from metering's ``reset_s``, so clock
    differences between hosts do not matter)."""


@dataclass
class _Key:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    lease: _Lease | None = None
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=2 * MAX_UNITS))
    asked: LimitDenied | None = None
    """Metering's last refusal of a first ask: until ``asked_until`` others wait for its re-ask."""
    asked_until: float = 0.0
    refused: LimitDenied | None = None
    """Metering's last refusal of a re-ask: answered from until ``refused_until``."""
    refused_until: float = 0.0
    refused_need: int | None = None
    """The hold of the request that re-ask was for (a budget refusal answers no smaller one);
    None when the price was not known then: such a refusal answers no other request."""


class _Refused(Exception):
    def __init__(self, denial: LimitDenied, *, final: bool = False) -> None:
        super().__init__(denial.code)
        self.denial, self.final = denial, final


class Quotas:
    """This process's leases, one per key with limits."""

    def __init__(self, bus: Bus) -> None:
        self._bus = bus
        self._keys: dict[str, _Key] = {}
        self._prices: dict[str, tuple[float, Price | None, int]] = {}
        self._defaults: dict[tuple[str, str], tuple[float, UnitPrice]] = {}
        self._strays: set[asyncio.Future[Any]] = set()
        """Renewals whose request was cancelled while metering answered (and their give-backs)."""

    def _stray_answered(self, principal: Principal, asking: asyncio.Future[Any]) -> None:
        """A renewal's answer that no request waits for any more: a grant goes straight back."""
        self._strays.discard(asking)
        if asking.cancelled() or asking.exception() is not None:
            return  # nothing granted that we know of: metering's reservation expires on its own
        reply = asking.result()
        if not isinstance(reply, LeaseGrant):
            return
        now = time.monotonic()
        units = reply.units if principal.limits.rate_limit_rpm is not None else None
        lease = _Lease(principal.org_id, principal.key_id, reply, units, reply.micros,
                       valid_until=now + reply.valid_ms / 1000, minute_ends=now + reply.reset_s)  # fmt: skip
        back = asyncio.ensure_future(self._give_back(lease))
        self._strays.add(back)
        back.add_done_callback(self._strays.discard)

    def learn_default(self, org_id: str, model: str, price: UnitPrice | None) -> None:
        """The default price ``model`` was just routed with in ``org_id`` (None: it has none)."""
        if price is None:
            self._defaults.pop((org_id, model), None)
            return
        if len(self._defaults) >= MAX_PRICES:  # model names come from clients: keep the table bounded
            self._defaults.clear()
        self._defaults[(org_id, model)] = (time.monotonic() + DEFAULT_PRICE_TTL_S, price)

    def _default(self, org_id: str, model: str) -> UnitPrice | None:
        hit = self._defaults.get((org_id, model))
        return hit[1] if hit is not None and hit[0] >= time.monotonic() else None

    def _price(self, model: str) -> tuple[Price | None, int] | None:
        """(price, default max tokens) as metering last told us, or None if not known yet."""
        hit = self._prices.get(model)
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1], hit[2]

    def _hold(
        self, principal: Principal, model: str, prompt_chars: int, max_tokens: int | None, n: int = 1
    ) -> int | None:
        if principal.limits.usage_limit_usd is None:
            return 0
        known = self._price(model)
        if known is None:
            return None
        price = known[0]
        if price is None:
            default = self._default(principal.org_id, model)
            price = None if default is None else Price(default.input, default.output, default.cached_input)
        return worst_case_micros(price, prompt_chars, max_tokens, known[1], n)

    def try_admit(
        self, principal: Principal, model: str, prompt_chars: int, max_tokens: int | None, n: int = 1
    ) -> Admission | None:
        """Admit from the lease in hand, if it covers the request (no await: atomic here)."""
        state = self._keys.get(principal.key_id)
        lease = state.lease if state else None
        now = time.monotonic()
        if lease is None or now > lease.valid_until:
            return None
        limits = principal.limits
        if limits.rate_limit_rpm is not None and (now >= lease.minute_ends or not lease.units):
            return None
        hold = self._hold(principal, model, prompt_chars, max_tokens, n)
        if hold is None or lease.micros < hold:
            return None
        if lease.units is not None:
            lease.units -= 1
        lease.micros -= hold
        remaining = None if lease.grant.remaining is None else lease.grant.remaining + (lease.units or 0)
        reset_s = max(1, round(lease.minute_ends - now))
        known = self._price(model)
        default = self._default(principal.org_id, model) if known is not None and known[0] is None else None
        if known is None:  # a key without a USD limit: no price involved
            priced, default_max = True, lease.grant.default_max_tokens
        else:
            priced, default_max = known[0] is not None or default is not None, known[1]
        return Admission(lease.grant.lease_id, hold, lease.grant.rpm_limit, remaining, reset_s, priced, default_max,
                         default)  # fmt: skip

    async def admit(
        self, request_id: str, principal: Principal, model: str, prompt_chars: int, max_tokens: int | None,
        n: int = 1,
    ) -> Admission | None:  # fmt: skip
        """Admit a request of a key with limits (None for a key without): from the lease in hand,
        else after one renewal; 429 when metering grants nothing, 503 when it cannot answer."""
        limits = principal.limits
        if limits.rate_limit_rpm is None and limits.usage_limit_usd is None:
            return None
        state = self._keys.setdefault(principal.key_id, _Key())
        state.recent.append(time.monotonic())
        admitted = self.try_admit(principal, model, prompt_chars, max_tokens, n)
        if admitted is not None:
            return admitted
        try:
            return await self._admit_renewing(request_id, principal, model, prompt_chars, max_tokens, state, n)
        except _Refused as refused:
            if refused.final:
                raise errors.limit_denied(refused.denial) from None
        await asyncio.sleep(REASK_AFTER_S)  # what other processes' idle leases held is back by then
        try:
            return await self._admit_renewing(request_id, principal, model, prompt_chars, max_tokens, state, n,
                                              reask=True)  # fmt: skip
        except _Refused as refused:
            raise errors.limit_denied(refused.denial) from None

    async def _admit_renewing(
        self, request_id: str, principal: Principal, model: str, prompt_chars: int, max_tokens: int | None,
        state: _Key, n: int, *, reask: bool = False,
    ) -> Admission:  # fmt: skip
        async with state.lock:
            now = time.monotonic()
            if (
                state.refused is not None
                and now < state.refused_until
                and self._covers(state, principal, model, prompt_chars, max_tokens, n)
            ):
                raise _Refused(state.refused, final=True)  # refused on a re-ask a moment ago
            if not reask and state.asked is not None and now < state.asked_until:
                raise _Refused(state.asked)  # refused a moment ago: wait for that re-ask's answer
            for _ in range(3):  # more than one round only when a grant taught us the model's price,
                # or its minute ended before the request could use it
                admitted = self.try_admit(principal, model, prompt_chars, max_tokens, n)
                if admitted is not None:
                    state.refused = state.asked = None
                    return admitted
                try:
                    await self._renew(request_id, principal, model, prompt_chars, max_tokens, state, n)
                except _Refused as refused:
                    until = time.monotonic() + REASK_AFTER_S
                    if reask:
                        state.refused, state.refused_until, refused.final = refused.denial, until, True
                        state.refused_need = self._hold(principal, model, prompt_chars, max_tokens, n)
                    else:
                        state.asked, state.asked_until = refused.denial, until
                    raise
            admitted = self.try_admit(principal, model, prompt_chars, max_tokens, n)
        if admitted is None:  # cannot happen with a grant that met ``need_micros``; never wave through
            raise errors.unavailable("metering")
        return admitted

    def _covers(self, state: _Key, principal: Principal, model: str, prompt_chars: int, max_tokens: int | None,
                n: int) -> bool:  # fmt: skip
        """Whether the refusal remembered for the key answers this request too: any request of a
        key out of requests; of one out of budget, a request holding at least as much."""
        assert state.refused is not None
        if state.refused.code == Code.RATE_LIMITED:
            return True
        need = self._hold(principal, model, prompt_chars, max_tokens, n)
        return need is not None and state.refused_need is not None and need >= state.refused_need

    def _want_units(self, state: _Key) -> int:
        now = time.monotonic()
        last_second = sum(1 for t in state.recent if now - t <= 1.0)
        return max(1, min(MAX_UNITS, round(last_second * LEASE_SECONDS_OF_TRAFFIC)))

    async def _renew(
        self, request_id: str, principal: Principal, model: str, prompt_chars: int, max_tokens: int | None,
        state: _Key, n: int = 1,
    ) -> None:  # fmt: skip
        limits = principal.limits
        hold = self._hold(principal, model, prompt_chars, max_tokens, n) or 0
        units = self._want_units(state)
        old, state.lease = state.lease, None  # nothing more is admitted from what goes back
        request = LeaseRequest(
            request_id=request_id, org_id=principal.org_id, key_id=principal.key_id, model=model,
            lease_id=f"lse_{secrets.token_hex(12)}", rpm_limit=limits.rate_limit_rpm,
            usd_limit_micros=None if limits.usage_limit_usd is None else round(limits.usage_limit_usd * 1_000_000),
            want_units=units, want_micros=hold * units, need_micros=hold, sent_at=_now_ms(),
            **_give_back(old),
        )  # fmt: skip
        asking = asyncio.ensure_future(self._bus.request("metering", subjects.METERING_LEASE, request, _codec))
        try:
            reply = await asyncio.shield(asking)
        except Unavailable as exc:
            raise errors.unavailable(exc.service) from None
        except asyncio.CancelledError:
            # the request was abandoned with the renewal on the bus: a grant still comes, give it back
            self._strays.add(asking)
            asking.add_done_callback(functools.partial(self._stray_answered, principal))
            raise
        if isinstance(reply, LimitDenied):
            raise _Refused(reply)
        assert isinstance(reply, LeaseGrant)
        if reply.priced:
            price: Price | None = Price(reply.price_input, reply.price_output, reply.price_cached)
        else:
            price = None
        if len(self._prices) >= MAX_PRICES:  # model names come from clients: keep the table bounded
            self._prices.clear()
        self._prices[model] = (time.monotonic() + PRICE_TTL_S, price, reply.default_max_tokens)
        units_left = reply.units if limits.rate_limit_rpm is not None else None
        now = time.monotonic()
        state.lease = _Lease(principal.org_id, principal.key_id, reply, units_left, reply.micros,
                             valid_until=now + reply.valid_ms / 1000, minute_ends=now + reply.reset_s)  # fmt: skip

    async def sweep(self) -> None:
        """Give back leases past their validity (called periodically; never raises)."""
        try:
            await self._sweep()
        except Exception as exc:  # noqa: BLE001 - a failed sweep is retried next tick
            log.error("lease sweep failed", extra={"error_type": type(exc).__name__})

    async def _sweep(self) -> None:
        now = time.monotonic()
        for key_id, state in list(self._keys.items()):
            lease = state.lease
            if lease is None:
                if not state.recent or now - state.recent[-1] > 60:
                    del self._keys[key_id]  # forget idle keys
                continue
            idle = not state.recent or now - state.recent[-1] >= IDLE_GIVE_BACK_S
            if (now <= lease.valid_until and not idle) or state.lock.locked():
                continue
            async with state.lock:
                if state.lease is lease:
                    state.lease = None
                    await self._give_back(lease)

    async def close(self) -> None:
        """Give back every lease (shutdown)."""
        for state in self._keys.values():
            if state.lease is not None:
                lease, state.lease = state.lease, None
                await self._give_back(lease)

    async def _give_back(self, lease: _Lease) -> None:
        back = _give_back(lease)
        if not back["return_units"] and not back["return_micros"]:
            return
        request = LeaseRequest(request_id=lease.grant.lease_id, org_id=lease.org_id, key_id=lease.key_id, model="",
                               lease_id=lease.grant.lease_id, sent_at=_now_ms(), **back)  # fmt: skip
        try:
            await self._bus.request("metering", subjects.METERING_LEASE, request, _codec)
        except Unavailable:
            # metering will release the held micro-dollars when the lease's reservation expires
            log.warning("lease give-back failed", extra={"lease_id": lease.grant.lease_id})


class _Back(TypedDict):
    return_lease_id: str
    return_window: int
    return_units: int
    return_micros: int


def _give_back(lease: _Lease | None) -> _Back:
    """The ``return_*`` fields for what ``lease`` did not use (units only within its minute)."""
    if lease is None:
        return {"return_lease_id": "", "return_window": 0, "return_units": 0, "return_micros": 0}
    units = lease.units or 0
    if time.monotonic() >= lease.minute_ends:
        units = 0  # counted in a minute that is over
    return {"return_lease_id": lease.grant.lease_id, "return_window": lease.grant.window,
            "return_units": max(0, units), "return_micros": max(0, lease.micros)}  # fmt: skip


def _now_ms() -> int:
    return int(time.time() * 1000)
