"""``python -m services.vault`` serves; ``python -m services.vault rotate-master`` rewraps data keys."""

from __future__ import annotations

import asyncio
import sys

import libs.svc.natsimport  # noqa: F401  # first: nats-py without aiohttp
from libs.svc import runner
from services.vault.app import run


def rotate_master() -> int:
    """Rewrap every tenant data key under the newest master key, printing progress."""
    from libs.db.pool import create_pool
    from services.vault.keyring_watch import KeyringHolder
    from services.vault.rotation import rewrap_all
    from services.vault.settings import get_settings

    async def go() -> tuple[int, int]:
        pool = await create_pool(get_settings().db_dsn, max_size=2)
        try:
            return await rewrap_all(pool, KeyringHolder().ring, lambda line: print(line, flush=True))
        finally:
            await pool.close()

    done, total = asyncio.run(go())
    print(f"done: {done} rewrapped, {total - done} already under the primary key, {total} tenants", flush=True)
    return 0


if len(sys.argv) > 1 and sys.argv[1] == "rotate-master":
    raise SystemExit(rotate_master())
runner.main("vault", run)
