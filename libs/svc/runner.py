"""Service main loop: connect, serve, answer pings, drain on SIGTERM.

Signals set an event; resources are entered on an ``AsyncExitStack`` so they close in reverse
order; the broker is stopped with a timeout because a broker whose server vanished can hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any

from faststream.nats import NatsBroker

from libs.contracts import subjects
from libs.contracts.messages import Ping, Pong
from libs.svc import logs
from libs.svc.rpc import endpoint
from libs.svc.settings import BaseSettings
from libs.telemetry import setup as telemetry

log = logging.getLogger("bastion.runner")

ReadyCheck = Callable[[], Awaitable[bool]]


def make_broker(settings: BaseSettings, service: str) -> NatsBroker:
    """A broker that reconnects quickly and forever, with FastStream's per-message logging off."""
    auth: dict[str, str] = {}
    if settings.nats_user:
        auth = {"user": settings.nats_user, "password": settings.nats_password}
    return NatsBroker(
        settings.nats_url,
        logger=None,
        name=f"bastion-{service}",
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.25,  # type: ignore[arg-type]  # nats-py accepts float seconds
        connect_timeout=2,
        **auth,  # type: ignore[arg-type]
    )


def instance_id(settings: BaseSettings, service: str) -> str:
    """A replica's name: configured, or host-pid-random."""
    return settings.instance or f"{service}-{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"


def register_ping(broker: NatsBroker, service: str, instance: str, ready: ReadyCheck | None) -> None:
    """Answer ``gw.<service>.ping.v1`` in the service's queue group."""

    @endpoint(broker, subjects.ping(service), queue=service, request_type=Ping, max_workers=4)
    async def ping(_: Ping) -> Pong:
        ok = True if ready is None else await ready()
        return Pong(service=service, instance=instance, ready=ok)


async def serve(
    service: str,
    settings: BaseSettings,
    broker: NatsBroker,
    *,
    resources: list[AbstractAsyncContextManager[object]] | None = None,
    ready: ReadyCheck | None = None,
) -> None:
    """Run ``broker`` until SIGTERM/SIGINT, with ``resources`` opened first and closed last."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    instance = instance_id(settings, service)
    register_ping(broker, service, instance, ready)
    async with AsyncExitStack() as stack:
        for resource in resources or []:
            await stack.enter_async_context(resource)
        await broker.start()
        stack.push_async_callback(_stop_broker, broker)
        log.info("service started", extra={"instance": instance})
        await stop.wait()
        log.info("service draining")
    telemetry.shutdown()


async def _stop_broker(broker: NatsBroker) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(broker.stop(), timeout=5)


def main(service: str, build: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Process entry point: logging, tracing, uvloop, then ``build()`` (which calls :func:`serve`)."""
    base = _base_settings()
    logs.setup(service, base.log_level)
    telemetry.setup(service, base.trace_file)
    try:
        import uvloop

        uvloop.run(build())
    except ImportError:  # pragma: no cover - Windows
        asyncio.run(build())


def _base_settings() -> BaseSettings:
    from libs.svc.settings import load

    return load(BaseSettings)


@contextlib.asynccontextmanager
async def nothing() -> AsyncIterator[None]:
    """An empty resource (placeholder for services without one)."""
    yield
