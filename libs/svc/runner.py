"""Service main loop: connect, serve, answer pings, drain on SIGTERM.

Signals set an event; resources are entered on an ``AsyncExitStack`` so they close in reverse
order (durable consumers settle their batch in hand, then endpoints drain, then the connection
closes); each step is bounded in time, since a server that vanished can leave it hanging.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import socket
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any

from nats.aio.client import Client

from libs.contracts import subjects
from libs.contracts.messages import MetricsText, Ping, Pong
from libs.svc import logs, metrics
from libs.svc.bus import close_quietly, connect
from libs.svc.consumers import DurableConsumer
from libs.svc.micro import Service
from libs.svc.scrape import answer_scrapes
from libs.svc.settings import BaseSettings, load
from libs.telemetry import setup as telemetry

log = logging.getLogger("bastion.runner")

ReadyCheck = Callable[[], Awaitable[bool]]
Cleanup = Callable[[], Awaitable[None]]


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
    consumers: Sequence[DurableConsumer] = (),
    resources: list[AbstractAsyncContextManager[object]] | None = None,
    ready: ReadyCheck | None = None,
    on_connect: Callable[[Client], Awaitable[Cleanup | None]] | None = None,
) -> None:
    """Run ``svc`` (and its durable ``consumers``, on the same connection) until SIGTERM/SIGINT; drain, then close."""
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
        await answer_scrapes(nc, svc.name, instance)  # every replica answers (no queue group)
        for consumer in consumers:
            await consumer.start(nc)
            stack.push_async_callback(consumer.stop)  # before the endpoints drain
        log.info("service started", extra={"instance": instance})
        await stop.wait()
        log.info("service draining")
    telemetry.shutdown()


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
