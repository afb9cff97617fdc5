"""Guardrails service wiring."""

from __future__ import annotations

import functools

from nats.aio.client import Client

from libs.contracts.messages import AuditEvent
from libs.db.pool import create_pool, ready_check
from libs.svc import runner
from libs.svc.events import EventPublisher, spool_for
from libs.svc.micro import Service
from libs.svc.settings import BaseSettings, load
from services.guardrails import handlers, store
from services.guardrails.tenant import PolicyCache


async def run() -> None:
    """Serve until SIGTERM."""
    settings = load(BaseSettings)
    pool = await create_pool(settings.db_dsn, max_size=settings.pool_size or 5)
    publisher: list[EventPublisher] = []

    def audit(event: AuditEvent) -> None:
        publisher[0].audit(event, source="guardrails")

    async def on_connect(nc: Client) -> runner.Cleanup:
        events = EventPublisher(nc, concurrency=4, spool=spool_for(settings, "guardrails"))
        events.start()
        publisher.append(events)
        return events.close

    svc = Service(handlers.SERVICE)
    policies = PolicyCache(functools.partial(store.load_rules, pool))
    handlers.register(svc, policies, functools.partial(store.record, pool), audit)
    try:
        await runner.serve(svc, settings, ready=ready_check(pool), on_connect=on_connect)
    finally:
        await pool.close()
