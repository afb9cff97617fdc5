"""A JetStream push consumer on plain nats-py: batches of messages the server delivers into an
inbox of the reader's own.

For a reader that must not be able to make the server publish anywhere else
(``libs/stack/nats_users.py``, ``audit_reader``): a pull request's reply subject is where
JetStream delivers what was pulled, and nats-server checks no permission on it, so a user
allowed ``$JS.API.CONSUMER.MSG.NEXT`` can aim stored events at any subject. A push consumer's
deliver subject is fixed by the operator when the durable is provisioned
(``libs/svc/streams.py``: under ``_INBOX_<user>.``, which only that user may subscribe to); the
reader only subscribes there and acks.

The server delivers while someone subscribes to the deliver subject, at most
``max_ack_pending`` unacknowledged at a time; what is delivered and not acked is delivered
again after ``ack_wait`` (a reader stopped mid-batch loses nothing). :meth:`PushSource.next_batch`
waits for the first message, gathers more for up to ``wait_s`` (or until ``batch`` are there)
and hands them over, like ``libs/svc/pull.py:PullSource``. Acks are left to the caller.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from nats.aio.client import Client
from nats.aio.subscription import Subscription

from libs.svc.bus import settled

log = logging.getLogger("bastion.push")


class PushSource:
    """Batches of the messages delivered to ``deliver_subject``."""

    def __init__(self, nc: Client, deliver_subject: str, *, batch: int = 256, wait_s: float = 0.05) -> None:
        self._nc = nc
        self._subject = deliver_subject
        self._batch = batch
        self._wait_s = wait_s
        self._buffer: list[Any] = []
        self._arrived = asyncio.Event()
        self._stopping = False
        self._sub: Subscription | None = None

    async def start(self) -> None:
        """Subscribe to the deliver subject: from here on the server delivers."""
        self._sub = await self._nc.subscribe(self._subject, cb=self._on_message)
        await settled(self._nc)

    async def _on_message(self, msg: Any) -> None:
        if msg.headers and msg.headers.get("Status"):  # a status, not a message (none is configured)
            return
        self._buffer.append(msg)
        self._arrived.set()

    def stop(self) -> None:
        """Hand out what is held, then ``[]`` from :meth:`next_batch`."""
        self._stopping = True
        self._arrived.set()

    async def next_batch(self) -> list[Any]:
        """Wait for a message, let more arrive for ``wait_s``, hand out up to ``batch``."""
        while not self._buffer:
            if self._stopping:
                return []
            self._arrived.clear()
            await self._arrived.wait()
        if len(self._buffer) < self._batch and not self._stopping:
            loop = asyncio.get_running_loop()
            due = loop.time() + self._wait_s
            while len(self._buffer) < self._batch and not self._stopping and (left := due - loop.time()) > 0:
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), left)
                except TimeoutError:
                    break
        batch, self._buffer = self._buffer[: self._batch], self._buffer[self._batch :]
        return batch

    async def close(self) -> None:
        """Stop the deliveries (unsubscribe); what is held and not acked is delivered again later."""
        if self._sub is not None:
            try:
                await self._sub.unsubscribe()
            except Exception as exc:  # noqa: BLE001 - the connection is closing or gone
                log.debug("push inbox not unsubscribed", extra={"error_type": type(exc).__name__})
            self._sub = None
