"""Service main loop: connect, serve, answer pings, drain on SIGTERM.

Signals set an event; resources are entered on an ``AsyncExitStack`` so they close in reverse
order (endpoints drain before the connection closes); a FastStream broker is stopped with a
timeout because a broker whose server vanished can hang (STACK-NOTES).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any

from faststream.nats import NatsBroker
from faststream.security import SASLPlaintext
from nats.aio.client import Client

from libs.contracts import subjects
from libs.contracts.messages import MetricsText, Ping, Pong
from libs.svc import logs, metrics
from libs.svc.bus import close_quietly, connect, inbox_prefix
from libs.svc.micro import Service
from libs.svc.settings import BaseSettings, load
from libs.telemetry import setup as telemetry

log = logging.getLogger("bastion.runner")

ReadyCheck = Callable[[], Awaitable[bool]]
Cleanup = Callable[[], Awaitable[None]]


def make_broker(settings: BaseSettings, service: str) -> NatsBroker:
    """A FastStream broker (durable consumers) that reconnects quickly and forever, logging off."""
    extra: dict[str, Any] = {}
    if settings.nats_user:
        extra = {
            "security": SASLPlaintext(username=settings.nats_user, password=settings.nats_password),
            "inbox_prefix": inbox_prefix(settings),
        }
    return NatsBroker(
        settings.nats_url,
        logger=None,
        name=f"bastion-{service}-consumer",
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.25,  # type: ignore[arg-type]  # nats-py accepts float seconds
        connect_timeout=2,
        **extra,
    )


def instance_id(settings: BaseSettings, service: str) -> str:
    """A replica's name: configured, or host-pid-random."""
    return settings.instance or f"{service}-{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"


def register_ping(svc: Service, instance: str, ready: ReadyCheck | None) -> None:
    """Answer ``gw.<service>.ping.v1`` (and ``.metrics.v1``) in the service's queue group."""

    @svc.endpoint(subjects.ping(svc.name), Ping)
    async def ping(_: Ping) -> Pong:
        ok = True if ready is None else await ready()
        return Pong(service=svc.name, instance=instance, ready=ok)

    @svc.endpoint(subjects.metrics(svc.name), Ping)
    async def counters(_: Ping) -> MetricsText:
        return MetricsText(service=svc.name, instance=instance, text=metrics.render())


async def serve(
    svc: Service,
    settings: BaseSettings,
    *,
    broker: NatsBroker | None = None,
    resources: list[AbstractAsyncContextManager[object]] | None = None,
    ready: ReadyCheck | None = None,
    on_connect: Callable[[Client], Awaitable[Cleanup | None]] | None = None,
) -> None:
    """Run ``svc`` (and ``broker``'s consumers) until SIGTERM/SIGINT; drain, then close."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    instance = instance_id(settings, svc.name)
    register_ping(svc, instance, ready)
    async with AsyncExitStack() as stack:
        for resource in resources or []:
            await stack.enter_async_context(resource)
        nc = await connect(settings, f"bastion-{svc.name}")
        stack.push_async_callback(close_quietly, nc)
        if on_connect is not None:
            cleanup = await on_connect(nc)
            if cleanup is not None:
                stack.push_async_callback(cleanup)  # runs before the connection closes
        await svc.start(nc)
        stack.push_async_callback(svc.drain)
        if broker is not None:
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
    base = load(BaseSettings)
    logs.setup(service, base.log_level)
    telemetry.setup(service, base.trace_file, settings=base)
    try:
        import uvloop

        uvloop.run(build())
    except ImportError:  # pragma: no cover - Windows
        asyncio.run(build())
