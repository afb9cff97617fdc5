"""Metering service wiring: the durable usage consumer, the limit check, reservation expiry."""

from __future__ import annotations

import logging
import os
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import asyncpg

from libs.contracts import subjects
from libs.contracts.messages import LeaseGrant, LeaseRequest, LimitCheck, LimitDenied, LimitOk, UsageEvent
from libs.db.pool import create_pool, ready_check
from libs.pricing import DEFAULT_MAX_TOKENS
from libs.svc import periodic, runner
from libs.svc.metrics import Bounded, Counter
from libs.svc.micro import Service
from libs.svc.settings import BaseSettings, load
from services.metering import handlers, limits, pricing, store

log = logging.getLogger("bastion.metering")
LEASES = Counter("bastion_metering_leases_total", "Quota lease requests from the edges, by outcome (granted, or"
                 " the refusal's code: metering.rate_limited,"
                 " metering.limit_exceeded, metering.model_unpriced)", ("outcome",))  # fmt: skip
_refusals = Bounded(16)


def reservation_sweeper(pool: asyncpg.Pool, every_s: float = 10.0) -> AbstractAsyncContextManager[None]:
    """Release reservations of requests that never produced a usage event."""

    async def tick() -> None:
        try:
            await pool.fetchval("SELECT metering.release_expired()")
        except (OSError, asyncpg.PostgresError) as exc:
            log.warning("reservation sweep failed", extra={"error_type": type(exc).__name__})

    return periodic.every(every_s, tick)


async def run() -> None:
    """Connect, consume, answer limit checks, serve pings until SIGTERM."""
    settings = load(BaseSettings)
    override = os.environ.get("BASTION_PRICES_FILE")
    prices = pricing.load(override=Path(override) if override else None)
    default_max = int(os.environ.get("BASTION_DEFAULT_MAX_TOKENS", DEFAULT_MAX_TOKENS))
    pool = await create_pool(settings.db_dsn, max_size=settings.pool_size or 10)

    def priced(event: UsageEvent) -> store.Priced:
        price = pricing.price_of(prices, event.model, event.default_price, event.provider)
        cost = 0 if price is None else pricing.cost_micros(
            price, event.prompt_tokens, event.completion_tokens, event.cached_tokens
        )  # fmt: skip
        return event, cost, price is not None

    async def record(event: UsageEvent) -> bool:
        return await store.record(pool, *priced(event))

    async def record_batch(events: list[UsageEvent]) -> list[bool]:
        return await store.record_batch(pool, [priced(event) for event in events])

    svc = Service(handlers.SERVICE)

    @svc.endpoint(subjects.METERING_LIMIT_CHECK, LimitCheck)
    async def limit_check(req: LimitCheck) -> LimitOk | LimitDenied:
        price = pricing.price_of(prices, req.model, req.default_price)
        if price is None and req.usd_limit_micros is not None:
            return limits.unpriced(req)
        reserve = limits.worst_case_micros(price, req, default_max) if req.usd_limit_micros is not None else 0
        return await limits.check(pool, req, reserve)

    @svc.endpoint(subjects.METERING_LEASE, LeaseRequest)
    async def lease(req: LeaseRequest) -> LeaseGrant | LimitDenied:
        price = pricing.lookup(prices, req.model)
        reply = await limits.grant(pool, req, price, default_max)
        LEASES.child("granted" if isinstance(reply, LeaseGrant) else _refusals(reply.code))[0] += 1
        return reply

    consumer = handlers.consumer(record, record_batch=record_batch)
    try:
        await runner.serve(svc, settings, consumers=[consumer], ready=ready_check(pool),
                           resources=[reservation_sweeper(pool)])  # fmt: skip
    finally:
        await pool.close()
