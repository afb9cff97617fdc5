"""One test body, two transports: endpoints behave the same in memory and on a real nats-server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import nats
import nats.errors
import pytest

from libs.contracts.codec import encode
from libs.contracts.errors import Code
from libs.contracts.messages import Denied, Fault, Ping, Pong
from libs.svc.micro import MemoryBus
from tests.unit.svc.test_micro import Echo, make_service, reply_codec

Ask = Callable[[str, bytes], Awaitable[bytes]]


@pytest.fixture(params=["memory", "real"])
async def ask(request: pytest.FixtureRequest, nats_url: str) -> AsyncIterator[Ask]:
    svc = make_service()
    if request.param == "memory":
        bus = MemoryBus(svc)

        async def via_memory(subject: str, data: bytes) -> bytes:
            return (await bus.request(subject, data)).data

        yield via_memory
        return
    server_side = await nats.connect(nats_url)
    client = await nats.connect(nats_url)
    await svc.start(server_side)

    async def via_nats(subject: str, data: bytes) -> bytes:
        try:
            return (await client.request(subject, data, timeout=2)).data
        except nats.errors.NoRespondersError:  # interest not yet propagated: the edge's Bus retries too
            await asyncio.sleep(0.1)
            return (await client.request(subject, data, timeout=2)).data

    try:
        yield via_nats
    finally:
        await svc.drain()
        await client.close()
        await server_side.close()


async def test_every_request_gets_a_reply(ask: Ask) -> None:
    assert reply_codec.decode(await ask("t.echo.v1", encode(Echo(request_id="a")))) == Pong(
        service="t", instance="a", ready=True
    )
    assert isinstance(reply_codec.decode(await ask("t.echo.v1", encode(Echo(request_id="deny")))), Denied)
    boom = reply_codec.decode(await ask("t.echo.v1", encode(Echo(request_id="b", boom=True))))
    assert isinstance(boom, Fault)
    assert boom.code == Code.INTERNAL
    junk = reply_codec.decode(await ask("t.echo.v1", b"not json"))
    assert isinstance(junk, Fault)
    assert junk.code == Code.BAD_REQUEST
    pong = reply_codec.decode(await ask("gw.t.ping.v1", encode(Ping(request_id="p"))))
    assert pong == Pong(service="t", instance="t-1", ready=True)
