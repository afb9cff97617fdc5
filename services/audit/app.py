"""Audit service wiring."""

from __future__ import annotations

import functools

from libs.db.pool import create_pool, ready_check
from libs.svc import runner
from libs.svc.micro import Service
from libs.svc.settings import BaseSettings, load
from services.audit import handlers, store


async def run() -> None:
    """Connect, consume, serve pings until SIGTERM."""
    settings = load(BaseSettings)
    pool = await create_pool(settings.db_dsn, max_size=settings.pool_size or 5)
    consumer = handlers.consumer(functools.partial(store.append, pool),
                                 append_batch=functools.partial(store.append_batch, pool))  # fmt: skip
    try:
        await runner.serve(Service(handlers.SERVICE), settings, consumers=[consumer], ready=ready_check(pool))
    finally:
        await pool.close()
