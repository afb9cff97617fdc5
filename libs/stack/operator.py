"""Operator tasks on the bus, with the operator's own NATS credential: provision the JetStream
streams and consumers, list and replay dead letters, read a service's counters.

No service holds this credential, so no front process can update, purge or delete a stream
(issue 10, defect 8).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client
from nats.js.errors import NotFoundError

from libs.contracts import subjects
from libs.contracts.codec import Codec, encode
from libs.contracts.messages import DeadLetter, MetricsText, Ping
from libs.stack import pki
from libs.stack.nats_users import OPERATOR, passwords
from libs.svc import streams
from libs.svc.bus import credentials
from libs.svc.settings import BaseSettings, load

_letters: Codec[DeadLetter] = Codec(DeadLetter)
_metrics: Codec[MetricsText] = Codec(MetricsText)


def password(secrets_dir: Path) -> str:
    """The operator's bus password (generated with the other bus users' passwords; deployments
    that authenticate by password, ``deploy/``)."""
    return passwords(secrets_dir)[OPERATOR]


def with_password(url: str, secret: str, user: str = OPERATOR) -> BaseSettings:
    """The operator (or ``user``) on a bus that authenticates by password."""
    return BaseSettings(nats_url=url, nats_user=user, nats_password=secret)


def with_certificate(url: str, var: Path, user: str = OPERATOR) -> BaseSettings:
    """The operator (or ``user``) on the local stack's bus: its client certificate under
    ``var/tls``, read by the settings loader like every other process's."""
    return load(BaseSettings, {"BASTION_NATS_URL": url, "BASTION_NATS_USER": user, **pki.env(var, user)})


@contextlib.asynccontextmanager
async def connected(settings: BaseSettings) -> AsyncIterator[Client]:
    """A connection as the operator (``settings``: :func:`with_password` or :func:`with_certificate`)."""
    nc = await nats.connect(settings.nats_url, max_reconnect_attempts=3, connect_timeout=5, name="bastion-operator",
                            **credentials(settings))  # fmt: skip
    try:
        yield nc
    finally:
        await nc.drain()


async def provision_streams(settings: BaseSettings, *, replicas: int = 1, wait_s: float = 30.0) -> None:
    """Create or update every stream (on ``replicas`` nodes) and durable consumer (waiting up to
    ``wait_s`` for the server)."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            async with connected(settings) as nc:
                await streams.provision(nc.jetstream(), replicas)
                return
        except (OSError, nats.errors.NoServersError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


def _advisory(seq: int, data: bytes) -> dict[str, Any]:
    body = json.loads(data)
    return {"id": seq, "kind": "max_deliveries", "stream": body.get("stream", ""),
            "stream_seq": body.get("stream_seq", 0), "consumer": body.get("consumer", ""),
            "reason": "max_deliveries", "deliveries": body.get("deliveries", 0),
            "ts": body.get("timestamp", "")}  # fmt: skip


def _letter(seq: int, letter: DeadLetter) -> dict[str, Any]:
    return {"id": seq, "kind": "dead_letter", "subject": letter.subject, "stream": letter.stream,
            "stream_seq": letter.stream_seq, "consumer": letter.consumer, "reason": letter.reason,
            "detail": letter.detail, "deliveries": letter.deliveries, "ts": letter.ts}  # fmt: skip


async def list_dead_letters(nc: Client, limit: int = 100) -> list[dict[str, Any]]:
    """The newest ``limit`` entries of the DEADLETTER stream (dead letters and advisories), oldest first."""
    js = nc.jetstream()
    info = await js.stream_info(subjects.DEADLETTER_STREAM)
    first, last = info.state.first_seq, info.state.last_seq
    out: list[dict[str, Any]] = []
    if not info.state.messages:
        return out
    for seq in range(max(first, last - limit + 1, 1), last + 1):
        try:
            msg = await js.get_msg(subjects.DEADLETTER_STREAM, seq)
        except NotFoundError:
            continue
        data = msg.data or b""
        if (msg.subject or "").startswith(subjects.MAX_DELIVERIES_ADVISORY):
            out.append(_advisory(seq, data))
        else:
            out.append(_letter(seq, _letters.decode(data)))
    return out


async def replay(nc: Client, entry_id: int) -> dict[str, Any]:
    """Publish dead-letter ``entry_id`` again on its original subject.

    For an advisory the message is read back from its own stream. The consumers are idempotent
    by event id, so replaying twice stores once. The message id is fresh: the stream's duplicate
    window must not swallow a replay of a message published moments ago.
    """
    js = nc.jetstream()
    msg = await js.get_msg(subjects.DEADLETTER_STREAM, entry_id)
    data = msg.data or b""
    if (msg.subject or "").startswith(subjects.MAX_DELIVERIES_ADVISORY):
        entry = _advisory(entry_id, data)
        original = await js.get_msg(entry["stream"], entry["stream_seq"])
        subject, payload = original.subject or "", original.data or b""
    else:
        letter = _letters.decode(data)
        entry, subject, payload = _letter(entry_id, letter), letter.subject, letter.payload
    ack = await js.publish(subject, payload, timeout=5.0, headers={"Nats-Msg-Id": f"replay.{entry_id}.{len(payload)}"})
    return {**entry, "replayed_to": subject, "replayed_seq": ack.seq}


async def service_metrics(nc: Client, service: str) -> str:
    """One replica's counters (Prometheus text)."""
    reply = await nc.request(subjects.metrics(service), encode(Ping(request_id="operator")), timeout=3)
    return _metrics.decode(reply.data).text
