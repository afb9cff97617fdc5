"""Metering service wiring."""

from __future__ import annotations

import os
from pathlib import Path

from libs.contracts.messages import UsageEvent
from libs.db.pool import create_pool, ready_check
from libs.svc import runner
from libs.svc.micro import Service
from libs.svc.settings import BaseSettings, load
from services.metering import handlers, pricing, store


async def run() -> None:
    """Connect, consume, serve pings until SIGTERM."""
    settings = load(BaseSettings)
    override = os.environ.get("BASTION_PRICES_FILE")
    prices = pricing.load(override=Path(override) if override else None)
    pool = await create_pool(settings.db_dsn, max_size=5)

    async def record(event: UsageEvent) -> bool:
        price = pricing.lookup(prices, event.model, event.provider)
        cost = 0 if price is None else pricing.cost_micros(
            price, event.prompt_tokens, event.completion_tokens, event.cached_tokens
        )  # fmt: skip
        return await store.record(pool, event, cost, price is not None)

    broker = runner.make_broker(settings, handlers.SERVICE)
    handlers.register(broker, record, runner.inbox_prefix(settings))
    try:
        await runner.serve(Service(handlers.SERVICE), settings, broker=broker, ready=ready_check(pool))
    finally:
        await pool.close()
