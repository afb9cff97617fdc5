"""The edge's side of the bus: raw nats-py requests on the hot path.

Every request has a deadline. No responders (no replica subscribed) arrives in well under a
millisecond and is retried once after a short pause, because just after a reconnect a service
may not have resubscribed yet. A timeout, no responders or a fault reply all end in
:class:`Unavailable`, which the routes turn into a 503: the edge fails closed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, TypeVar

import msgspec
import nats
from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from libs.contracts.codec import Codec, encode
from libs.contracts.messages import Fault
from libs.svc import metrics, tls
from libs.svc.settings import BaseSettings
from libs.telemetry.bus import inject_headers

log = logging.getLogger("bastion.bus")
T = TypeVar("T")


class Unavailable(Exception):
    """A service did not answer in time (or answered with a fault)."""

    def __init__(self, service: str, why: str, outcome: str = "fault") -> None:
        super().__init__(f"{service}: {why}")
        self.service = service
        self.why = why
        self.outcome = outcome
        """For ``bastion_bus_requests_total``: timeout, no_responders, fault, malformed or error."""


def inbox_for(user: str) -> str:
    """The reply-inbox prefix of a bus user: the server lets no other user subscribe under it
    (libs/stack/nats_users.py), so nobody can read another process's replies."""
    return f"_INBOX_{user}" if user else "_INBOX"


def inbox_prefix(settings: BaseSettings) -> str:
    """Reply-inbox prefix of this process."""
    return inbox_for(settings.nats_user)


def credentials(settings: BaseSettings) -> dict[str, Any]:
    """nats-py options that say who this process is: a client certificate (mutual TLS: the server
    maps it to the bus user, so no user or password is sent), else a user and password."""
    options: dict[str, Any] = {}
    if settings.nats_user:
        options["inbox_prefix"] = inbox_prefix(settings)
    if settings.nats_tls_ca or settings.nats_tls_cert:
        options.update(tls=tls.client_context(settings.nats_tls_ca, settings.nats_tls_cert, settings.nats_tls_key),
                       tls_handshake_first=True)  # fmt: skip  # no plaintext byte, not even the server's INFO
    elif settings.nats_user:
        options.update(user=settings.nats_user, password=settings.nats_password)
    return options


async def connect(settings: BaseSettings, name: str) -> Client:
    """Connect with fast, endless reconnects (a restarted nats-server is picked up in ~0.25 s)."""
    return await nats.connect(servers=[settings.nats_url], name=name, max_reconnect_attempts=-1,
                              reconnect_time_wait=0.25, connect_timeout=2, **credentials(settings))  # fmt: skip


async def settled(nc: Client) -> None:
    """Return once the server has processed every command written so far on ``nc`` (its
    subscriptions above all): only then may a process say it is ready.

    ``nc.flush()`` alone does not promise that in nats-py 2.16: it writes its PING straight to the
    socket, while a SUB queued just before it may still wait in the client's pending buffer for
    the flusher task, so the PONG can come back before the server has the subscription (a request
    from another connection then gets "no responders"). The first flush kicks the flusher, which
    writes the pending commands while that PING is on its round trip; the second PING follows
    them on the socket, so its PONG means the server has them
    (tests/integration/test_subscribe_settled.py)."""
    await nc.flush()
    await nc.flush()


async def close_quietly(nc: Client) -> None:
    """Drain if the server is there, else just close (shutdown must not fail on a gone server)."""
    try:
        await asyncio.wait_for(nc.drain(), timeout=5)
    except Exception:  # noqa: BLE001 - reconnecting, already closed, timed out
        await nc.close()


class Bus:
    """Typed request/reply over one NATS connection."""

    def __init__(self, nc: Client, timeout_s: float) -> None:
        self.nc = nc
        self._timeout = timeout_s

    async def request(
        self, service: str, subject: str, message: Any, codec: Codec[T], *, timeout_s: float | None = None
    ) -> T:
        """Send ``message`` and decode the reply; raise :class:`Unavailable` if none comes within
        ``timeout_s`` (default: the bus timeout; longer only for a command known to be slow)."""
        loop = asyncio.get_running_loop()
        began = loop.time()
        outcome = "error"
        try:
            reply: T = await self._request(loop, service, subject, message, codec, timeout_s)
            outcome = "ok"
            return reply
        except Unavailable as exc:
            outcome = exc.outcome
            raise
        finally:
            metrics.BUS_REQUESTS.child(service, outcome)[0] += 1
            metrics.observe(metrics.BUS_SECONDS.buckets, metrics.BUS_SECONDS.child(service), loop.time() - began)

    async def _request(self, loop: asyncio.AbstractEventLoop, service: str, subject: str, message: Any,
                       codec: Codec[T], timeout_s: float | None) -> T:  # fmt: skip
        payload = encode(message)
        headers = inject_headers()
        deadline = loop.time() + (self._timeout if timeout_s is None else timeout_s)
        for attempt in (1, 2):
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                msg = await self.nc.request(subject, payload, timeout=remaining, headers=headers)
            except NoRespondersError:
                if attempt == 1:
                    await asyncio.sleep(min(0.05, max(0.0, deadline - loop.time())))
                    continue
                raise Unavailable(service, "no responders", "no_responders") from None
            except NatsTimeout:
                raise Unavailable(service, "timeout", "timeout") from None
            except Exception as exc:  # noqa: BLE001 - connection closed, draining, ...
                raise Unavailable(service, type(exc).__name__, "error") from None
            try:
                reply = codec.decode(msg.data)
            except (msgspec.DecodeError, msgspec.ValidationError):
                raise Unavailable(service, "malformed reply", "malformed") from None
            if isinstance(reply, Fault):
                raise Unavailable(service, reply.code)
            return reply
        raise Unavailable(service, "no responders", "no_responders")
