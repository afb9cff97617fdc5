"""Guardrails service wiring."""

from __future__ import annotations

from libs.svc import runner
from libs.svc.micro import Service
from libs.svc.settings import BaseSettings, load
from services.guardrails import handlers


async def run() -> None:
    """Serve until SIGTERM."""
    settings = load(BaseSettings)
    svc = Service(handlers.SERVICE)
    handlers.register(svc)
    await runner.serve(svc, settings)
