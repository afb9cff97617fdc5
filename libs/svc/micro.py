"""Request/reply endpoints on raw nats-py, with Bastion's error convention.

Why not FastStream here: measured on this box, a FastStream subscriber answered 32 concurrent
callers at ~0.9–1.6k replies/s and ~2.5 ms CPU per message once ``max_workers`` was set (needed,
or I/O-bound handlers run one at a time), against ~12k/s for a raw nats-py responder. The
request path crosses three such hops, so endpoints use nats-py directly: one task per message,
bounded by a semaphore. The durable JetStream consumers left FastStream too, for the same reason
(``libs/svc/pull.py``; figures in docs/performance.md), so the project no longer depends on it.

Every request gets a reply: undecodable input → ``Fault(bad_request)``; an exception in the
handler → ``Fault(internal)``, logged by type only (the message could quote secret input).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from libs.contracts.codec import Codec, encode
from libs.contracts.errors import SERVICE_ERROR_CODE_HEADER, SERVICE_ERROR_HEADER, Code
from libs.contracts.messages import Fault
from libs.svc import metrics
from libs.svc.bus import settled
from libs.telemetry import spans as tracing

log = logging.getLogger("bastion.micro")
Handler = Callable[[Any], Awaitable[msgspec.Struct]]


@dataclass
class Reply:
    """Encoded reply bytes plus the service-error headers, if any."""

    data: bytes
    headers: dict[str, str] | None = None


def fault_reply(fault: Fault) -> Reply:
    """Encode a fault with the NATS service-error headers."""
    return Reply(encode(fault), {SERVICE_ERROR_HEADER: fault.message, SERVICE_ERROR_CODE_HEADER: fault.code})


@dataclass
class Endpoint:
    """One subject served by one handler."""

    subject: str
    codec: Codec[Any]
    handler: Handler
    queue: str
    served: int = 0
    errors: int = 0

    async def dispatch(self, data: bytes) -> Reply:
        """Decode, run and encode one request; never raises."""
        try:
            request = self.codec.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            self.errors += 1
            return fault_reply(Fault(code=Code.BAD_REQUEST, message=f"malformed {self.subject} request"))
        try:
            result = await self.handler(request)
        except Exception as exc:  # last resort: the caller must never wait out a timeout
            self.errors += 1
            log.exception("handler failed", extra={"endpoint": self.subject, "error_type": type(exc).__name__})
            return fault_reply(Fault(code=Code.INTERNAL, message="internal error", retryable=True))
        self.served += 1
        if isinstance(result, Fault):
            return fault_reply(result)
        return Reply(encode(result))


@dataclass
class Service:
    """A set of endpoints sharing one connection and one concurrency bound."""

    name: str
    max_concurrency: int = 256
    endpoints: list[Endpoint] = field(default_factory=list)
    listeners: list[tuple[str, Callable[[bytes], Awaitable[None]]]] = field(default_factory=list)
    _subs: list[Subscription] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def endpoint(self, subject: str, request_type: Any) -> Callable[[Handler], Handler]:
        """Register a request/reply handler in this service's queue group."""

        def register(handler: Handler) -> Handler:
            self.endpoints.append(Endpoint(subject, Codec(request_type), handler, self.name))
            return handler

        return register

    def listen(
        self, subject: str
    ) -> Callable[[Callable[[bytes], Awaitable[None]]], Callable[[bytes], Awaitable[None]]]:
        """Register a fan-out listener (no queue group: every replica receives every message)."""

        def register(handler: Callable[[bytes], Awaitable[None]]) -> Callable[[bytes], Awaitable[None]]:
            self.listeners.append((subject, handler))
            return handler

        return register

    async def start(self, nc: Client) -> None:
        """Subscribe everything on ``nc``."""
        semaphore = asyncio.Semaphore(self.max_concurrency)
        spans = tracing.recorder()
        for ep in self.endpoints:
            self._subs.append(await nc.subscribe(ep.subject, queue=ep.queue, cb=self._responder(ep, semaphore, spans)))
        for subject, handler in self.listeners:
            self._subs.append(await nc.subscribe(subject, cb=_listener(handler)))
        await settled(nc)  # the server has every subscription before this replica says it is ready

    def _responder(
        self, ep: Endpoint, semaphore: asyncio.Semaphore, spans: tracing.Recorder
    ) -> Callable[[Msg], Awaitable[None]]:
        async def handle(msg: Msg) -> None:
            async with semaphore:
                # One server span per message, child of the caller's traceparent; not made
                # current (no handler calls the bus, so nothing would read it): a few µs.
                span = spans.server_span(ep.subject, msg.headers)
                began = time.perf_counter()
                reply = await ep.dispatch(msg.data)
                code = reply.headers[SERVICE_ERROR_CODE_HEADER] if reply.headers else None
                metrics.HANDLED.child(ep.subject, code or "ok")[0] += 1
                metrics.observe(metrics.HANDLED_SECONDS.buckets, metrics.HANDLED_SECONDS.child(ep.subject),
                                time.perf_counter() - began)  # fmt: skip
                if span is not None:
                    span.end(code)
                if msg.reply:
                    try:
                        await msg.respond(reply.data) if not reply.headers else await _respond(msg, reply)
                    except Exception as exc:  # noqa: BLE001 - connection gone: the caller times out
                        log.warning("reply failed", extra={"error_type": type(exc).__name__})

        async def on_message(msg: Msg) -> None:
            # A task per message: handlers awaiting I/O must not hold up the next message.
            task = asyncio.create_task(handle(msg))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        return on_message

    async def drain(self, timeout: float = 10.0) -> None:
        """Stop taking messages and let in-flight ones finish."""
        for sub in self._subs:
            with contextlib.suppress(Exception):  # the connection may already be closed
                await sub.unsubscribe()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=timeout)


async def _respond(msg: Msg, reply: Reply) -> None:
    assert msg._client is not None
    await msg._client.publish(msg.reply, reply.data, headers=reply.headers)


def _listener(handler: Callable[[bytes], Awaitable[None]]) -> Callable[[Msg], Awaitable[None]]:
    async def on_message(msg: Msg) -> None:
        try:
            await handler(msg.data)
        except Exception as exc:
            log.exception("listener failed", extra={"subject": msg.subject, "error_type": type(exc).__name__})

    return on_message


class MemoryBus:
    """In-memory request/reply for handler tests: routes a subject to a service's endpoint."""

    def __init__(self, *services: Service) -> None:
        self._routes = {ep.subject: ep for svc in services for ep in svc.endpoints}
        self._listeners = [(s, h) for svc in services for s, h in svc.listeners]

    async def request(self, subject: str, data: bytes) -> Reply:
        """What a caller would get back."""
        endpoint = self._routes.get(subject)
        if endpoint is None:
            raise LookupError(f"no responders for {subject}")
        return await endpoint.dispatch(data)

    async def publish(self, subject: str, data: bytes) -> None:
        """Deliver to every listener of ``subject``."""
        for listen_subject, handler in self._listeners:
            if listen_subject == subject:
                await handler(data)
