"""Audit service wiring: the durable consumer, checkpoints of the chains, retention runs."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager

import asyncpg

from libs.audit.signing import Signer, TrustedKeys
from libs.db.pool import create_pool, ready_check
from libs.svc import periodic, runner
from libs.svc.micro import Service
from libs.svc.settings import load
from services.audit import checkpoints, handlers, retention, store
from services.audit.settings import AuditSettings

log = logging.getLogger("bastion.audit")


def _guarded(name: str, work: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
    async def tick() -> None:
        try:
            await work()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("background task failed", extra={"task": name, "error_type": type(exc).__name__})

    return tick


def background(
    pool: asyncpg.Pool, signer: Signer, settings: AuditSettings
) -> list[AbstractAsyncContextManager[object]]:
    """The checkpointer and the retention runs, as resources of the service."""
    trusted = TrustedKeys({**TrustedKeys.parse(settings.audit_public_keys).keys, signer.key_id: signer.public})
    sign = _guarded("audit checkpoint", functools.partial(checkpoints.checkpoint, pool, signer, trusted))
    prune = _guarded("audit retention", functools.partial(
        retention.run, pool, signer, batch=settings.audit_retention_batch, instance=settings.instance))  # fmt: skip
    return [periodic.every(settings.audit_checkpoint_interval_s, sign),
            periodic.every(settings.audit_retention_interval_s, prune)]  # fmt: skip


async def run() -> None:
    """Connect, consume, checkpoint, prune, serve pings until SIGTERM."""
    settings = load(AuditSettings)
    if not settings.audit_signing_key:  # fail closed: unsigned chains could be truncated unseen
        raise SystemExit("BASTION_AUDIT_SIGNING_KEY_FILE is required (the Ed25519 seed signing audit checkpoints)")
    signer = Signer.from_seed(settings.audit_signing_key)
    pool = await create_pool(settings.db_dsn, max_size=settings.pool_size or 5)
    consumer = handlers.consumer(functools.partial(store.append, pool),
                                 append_batch=functools.partial(store.append_batch, pool))  # fmt: skip
    try:
        await runner.serve(Service(handlers.SERVICE), settings, consumers=[consumer], ready=ready_check(pool),
                           resources=background(pool, signer, settings))  # fmt: skip
    finally:
        await pool.close()
