"""The durable JetStream consumers (metering, audit): batches pulled, checked one by one, stored together.

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

**Batches** (issue 11). A :class:`~libs.svc.pull.PullSource` hands over what arrived within
``BATCH_WAIT_S`` of the first message (at most ``PULL_BATCH``); one task per consumer decodes and
checks each message on its own, then hands the batch's events, in stream order, to the service's
``store_batch`` (one transaction for all of them); every message is acked only once its batch
committed, each with its own ack (replicas share the durable). ``store_batch`` answers, per event,
``None`` (stored, or already stored) or a :class:`Rejected` (dead-letter that one; the others are
stored). If the batch fails as a whole, a transient error is retried in place like a single
message's, and any other error stores the batch's events again one at a time with ``store``, so a
poison message is isolated and dead-lettered while the rest are stored. The next batch is handled
only once this one is settled.

**Shutdown** (:meth:`DurableConsumer.stop`): no more pulls; the batch in hand and whatever the
last pull still delivers are stored and acked; a batch still waiting out a database outage is
nacked at once (without delay, so another replica takes it); whatever could not be handled in
time is redelivered after the ack wait. Nothing is acked unstored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg
import msgspec
from nats.aio.client import Client
from nats.js import JetStreamContext

from libs.contracts import subjects
from libs.contracts.codec import Codec, encode
from libs.contracts.messages import DeadLetter
from libs.svc import metrics, streams
from libs.svc.logs import scrub
from libs.svc.pull import Message, PullSource, Source
from libs.telemetry import spans as tracing

log = logging.getLogger("bastion.consumer")

BACKOFF_S = (1.0, 5.0, 15.0, 30.0)
"""Delay before the 2nd, 3rd, … delivery after an unexpected error."""
RETRY_MAX_S = 5.0
"""Longest pause between in-place retries while the database is unreachable."""

PULL_BATCH = 256
"""Messages per batch (and per pull request): whatever has arrived, up to this many, is stored together."""
BATCH_WAIT_S = 0.05
"""A batch is stored when it is full or its first event has waited this long: at a few hundred
events a second that gathers tens of them per transaction, for 50 ms more before an event is stored."""

Store = Callable[[Any], Awaitable[bool]]
StoreBatch = Callable[[list[Any]], Awaitable[list["Rejected | None"]]]
"""Store events in one transaction: per event ``None`` (stored or already stored) or why it was refused."""
STOP_TIMEOUT_S = 5.0
"""How long :meth:`DurableConsumer.stop` waits for the batch in hand before giving it up."""

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


Position = tuple[str, int, int]
"""(stream, stream sequence, deliveries so far) of a message."""


class Rejected(Exception):
    """Raised by a store or check: dead-letter the message with ``reason``."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class _Abandoned(Exception):
    """Stopping while the database is unreachable: the batch is handed back."""


def masked(payload: bytes) -> bytes:
    """``payload`` with secret-shaped substrings masked (events should carry none anyway)."""
    text = payload.decode("utf-8", "replace")
    cleaned = scrub(text)
    return payload if cleaned == text else cleaned.encode()


def jetstream_filer(js: JetStreamContext) -> FileLetter:
    """File dead letters on the DEADLETTER stream (waiting for the stream's ack)."""

    async def file(letter: DeadLetter) -> None:
        msg_id = f"{letter.stream}.{letter.consumer}.{letter.stream_seq}" if letter.stream_seq else secrets.token_hex(8)
        await js.publish(subjects.dead_letter(letter.consumer), encode(letter), timeout=5.0,
                         stream=subjects.DEADLETTER_STREAM, headers={"Nats-Msg-Id": msg_id})  # fmt: skip

    return file


def _position(msg: Message) -> Position:
    try:
        meta = msg.metadata
        return meta.stream, meta.sequence.stream, meta.num_delivered
    except Exception:  # noqa: BLE001 - not a JetStream delivery (its reply subject is not an ack subject)
        return "", 0, 1


async def _quietly(action: Awaitable[None]) -> None:
    """An ack, nack, term or progress note: if the connection is gone, the server redelivers."""
    try:
        await action
    except Exception as exc:  # noqa: BLE001 - closed connection, already acked
        log.debug("acknowledgement not sent", extra={"error_type": type(exc).__name__})


