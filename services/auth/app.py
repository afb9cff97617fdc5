"""Auth service wiring."""

from __future__ import annotations

import functools

from libs.crypto.apikeys import KeyHasher
from libs.db.pool import create_pool
from libs.svc import runner
from services.auth import handlers, store
from services.auth.settings import get_settings
from services.auth.verifier import Verifier


async def run() -> None:
    """Connect to Postgres and NATS and serve until SIGTERM."""
    settings = get_settings()
    pool = await create_pool(settings.db_dsn, max_size=settings.pool_size)
    hasher = KeyHasher()
    verifier = Verifier(
        settings,
        find_key=functools.partial(store.find_key, pool),
        find_token=functools.partial(store.find_token, pool),
        check_hash=hasher.verify_async,
    )
    broker = runner.make_broker(settings, handlers.SERVICE)
    handlers.register(broker, verifier)

    async def ready() -> bool:
        try:
            return bool(await pool.fetchval("SELECT 1"))
        except Exception:  # noqa: BLE001 - readiness is a yes/no answer
            return False

    try:
        await runner.serve(handlers.SERVICE, settings, broker, ready=ready)
    finally:
        await pool.close()
