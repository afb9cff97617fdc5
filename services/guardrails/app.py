"""Guardrails service wiring."""

from __future__ import annotations

from libs.svc import runner
from libs.svc.settings import BaseSettings, load
from services.guardrails import handlers


async def run() -> None:
    """Serve until SIGTERM."""
    settings = load(BaseSettings)
    broker = runner.make_broker(settings, handlers.SERVICE)
    handlers.register(broker)
    await runner.serve(handlers.SERVICE, settings, broker)
