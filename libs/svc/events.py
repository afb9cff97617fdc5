"""Durable event publishing off the response path.

``emit()`` only enqueues; a background task publishes to JetStream and waits for the stream's
ack, retrying with backoff until it comes, with ``Nats-Msg-Id`` set so a retried publish is
stored once (the stream deduplicates within its window; consumers dedupe by id as well). On
shutdown the queue is drained before the connection closes. The queue is bounded: if JetStream
stays down long enough to fill it, ``emit`` raises so the caller can refuse new work rather than
silently lose events.

With a :class:`~libs.svc.spool.Spool`, every event is journaled to a local file before it is
queued, so events of a process killed before publishing them are published by the next
publisher on the same spool directory (a sibling worker or the restarted process), which looks
for such leftovers at start and every few seconds.

Every event is scrubbed before it is journaled or queued (:func:`scrubbed`): client-controlled
fields (a model name, a URL path in a resource, a user agent, a correlation id) may carry a key
pasted in the wrong place, and nothing secret-shaped may reach a spool, the stream or a row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import msgspec
from nats.aio.client import Client

from libs.contracts import normalise, subjects
from libs.contracts.codec import encode
from libs.contracts.messages import AuditEvent, UsageEvent
from libs.crypto.keyring import Keyring
from libs.svc.logs import scrub, secret_shaped
from libs.svc.settings import BaseSettings
from libs.svc.spool import Record, Segment, Spool
from libs.telemetry import spans

log = logging.getLogger("bastion.events")
E = TypeVar("E", UsageEvent, AuditEvent)


class EventBacklogFull(Exception):
    """The publisher cannot keep up (JetStream unreachable for a long time)."""


@dataclass(frozen=True, slots=True)
class _Pending:
    subject: str
    msg_id: str
    payload: bytes
    segment: Segment | None = None
    traceparent: str | None = None
    """The span that caused the event (its consumers' spans join that trace)."""


class EventPublisher:
    """A bounded queue drained into JetStream by ``concurrency`` workers."""

    def __init__(
        self,
        nc: Client,
        *,
        max_queue: int = 100_000,
        concurrency: int = 16,
        spool: Spool | None = None,
        recover_every_s: float = 5.0,
    ) -> None:
        self._js = nc.jetstream()
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue(max_queue)
        self._workers: list[asyncio.Task[None]] = []
        self._concurrency = concurrency
        self._spool = spool
        self._recover_every = recover_every_s

    def start(self) -> None:
        """Start the workers (and, with a spool, the replay of other processes' leftovers)."""
        if self._spool is not None:
            self._spool.open()
            self._workers.append(asyncio.create_task(self._recover()))
        self._workers += [asyncio.create_task(self._work()) for _ in range(self._concurrency)]

    async def _recover(self) -> None:
        """Queue the events of dead processes' spool segments, now and every few seconds."""
        assert self._spool is not None
        while True:
            try:
                for segment, records in self._spool.take_orphans():
                    for record in records:
                        await self._queue.put(_Pending(record.subject, record.msg_id, record.payload, segment))
            except OSError as exc:
                log.error("event spool scan failed", extra={"error_type": type(exc).__name__})
            await asyncio.sleep(self._recover_every)

    def usage(self, event: UsageEvent) -> None:
        """Queue a usage event (normalised, so no client-controlled value can make it unstorable,
        and scrubbed of anything secret-shaped)."""
        event = scrubbed(normalise.usage(event))
        self._put(subjects.usage_event(subject_token(event.org_id)), event.request_id, encode(event))

    def audit(self, event: AuditEvent, *, source: str) -> None:
        """Queue an audit event (normalised, and scrubbed of anything secret-shaped)."""
        event = scrubbed(normalise.audit(event))
        resource_type, _, action = event.action.partition(".")
        subject = subjects.audit_event(source, subject_token(resource_type), subject_token(action or "event"))
        self._put(subject, event.event_id, encode(event))

    def _put(self, subject: str, msg_id: str, payload: bytes) -> None:
        if self._queue.full():
            raise EventBacklogFull
        segment = None
        if self._spool is not None:
            try:
                segment = self._spool.append(Record(subject, msg_id, payload))
            except OSError as exc:  # disk trouble: still publish from memory, and say so loudly
                log.error("event spool write failed", extra={"error_type": type(exc).__name__})
        self._queue.put_nowait(_Pending(subject, msg_id, payload, segment, spans.current_traceparent()))

    @property
    def backlog(self) -> int:
        """Events not yet acked by the stream."""
        return self._queue.qsize()

    async def _work(self) -> None:
        while True:
            item = await self._queue.get()
            delay = 0.05
            while True:
                try:
                    headers = {"Nats-Msg-Id": item.msg_id}
                    if item.traceparent:
                        headers["traceparent"] = item.traceparent
                    await self._js.publish(item.subject, item.payload, timeout=2.0, headers=headers)
                    break
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - retry until the stream takes it
                    log.warning("event publish failed; retrying", extra={"error_type": type(exc).__name__})
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)
            if item.segment is not None and self._spool is not None:
                self._spool.done(item.segment)
            self._queue.task_done()

    async def close(self, timeout: float = 10.0) -> None:
        """Drain the queue (up to ``timeout``), then stop the workers."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout)
        if self._queue.qsize():
            log.error("events left unpublished at shutdown", extra={"count": self._queue.qsize()})
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        if self._spool is not None:
            self._spool.close()


def scrubbed(event: E) -> E:
    """``event`` with every secret-shaped substring of its strings (keys and values of its
    ``detail`` and ``metadata`` too, at any depth) masked by :func:`libs.svc.logs.scrub`; the same
    object when there is none (the usual case)."""
    changes: dict[str, object] = {}
    for name in event.__struct_fields__:
        value = getattr(event, name)
        if isinstance(value, str):
            if secret_shaped(value):
                changes[name] = scrub(value)
        elif isinstance(value, dict | list) and _holds_secret(value):
            changes[name] = _scrub_json(value)
    return msgspec.structs.replace(event, **changes) if changes else event


def _holds_secret(value: object) -> bool:
    if isinstance(value, str):
        return secret_shaped(value)
    if isinstance(value, dict):
        return any(_holds_secret(k) or _holds_secret(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_secret(v) for v in value)
    return False


def _scrub_json(value: object) -> object:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub(k): _scrub_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_json(v) for v in value]
    return value


def subject_token(value: str) -> str:
    """A safe subject token from an id (ids are [a-z0-9_-]; anything else is replaced)."""
    cleaned = "".join(c if c.isalnum() or c in "-_" else "_" for c in value)
    return cleaned or "_"


def spool_for(settings: BaseSettings, name: str) -> Spool | None:
    """The event spool of a service from ``BASTION_SPOOL_DIR`` (None when unset), sealed with
    ``BASTION_SPOOL_KEYS`` when set."""
    directory = settings.spool_dir
    if not directory:
        return None
    keyring = Keyring.from_spec(settings.spool_keys) if settings.spool_keys else None
    if keyring is None:
        log.warning("event journal written in clear: set BASTION_SPOOL_KEYS_FILE to seal it")
    return Spool(Path(directory), name, keyring=keyring)
