"""Metering service wiring."""

from __future__ import annotations

import functools

from libs.db.pool import create_pool
from libs.svc import runner
from libs.svc.settings import BaseSettings, load
from services.metering import handlers, store


async def run() -> None:
    """Connect, consume, serve pings until SIGTERM."""
    settings = load(BaseSettings)
    pool = await create_pool(settings.db_dsn, max_size=5)
    broker = runner.make_broker(settings, handlers.SERVICE)
    handlers.register(broker, functools.partial(store.record, pool))

    async def ready() -> bool:
        try:
            return bool(await pool.fetchval("SELECT 1"))
        except Exception:  # noqa: BLE001 - readiness is a yes/no answer
            return False

    try:
        await runner.serve(handlers.SERVICE, settings, broker, ready=ready)
    finally:
        await pool.close()
