"""The endpoint wrapper on FastStream's in-memory broker: every request gets a reply."""

from __future__ import annotations

import msgspec
from faststream.nats import NatsBroker, TestNatsBroker

from libs.contracts.codec import Codec, encode
from libs.contracts.errors import SERVICE_ERROR_CODE_HEADER, Code
from libs.contracts.messages import Denied, Fault, Ping, Pong
from libs.svc.rpc import endpoint
from libs.svc.runner import register_ping

_reply: Codec[Pong | Denied | Fault] = Codec(Pong | Denied | Fault)


class Echo(msgspec.Struct, frozen=True):
    request_id: str
    boom: bool = False


def make_broker(url: str = "nats://127.0.0.1:4222") -> NatsBroker:
    broker = NatsBroker(url, logger=None)

    @endpoint(broker, "t.echo.v1", queue="t", request_type=Echo)
    async def echo(req: Echo) -> Pong | Denied:
        if req.boom:
            raise RuntimeError("secret-input-must-not-leak sk-proj_abc_def")
        if req.request_id == "deny":
            return Denied(code="x.denied", reason="no")
        return Pong(service="t", instance=req.request_id, ready=True)

    return broker


async def test_reply_and_denial() -> None:
    broker = make_broker()
    async with TestNatsBroker(broker) as br:
        ok = _reply.decode((await br.request(encode(Echo(request_id="a")), "t.echo.v1")).body)
        denied = _reply.decode((await br.request(encode(Echo(request_id="deny")), "t.echo.v1")).body)
    assert ok == Pong(service="t", instance="a", ready=True)
    assert denied == Denied(code="x.denied", reason="no")


async def test_exception_becomes_internal_fault_without_details() -> None:
    broker = make_broker()
    async with TestNatsBroker(broker) as br:
        response = await br.request(encode(Echo(request_id="b", boom=True)), "t.echo.v1")
    reply = _reply.decode(response.body)
    assert isinstance(reply, Fault)
    assert reply.code == Code.INTERNAL
    assert b"secret" not in response.body
    assert b"sk-proj" not in response.body
    assert response.headers[SERVICE_ERROR_CODE_HEADER] == Code.INTERNAL


async def test_malformed_request_becomes_bad_request_fault() -> None:
    broker = make_broker()
    async with TestNatsBroker(broker) as br:
        for junk in (b"not json", b'{"wrong": 1}', b"[]"):
            reply = _reply.decode((await br.request(junk, "t.echo.v1")).body)
            assert isinstance(reply, Fault)
            assert reply.code == Code.BAD_REQUEST


async def test_ping_reports_readiness() -> None:
    broker = NatsBroker(logger=None)
    state = {"ready": True}

    async def ready() -> bool:
        return state["ready"]

    register_ping(broker, "svc", "svc-1", ready)
    async with TestNatsBroker(broker) as br:
        up = _reply.decode((await br.request(encode(Ping(request_id="p")), "gw.svc.ping.v1")).body)
        state["ready"] = False
        down = _reply.decode((await br.request(encode(Ping(request_id="p")), "gw.svc.ping.v1")).body)
    assert up == Pong(service="svc", instance="svc-1", ready=True)
    assert down == Pong(service="svc", instance="svc-1", ready=False)