class DurableConsumer:
    """Consume ``spec``'s stream with its shared durable pull consumer (see the module docstring).

    Replicas share the durable, so they split the work; ``check`` vets an event against its
    subject before it is stored; with ``store_batch``, a batch's events are stored together.
    """

    def __init__(
        self,
        spec: streams.ConsumerSpec,
        message_type: Any,
        store: Store,
        *,
        check: Check | None = None,
        store_batch: StoreBatch | None = None,
        file_letter: FileLetter | None = None,
        backoff_s: tuple[float, ...] = BACKOFF_S,
        batch_size: int = PULL_BATCH,
        batch_wait_s: float = BATCH_WAIT_S,
    ) -> None:
        self.spec, self.name = spec, spec.durable
        self._codec: Codec[Any] = Codec(message_type)
        self._store, self._store_batch, self._check = store, store_batch, check
        self._file, self._backoff_s = file_letter, backoff_s
        self._batch_size, self._batch_wait_s = batch_size, batch_wait_s
        self._source: Source | None = None
        self._nc: Client | None = None
        self._pull: PullSource | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    async def start(self, nc: Client) -> None:
        """Pull from the durable over ``nc`` (replies on its own inbox prefix) until :meth:`stop`."""
        self._nc = nc
        if self._file is None:
            self._file = jetstream_filer(nc.jetstream())
        self._pull = PullSource(nc, self.spec.stream.name, self.name, batch=self._batch_size, wait_s=self._batch_wait_s)
        await self._pull.start()
        self._task = asyncio.get_running_loop().create_task(self.run(self._pull), name=f"consumer-{self.name}")

    async def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Pull no more, settle the batch in hand and what is still delivered, unsubscribe, flush the acks."""
        self._stopping.set()
        if self._pull is not None:
            self._pull.stop()
        if self._task is not None:
            _, pending = await asyncio.wait({self._task}, timeout=timeout_s)
            for task in pending:  # unsettled messages are redelivered after the ack wait
                log.warning("consumer did not stop in time", extra={"consumer": self.name})
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self._pull is not None:
            await self._pull.close()
        if self._nc is not None and self._nc.is_connected:  # the last acks are written out, not left pending
            try:
                await self._nc.flush(timeout=2)
            except Exception as exc:  # noqa: BLE001 - what was not acked is redelivered
                log.warning("last acks not flushed", extra={"consumer": self.name, "error_type": type(exc).__name__})

    async def run(self, source: Source) -> None:
        """Handle ``source``'s batches one after the other until it is stopped and drained."""
        self._source = source
        while batch := await source.next_batch():
            try:
                await self.handle(batch)
            except Exception:
                log.exception("batch not handled; it will be redelivered", extra={"consumer": self.name})

    async def handle(self, batch: Sequence[Message]) -> None:
        """Vet each message, store the rest together in stream order, then settle each."""
        todo: list[tuple[Message, Position, Any]] = []
        recorder = tracing.recorder()
        traced: list[tracing.ServerSpan | None] = []
        for position, msg in sorted(((_position(m), m) for m in batch), key=lambda item: item[0][1]):
            # one span per event, child of the span that published it (the edge's request)
            span = recorder.server_span(f"consume {self.name}", getattr(msg, "headers", None))
            event = await self._vetted(msg, position)
            if event is not None:
                todo.append((msg, position, event))
                traced.append(span)
            elif span is not None:
                span.end("rejected")
        try:
            outcomes = await self._store_all([msg for msg, _, _ in todo], [event for _, _, event in todo])
        except _Abandoned:
            for msg, _, _ in todo:
                await _quietly(msg.nak())  # another replica takes it at once
            return
        for (msg, position, _), outcome, span in zip(todo, outcomes, traced, strict=True):
            await self._settle(msg, position, outcome)
            if span is not None:
                span.end(None if outcome is None else type(outcome).__name__)

    async def _vetted(self, msg: Message, position: Position) -> Any:
        """The decoded event, if it may be stored; else ``None``, the message settled."""
        try:
            event = self._codec.decode(msg.data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            await self._dead_letter(msg, position, "undecodable", "not a valid event")
            return None
        try:
            problem = None if self._check is None else self._check(msg.subject, event)
        except Exception as exc:  # noqa: BLE001 - a bug in the check: retried, bounded
            await self._settle(msg, position, exc)
            return None
        if problem is not None:
            await self._dead_letter(msg, position, "claims", problem)
            return None
        return event

    async def _store_all(self, msgs: list[Message], events: list[Any]) -> list[BaseException | None]:
        """Per event: ``None`` if stored (or already stored), else why not."""
        if not events:
            return []
        if self._store_batch is not None:
            try:
                outcomes = await self._retrying(msgs, self._store_batch, events)
                if len(outcomes) != len(events):
                    raise RuntimeError("one outcome per event expected")
            except _Abandoned:
                raise
            except Exception as exc:  # noqa: BLE001 - isolate the message at fault: store them one by one
                log.warning("batch not stored; storing its events one by one",
                            extra={"consumer": self.name, "size": len(events), "error_type": type(exc).__name__})  # fmt: skip
            else:
                metrics.BATCHES.inc(consumer=self.name)
                metrics.BATCHED_EVENTS.inc(len(events), consumer=self.name)
                return list(outcomes)
        return [await self._one(msgs, event) for event in events]

    async def _one(self, msgs: list[Message], event: Any) -> BaseException | None:
        try:
            await self._retrying(msgs, self._store, event)
        except _Abandoned:
            raise
        except Exception as exc:  # noqa: BLE001 - that event's outcome
            return exc
        return None

    async def _retrying(self, msgs: list[Message], store: Callable[[Any], Awaitable[Any]], arg: Any) -> Any:
        """``store(arg)``, retried in place while the database is unreachable (``msgs`` kept in progress)."""
        delay = 0.2
        while True:
            try:
                return await store(arg)
            except PERMANENT:
                raise
            except TRANSIENT as exc:
                if self._stopping.is_set():
                    raise _Abandoned from exc
                log.warning("event store unavailable; retrying",
                            extra={"consumer": self.name, "error_type": type(exc).__name__})  # fmt: skip
                for msg in [*msgs, *(self._source.held() if self._source else [])]:
                    await _quietly(msg.in_progress())  # not a delivery: an outage uses up nothing
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
                delay = min(delay * 2, RETRY_MAX_S)

    async def _settle(self, msg: Message, position: Position, outcome: BaseException | None) -> None:
        if outcome is None:
            await _quietly(msg.ack())
        elif isinstance(outcome, Rejected):
            await self._dead_letter(msg, position, outcome.reason, outcome.detail)
        elif isinstance(outcome, PERMANENT):
            await self._dead_letter(msg, position, "unstorable", type(outcome).__name__)
        elif (deliveries := position[2]) >= streams.MAX_DELIVER:
            await self._dead_letter(msg, position, "retries_exhausted", type(outcome).__name__)
        else:
            log.error("event not stored; will be redelivered", exc_info=outcome,
                      extra={"consumer": self.name, "error_type": type(outcome).__name__, "deliveries": deliveries})  # fmt: skip
            await _quietly(msg.nak(delay=self._backoff_s[min(deliveries, len(self._backoff_s)) - 1]))

    async def _dead_letter(self, msg: Message, position: Position, reason: str, detail: str) -> None:
        stream, seq, deliveries = position
        letter = DeadLetter(subject=msg.subject, stream=stream or self.spec.stream.name, stream_seq=seq,
                            consumer=self.name, reason=reason, detail=scrub(detail)[:200], deliveries=deliveries,
                            ts=int(time.time() * 1000), payload=masked(bytes(msg.data)))  # fmt: skip
        assert self._file is not None, "start() sets the filer"
        try:
            await self._file(letter)
        except Exception as exc:  # noqa: BLE001 - keep the message: it is redelivered, not lost
            log.error("dead letter not filed; will be redelivered",
                      extra={"consumer": self.name, "error_type": type(exc).__name__})  # fmt: skip
            await _quietly(msg.nak(delay=self._backoff_s[0]))
            return
        metrics.DEAD_LETTERS.inc(consumer=self.name, reason=reason)
        log.error("event dead-lettered", extra={"consumer": self.name, "reason": reason, "detail": letter.detail,
                                                "stream_seq": seq})  # fmt: skip
        await _quietly(msg.term())  # JetStream will not deliver it again
