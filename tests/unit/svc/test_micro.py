"""Endpoints on the in-memory bus: every request gets a reply, whatever the handler does."""

from __future__ import annotations

import msgspec

from libs.contracts.codec import Codec, encode
from libs.contracts.errors import SERVICE_ERROR_CODE_HEADER, Code
from libs.contracts.messages import Denied, Fault, Ping, Pong
from libs.svc.micro import MemoryBus, Service
from libs.svc.runner import register_ping

reply_codec: Codec[Pong | Denied | Fault] = Codec(Pong | Denied | Fault)


class Echo(msgspec.Struct, frozen=True):
    request_id: str
    boom: bool = False


def make_service() -> Service:
    svc = Service("t")

    @svc.endpoint("t.echo.v1", Echo)
    async def echo(req: Echo) -> Pong | Denied:
        if req.boom:
            raise RuntimeError("secret-input-must-not-leak sk-proj_abc_def")
        if req.request_id == "deny":
            return Denied(code="x.denied", reason="no")
        return Pong(service="t", instance=req.request_id, ready=True)

    register_ping(svc, "t-1", None)
    return svc


async def test_reply_denial_fault_and_bad_input() -> None:
    bus = MemoryBus(make_service())
    ok = reply_codec.decode((await bus.request("t.echo.v1", encode(Echo(request_id="a")))).data)
    assert ok == Pong(service="t", instance="a", ready=True)
    denied = reply_codec.decode((await bus.request("t.echo.v1", encode(Echo(request_id="deny")))).data)
    assert denied == Denied(code="x.denied", reason="no")
    boom = await bus.request("t.echo.v1", encode(Echo(request_id="b", boom=True)))
    fault = reply_codec.decode(boom.data)
    assert isinstance(fault, Fault)
    assert fault.code == Code.INTERNAL
    assert b"secret" not in boom.data
    assert b"sk-proj" not in boom.data
    assert boom.headers
    assert boom.headers[SERVICE_ERROR_CODE_HEADER] == Code.INTERNAL
    for junk in (b"not json", b'{"wrong": 1}', b"[]"):
        bad = reply_codec.decode((await bus.request("t.echo.v1", junk)).data)
        assert isinstance(bad, Fault)
        assert bad.code == Code.BAD_REQUEST


async def test_ping_reports_readiness() -> None:
    state = {"ready": True}

    async def ready() -> bool:
        return state["ready"]

    svc = Service("svc")
    register_ping(svc, "svc-1", ready)
    bus = MemoryBus(svc)
    up = reply_codec.decode((await bus.request("gw.svc.ping.v1", encode(Ping(request_id="p")))).data)
    state["ready"] = False
    down = reply_codec.decode((await bus.request("gw.svc.ping.v1", encode(Ping(request_id="p")))).data)
    assert up == Pong(service="svc", instance="svc-1", ready=True)
    assert down == Pong(service="svc", instance="svc-1", ready=False)


async def test_listeners_fan_out() -> None:
    svc = Service("svc")
    seen: list[bytes] = []

    @svc.listen("evt.x")
    async def on_x(data: bytes) -> None:
        seen.append(data)

    await MemoryBus(svc).publish("evt.x", b"1")
    assert seen == [b"1"]
