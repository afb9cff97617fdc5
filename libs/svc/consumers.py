"""FastStream helpers for the durable JetStream consumers (metering, audit).

No message may stop a consumer (issue 10, defect 1). Each message ends in one of three ways:

* **stored**, then acked (stores are idempotent by id: a redelivery is a no-op);
* **retried**: the database is unreachable (a transient error) — the message is kept in progress
  and retried with backoff in place, so an outage does not use up its deliveries; any other
  unexpected error is nacked with a growing delay, at most ``MAX_DELIVER`` deliveries;
* **dead-lettered**: it cannot be decoded, its claims do not match its subject, the database
  refuses its values (a permanent error), or its deliveries are used up — it is filed on the
  ``DEADLETTER`` stream (original subject, stream sequence, consumer, reason, the payload with
  secret-shaped text masked), counted in ``bastion_dead_letters_total``, and only then terminated.
  ``python -m libs.stack deadletters replay`` publishes it again once the cause is fixed.

If filing the dead letter fails, the message is nacked, never dropped.

**Batches** (issue 11). Pulls fetch up to ``PULL_BATCH`` messages and go on while earlier ones are
handled (up to ``2 * PULL_BATCH`` in flight); each message is decoded and checked on its own, and
the ones to store within ``BATCH_WAIT_S`` are handed together, in stream order, to the service's
``store_batch`` (one transaction for all of them) through a :class:`Batcher`; every message is
acked only once its batch committed. ``store_batch`` answers, per event, ``None`` (stored, or already stored) or a
:class:`Rejected` (dead-letter that one; the others are stored). If the batch fails as a whole, a
transient error is retried in place like a single message's, and any other error stores the
batch's events again one at a time with ``store``, so a poison message is isolated and
dead-lettered while the rest are stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import msgspec
from faststream.middlewares import AckPolicy
from faststream.nats import NatsBroker, PullSub
from faststream.nats.annotations import NatsMessage

from libs.contracts import subjects
from libs.contracts.codec import Codec, encode
from libs.contracts.messages import DeadLetter
from libs.svc import metrics, streams
from libs.svc.logs import scrub

log = logging.getLogger("bastion.consumer")

BACKOFF_S = (1.0, 5.0, 15.0, 30.0)
"""Delay before the 2nd, 3rd, … delivery after an unexpected error."""
RETRY_MAX_S = 5.0
"""Longest pause between in-place retries while the database is unreachable."""

PULL_BATCH = 256
"""Messages per pull: whatever has arrived, up to this many, is stored in one batch."""
BATCH_WAIT_S = 0.05
"""A batch is stored when it is full or its first event has waited this long: at a few hundred
events a second that gathers tens of them per transaction, for 50 ms more before an event is stored."""

Store = Callable[[Any], Awaitable[bool]]
StoreBatch = Callable[[list[Any]], Awaitable[list["Rejected | None"]]]
"""Store events in one transaction: per event ``None`` (stored or already stored) or why it was refused."""
Check = Callable[[str, Any], str | None]
"""``(subject, event) -> None`` if the event may be stored, else a short fixed reason."""
FileLetter = Callable[[DeadLetter], Awaitable[None]]

# The database is unreachable or busy: nothing is wrong with the message. (Not asyncpg's
# InterfaceError as a whole: its client-side DataError, e.g. an int32 overflow, is permanent.)
TRANSIENT: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
)
# The message itself is refused: retrying cannot help.
PERMANENT: tuple[type[BaseException], ...] = (
    asyncpg.DataError,  # class 22 from the server: bad character, number out of range, invalid text, …
    asyncpg.exceptions._base.DataError,  # the client-side one: a value its codec cannot encode
    asyncpg.IntegrityConstraintViolationError,  # class 23
    UnicodeError,
    OverflowError,
    ValueError,
    msgspec.ValidationError,
)


class Rejected(Exception):
    """Raised by a store or check: dead-letter the message with ``reason``."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class Batcher:
    """Gathers the events submitted within ``wait_s`` of the first (at most ``max_size``) into one
    ``store_batch``; batches are stored one at a time, in the order they were gathered.

    Each :meth:`submit` returns once its event's batch committed (or raises what storing it
    raised). A batch that fails with a transient error fails every submitter, which retries in
    place; one that fails otherwise is stored again event by event, in order, with ``store``, so
    each submitter gets its own event's outcome.
    """

    def __init__(self, store: Store, store_batch: StoreBatch, *, max_size: int = PULL_BATCH,
                 wait_s: float = BATCH_WAIT_S, name: str = "") -> None:  # fmt: skip
        self._store, self._store_batch, self._name = store, store_batch, name
        self._max_size, self._wait_s = max_size, wait_s
        self._pending: list[tuple[int, Any, asyncio.Future[None]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._one_at_a_time = asyncio.Lock()  # batches stored in the order they were gathered

    async def submit(self, event: Any, order: int = 0) -> None:
        """Store ``event`` with the others submitted about now, in ``order`` (its stream sequence);
        raise what storing it raised."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._pending.append((order, event, future))
        if len(self._pending) >= self._max_size:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self._wait_s, self._flush)
        await future

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        batch.sort(key=lambda item: item[0])  # concurrent consumers submit in no fixed order
        if batch:
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[int, Any, asyncio.Future[None]]]) -> None:
        async with self._one_at_a_time:
            try:
                await self._store_all(batch)
            finally:  # never leave a consumer waiting: an unsettled message is nacked and redelivered
                for _, _, future in batch:
                    _settle(future, RuntimeError("batch outcome missing"))

    async def _store_all(self, batch: list[tuple[int, Any, asyncio.Future[None]]]) -> None:
        try:
            outcomes = await self._store_batch([event for _, event, _ in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError("one outcome per event expected")
        except TRANSIENT as exc:
            for _, _, future in batch:
                _settle(future, exc)
            return
        except Exception as exc:  # noqa: BLE001 - isolate the message at fault: store them one by one
            log.warning("batch not stored; storing its events one by one",
                        extra={"size": len(batch), "error_type": type(exc).__name__})  # fmt: skip
            await self._one_by_one(batch)
            return
        metrics.BATCHES.inc(consumer=self._name)
        metrics.BATCHED_EVENTS.inc(len(batch), consumer=self._name)
        for (_, _, future), outcome in zip(batch, outcomes, strict=True):
            _settle(future, outcome)

    async def _one_by_one(self, batch: list[tuple[int, Any, asyncio.Future[None]]]) -> None:
        for _, event, future in batch:
            try:
                await self._store(event)
            except Exception as exc:  # noqa: BLE001 - handed to that event's consumer
                _settle(future, exc)
            else:
                _settle(future, None)


def _settle(future: asyncio.Future[None], outcome: BaseException | None) -> None:
    if future.done():  # its consumer was cancelled (shutdown): the message is redelivered
        return
    if outcome is None:
        future.set_result(None)
    else:
        future.set_exception(outcome)


async def raw_body(msg: Any) -> bytes:
    """Decoder that hands the handler the raw bytes.

    Without it FastStream json-decodes any body that parses as JSON and a ``body: bytes``
    handler then fails validation (STACK-NOTES, "JSON sniffing").
    """
    return bytes(msg.body)


def _position(message: NatsMessage) -> tuple[str, int, int]:
    """(stream, stream sequence, deliveries so far) of a JetStream message."""
    try:
        meta = message.raw_message.metadata
        return meta.stream, meta.sequence.stream, meta.num_delivered
    except Exception:  # noqa: BLE001 - the in-memory test broker has no JetStream metadata
        return "", 0, 1


def broker_filer(broker: NatsBroker) -> FileLetter:
    """File dead letters on the DEADLETTER stream through ``broker`` (waiting for the stream's ack)."""

    async def file(letter: DeadLetter) -> None:
        msg_id = f"{letter.stream}.{letter.consumer}.{letter.stream_seq}" if letter.stream_seq else secrets.token_hex(8)
        await broker.publish(encode(letter), subjects.dead_letter(letter.consumer),
                             stream=subjects.DEADLETTER_STREAM, headers={"Nats-Msg-Id": msg_id}, timeout=5.0)  # fmt: skip

    return file


def masked(payload: bytes) -> bytes:
    """``payload`` with secret-shaped substrings masked (events should carry none anyway)."""
    text = payload.decode("utf-8", "replace")
    cleaned = scrub(text)
    return payload if cleaned == text else cleaned.encode()


def durable_consumer(
    broker: NatsBroker,
    spec: streams.ConsumerSpec,
    message_type: Any,
    store: Store,
    *,
    check: Check | None = None,
    store_batch: StoreBatch | None = None,
    file_letter: FileLetter | None = None,
    inbox_prefix: str = "_INBOX",
    backoff_s: tuple[float, ...] = BACKOFF_S,
    batch_wait_s: float = BATCH_WAIT_S,
) -> None:
    """Consume ``spec``'s stream with its shared durable pull consumer.

    Replicas share the durable, so they split the work. See the module docstring for what
    happens to each message; ``check`` vets an event against its subject before it is stored.
    With ``store_batch``, the events of one pull are stored together (:class:`Batcher`).
    """
    codec: Codec[Any] = Codec(message_type)
    batcher = Batcher(store, store_batch, wait_s=batch_wait_s, name=spec.durable) if store_batch else None
    name, file = spec.durable, file_letter or broker_filer(broker)

    async def dead_letter(message: NatsMessage, body: bytes, reason: str, detail: str) -> None:
        stream, seq, deliveries = _position(message)
        letter = DeadLetter(subject=message.raw_message.subject, stream=stream or spec.stream.name, stream_seq=seq,
                            consumer=name, reason=reason, detail=scrub(detail)[:200], deliveries=deliveries,
                            ts=int(time.time() * 1000), payload=masked(body))  # fmt: skip
        try:
            await file(letter)
        except Exception as exc:  # noqa: BLE001 - keep the message: it is redelivered, not lost
            log.error("dead letter not filed; will be redelivered",
                      extra={"consumer": name, "error_type": type(exc).__name__})  # fmt: skip
            await message.nack(delay=backoff_s[0])
            return
        metrics.DEAD_LETTERS.inc(consumer=name, reason=reason)
        log.error("event dead-lettered", extra={"consumer": name, "reason": reason, "detail": letter.detail,
                                                "stream_seq": seq})  # fmt: skip
        await message.reject()  # term: JetStream will not deliver it again

    async def store_retrying(message: NatsMessage, event: Any) -> None:
        delay = 0.2
        while True:
            try:
                await (batcher.submit(event, _position(message)[1]) if batcher else store(event))
                return
            except PERMANENT:
                raise
            except TRANSIENT as exc:
                log.warning("event store unavailable; retrying",
                            extra={"consumer": name, "error_type": type(exc).__name__})  # fmt: skip
                with contextlib.suppress(Exception):
                    await message.in_progress()  # not a delivery: an outage uses up nothing
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)

    @broker.subscriber(
        spec.stream.subjects[0],
        stream=streams.jstream(spec.stream),
        durable=spec.durable,
        config=streams.consumer_config(spec),
        pull_sub=PullSub(batch_size=PULL_BATCH, timeout=1.0),
        max_workers=2 * PULL_BATCH,  # pulls go on while a batch gathers or is stored
        decoder=raw_body,
        ack_policy=AckPolicy.MANUAL,
        inbox_prefix=f"{inbox_prefix}.".encode(),  # the bus user's own inbox (libs/stack/nats_users.py)
    )
    async def on_event(body: bytes, message: NatsMessage) -> None:
        try:
            event = codec.decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError):
            await dead_letter(message, body, "undecodable", "not a valid event")
            return
        try:
            if check is not None and (problem := check(message.raw_message.subject, event)) is not None:
                raise Rejected("claims", problem)
            await store_retrying(message, event)
        except Rejected as exc:
            await dead_letter(message, body, exc.reason, exc.detail)
            return
        except PERMANENT as exc:
            await dead_letter(message, body, "unstorable", type(exc).__name__)
            return
        except Exception as exc:
            deliveries = _position(message)[2]
            if deliveries >= streams.MAX_DELIVER:
                await dead_letter(message, body, "retries_exhausted", type(exc).__name__)
                return
            log.exception("event not stored; will be redelivered",
                          extra={"consumer": name, "error_type": type(exc).__name__, "deliveries": deliveries})  # fmt: skip
            await message.nack(delay=backoff_s[min(deliveries, len(backoff_s)) - 1])
            return
        await message.ack()
