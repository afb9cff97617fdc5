"""One test body, two brokers: the endpoint wrapper behaves the same in memory and on a real server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from faststream.nats import NatsBroker, TestNatsBroker

from libs.contracts.codec import Codec, encode
from libs.contracts.errors import Code
from libs.contracts.messages import Denied, Fault, Ping, Pong
from libs.svc.runner import register_ping
from tests.unit.svc.test_rpc_memory import Echo, make_broker

_reply: Codec[Pong | Denied | Fault] = Codec(Pong | Denied | Fault)


@pytest.fixture(params=["memory", "real"])
async def broker(request: pytest.FixtureRequest, nats_url: str) -> AsyncIterator[NatsBroker]:
    b = make_broker(nats_url)
    register_ping(b, "t", "t-1", None)
    if request.param == "memory":
        async with TestNatsBroker(b) as br:
            yield br
    else:
        await b.start()
        try:
            yield b
        finally:
            await b.stop()


async def test_every_request_gets_a_reply(broker: NatsBroker) -> None:
    async def ask(body: bytes, subject: str = "t.echo.v1") -> Pong | Denied | Fault:
        return _reply.decode((await broker.request(body, subject, timeout=2)).body)

    assert await ask(encode(Echo(request_id="a"))) == Pong(service="t", instance="a", ready=True)
    assert isinstance(await ask(encode(Echo(request_id="deny"))), Denied)
    boom = await ask(encode(Echo(request_id="b", boom=True)))
    assert isinstance(boom, Fault) and boom.code == Code.INTERNAL
    junk = await ask(b"not json")
    assert isinstance(junk, Fault) and junk.code == Code.BAD_REQUEST
    pong = await ask(encode(Ping(request_id="p")), "gw.t.ping.v1")
    assert pong == Pong(service="t", instance="t-1", ready=True)
