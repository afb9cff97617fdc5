"""A JetStream pull consumer on plain nats-py: batches of messages from a shared durable.

One pull request is open at a time: ``{"batch": N, "expires": …}`` to
``$JS.API.CONSUMER.MSG.NEXT.<stream>.<durable>`` — the only JetStream subjects a service may use
besides acks (``libs/stack/nats_users.py``) — answered on an inbox under the connection's own
prefix (``nc.new_inbox()``, i.e. ``inbox_prefix(settings)``), each request on its own reply
subject so that a late status of an earlier request cannot end the current one (messages of the
stream carry their own subject: each counts against the open request). Messages arrive
through one subscription callback into a buffer; :meth:`PullSource.next_batch` waits for the
first, gathers more for up to ``wait_s`` (or until ``batch`` are there) and hands them over.
While the caller stores a batch, the open request goes on filling the buffer; a new request is
made only when the last one ended (filled, expired, or refused) and the buffer has room, so at
most ``batch`` messages are held unhandled.

An idle consumer costs one pull request and one ``408`` status per ``expires_s``. A request the
server lost (a reconnect) is given up ``expires_s + GRACE_S`` after it was made.

Acks are left to the caller (``msg.ack()`` is a plain publish, written out by nats-py's flusher
with the others of the batch, not one flush each). Replicas share the durable, so every message
is acked on its own (``AckPolicy.EXPLICIT``): acking "all up to N" would ack another replica's
messages that are not stored yet.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Protocol

from nats.aio.client import Client

from libs.svc import metrics

log = logging.getLogger("bastion.pull")

PULL_EXPIRES_S = 1.0
"""How long a pull request waits at the server; bounds the wait on shutdown."""
GRACE_S = 1.0
"""Beyond ``expires``, how long without an answer before a request is taken as lost."""
REFUSED_PAUSE_S = 1.0
"""Pause after the server refused a pull request (consumer missing, JetStream unavailable, …)."""

_HEARTBEAT, _EXPIRED, _NO_MESSAGES = "100", "408", "404"


def _release(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Message(Protocol):
    """What a consumer needs of a delivered JetStream message (nats-py's ``Msg`` has it)."""

    subject: str
    data: bytes

    @property
    def metadata(self) -> Any: ...
    async def ack(self) -> None: ...
    async def nak(self, delay: float | None = None) -> None: ...
    async def term(self) -> None: ...
    async def in_progress(self) -> None: ...


class Source(Protocol):
    """Where a consumer gets its batches from."""

    async def next_batch(self) -> list[Any]:
        """The next batch (stream order not guaranteed); ``[]`` once stopped and drained."""
        ...

    def held(self) -> list[Any]:
        """Messages received but not handed out yet."""
        ...


class PullSource:
    """Batches from the durable ``durable`` of ``stream`` over ``nc`` (see the module docstring)."""

    def __init__(self, nc: Client, stream: str, durable: str, *, batch: int, wait_s: float,
                 expires_s: float = PULL_EXPIRES_S) -> None:  # fmt: skip
        self._nc, self._batch, self._wait_s, self._expires_s = nc, batch, wait_s, expires_s
        self._next_subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self._name = durable
        self._buffer: list[Any] = []
        self._first_at = 0.0  # when the oldest buffered message arrived
        self._woken = False  # something :meth:`_wait` waits for happened
        self._waiter: asyncio.Future[None] | None = None
        self._prefix = ""
        self._sub: Any = None
        self._request_no = 0
        self._open = False  # a request is outstanding
        self._wanted = 0  # messages the open request may still deliver
        self._given_up_at = 0.0  # when the open request is taken as lost
        self._refused_until = 0.0
        self._last_refusal = ""
        self._stopping = False
        self._backlog = False  # the last batch handed out was full

    async def start(self) -> None:
        """Subscribe to this source's reply inboxes (no request is made before :meth:`next_batch`)."""
        self._prefix = self._nc.new_inbox()
        self._sub = await self._nc.subscribe(f"{self._prefix}.*", cb=self._on_message)

    def stop(self) -> None:
        """Make no more requests; :meth:`next_batch` hands out what is still delivered, then ``[]``."""
        self._stopping = True
        self._wake_up()

    async def close(self) -> None:
        """Unsubscribe (after :meth:`next_batch` returned ``[]``)."""
        if self._sub is not None:
            try:
                await self._sub.unsubscribe()
            except Exception as exc:  # noqa: BLE001 - the connection is closing or gone
                log.debug("pull inbox not unsubscribed", extra={"error_type": type(exc).__name__})
            self._sub = None

    def held(self) -> list[Any]:
        """Messages received but not handed out yet."""
        return list(self._buffer)

    async def next_batch(self) -> list[Any]:
        """Wait for a message, let more gather at the server for ``wait_s``, take them in one go."""
        loop = asyncio.get_running_loop()
        backlog, self._backlog = self._backlog, False
        if backlog and not self._buffer:
            await self._take(loop)  # the last batch was full: more is waiting, hand it out at once
        while not self._buffer:
            if self._stopping and not self._open:
                return []
            self._woken = False
            await self._ask(loop, 1, linger=True)
            if not self._buffer:
                await self._wait(loop, self._given_up_at if self._open else self._refused_until)
        if len(self._buffer) < self._batch and not backlog:
            due = self._first_at + self._wait_s
            while not self._stopping and loop.time() < due and len(self._buffer) < self._batch:
                self._woken = False
                await self._wait(loop, due)
            await self._take(loop)
        batch, self._buffer = self._buffer[: self._batch], self._buffer[self._batch :]
        self._backlog = len(batch) == self._batch
        self._first_at = loop.time()
        self._lag(self._buffer[-1] if self._buffer else batch[-1])
        return batch

    def _lag(self, newest: Any) -> None:
        """The consumer's lag as this replica sees it: what the durable had not delivered when
        ``newest`` (the last message received) left the server — the server puts that count in
        every message's reply subject, so no ``CONSUMER.INFO``, which services may not call —
        plus what this replica holds but has not handed out yet."""
        try:
            pending = newest.metadata.num_pending
        except Exception:  # noqa: BLE001 - not a JetStream message (a test double): no reading
            return
        if isinstance(pending, int):
            metrics.CONSUMER_PENDING.child(self._name)[0] = float(pending + len(self._buffer))

    async def _take(self, loop: asyncio.AbstractEventLoop) -> None:
        """One ``no_wait`` pull for what is there (up to the room left), until the server answered."""
        if self._open or self._stopping or len(self._buffer) >= self._batch:
            return
        self._woken = False
        if not await self._ask(loop, self._batch - len(self._buffer), linger=False):
            return
        while self._asking() and not self._stopping:  # (a call: mypy would take ``_open`` as still False)
            self._woken = False
            await self._wait(loop, self._given_up_at)
            if loop.time() >= self._given_up_at:
                return

    def _asking(self) -> bool:
        return self._open

    async def _ask(self, loop: asyncio.AbstractEventLoop, n: int, *, linger: bool) -> bool:
        """Ask for ``n`` messages unless a request is open or the server just refused one.

        ``linger``: the request waits up to ``expires_s`` for them; else (``no_wait``) the server
        sends what it has at once and ends the request with a status."""
        now = loop.time()
        if self._open and now >= self._given_up_at:
            log.warning("pull request unanswered; asking again", extra={"consumer": self._name})
            self._open = False
        if self._open or self._stopping or n <= 0 or now < self._refused_until:
            return False
        self._request_no += 1
        self._open, self._wanted = True, n
        self._given_up_at = now + (self._expires_s if linger else 0.0) + GRACE_S
        request: dict[str, object] = {"batch": n}
        if linger:
            request["expires"] = int(self._expires_s * 1e9)
        else:
            request["no_wait"] = True  # (with an expiry, the server would wait after all)
        try:
            await self._nc.publish(self._next_subject, json.dumps(request).encode(),
                                   reply=f"{self._prefix}.{self._request_no}")  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - closed or draining connection: try again later
            self._open = False
            self._refused(now, f"publish:{type(exc).__name__}")
            return False
        return True

    async def _wait(self, loop: asyncio.AbstractEventLoop, until: float) -> None:
        """Until ``until``, or a first message, a full buffer, the end of a request, :meth:`stop`.

        A bare future and a timer, not ``asyncio.wait_for`` (a task each time): at a steady rate
        this is several times per batch, and every event-loop turn costs syscalls."""
        if self._woken:
            return
        waiter = self._waiter = loop.create_future()
        timer = loop.call_at(until, _release, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def _wake_up(self) -> None:
        self._woken = True
        if self._waiter is not None:
            _release(self._waiter)

    async def _on_message(self, msg: Any) -> None:
        status = msg.headers.get("Status") if msg.headers else None
        if status is None:  # a message of the stream (it carries its own subject, not the request's)
            if not self._buffer:
                self._first_at = asyncio.get_running_loop().time()
            self._buffer.append(msg)
            self._wanted -= 1
            self._open = self._open and self._wanted > 0
            self._last_refusal = ""
            if len(self._buffer) == 1 or len(self._buffer) >= self._batch or self._wanted == 0:  # not one per message
                self._wake_up()
        elif msg.subject == f"{self._prefix}.{self._request_no}" and status != _HEARTBEAT:  # it is over
            self._open = False
            if status not in (_EXPIRED, _NO_MESSAGES):
                self._refused(asyncio.get_running_loop().time(), f"{status} {msg.headers.get('Description', '')}")
            self._wake_up()

    def _refused(self, now: float, why: str) -> None:
        self._refused_until = now + REFUSED_PAUSE_S
        if why != self._last_refusal:  # once per kind of refusal, not once a second
            log.warning("pull request refused", extra={"consumer": self._name, "status": why})
            self._last_refusal = why
