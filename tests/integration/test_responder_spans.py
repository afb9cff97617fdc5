"""A span per bus message on a real nats-server: parent link from the caller's traceparent,
error code of a fault, duration, sampling by OTEL_TRACES_SAMPLER — in the trace file."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from opentelemetry.trace import SpanKind, Tracer

from libs.contracts.codec import encode
from libs.contracts.messages import Ping
from libs.svc.settings import BaseSettings, TraceSampling, load
from libs.telemetry import setup as telemetry
from libs.telemetry.bus import inject_headers
from tests.unit.svc.test_micro import Echo, make_service

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


async def serve(nats_url: str, trace_file: Path, sampling: TraceSampling) -> AsyncIterator[tuple[Client, Tracer]]:
    tracer = telemetry.setup("t", str(trace_file), settings=load(BaseSettings, {}), sampling=sampling)
    svc = make_service()
    server_side = await nats.connect(nats_url)
    client = await nats.connect(nats_url)
    await svc.start(server_side)  # the recorder installed by setup()
    try:
        yield client, tracer
    finally:
        await svc.drain()
        await client.close()
        await server_side.close()
        telemetry.shutdown()  # flushes


@pytest.fixture
async def traced(nats_url: str, tmp_path: Path) -> AsyncIterator[tuple[Client, Tracer, Path]]:
    path = tmp_path / "t.jsonl"
    async for client, tracer in serve(nats_url, path, TraceSampling()):
        yield client, tracer, path


def spans(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


async def test_each_message_is_a_child_span_of_its_caller(traced: tuple[Client, Tracer, Path]) -> None:
    client, tracer, path = traced
    caller = f"00-{TRACE}-00f067aa0ba902b7-01"
    await client.request("t.echo.v1", encode(Echo(request_id="a")), timeout=2, headers={"traceparent": caller})
    await client.request("t.echo.v1", encode(Echo(request_id="b", boom=True)), timeout=2)
    await client.request("t.echo.v1", b"not json", timeout=2, headers={"traceparent": "junk"})
    with tracer.start_as_current_span("caller", kind=SpanKind.CLIENT):  # as a traced caller would
        headers = inject_headers()  # libs/svc/bus.py: Bus.request
        await client.request("gw.t.ping.v1", encode(Ping(request_id="p")), timeout=2, headers=headers)
    telemetry.shutdown()
    ok, boom, bad, caller_span, ping = sorted(spans(path), key=lambda s: s["start_ns"])
    assert ok["trace_id"] == TRACE
    assert ok["parent_span_id"] == "00f067aa0ba902b7"
    assert ok["name"] == "t.echo.v1"
    assert ok["kind"] == "SERVER"
    assert ok["service"] == "bastion-t"
    assert "status" not in ok
    assert isinstance(ok["start_ns"], int)
    assert isinstance(ok["end_ns"], int)
    assert 0 < ok["end_ns"] - ok["start_ns"] < 1_000_000_000
    assert boom["status"] == "ERROR"
    assert boom["attributes"] == {"bastion.error_code": "internal"}
    assert "parent_span_id" not in boom  # no traceparent: a root of a fresh trace
    assert boom["trace_id"] != TRACE
    assert bad["attributes"] == {"bastion.error_code": "bad_request"}
    assert ping["name"] == "gw.t.ping.v1"
    assert caller_span["name"] == "caller"  # made through the OpenTelemetry API: same file, same format
    assert ping["trace_id"] == caller_span["trace_id"]
    assert ping["parent_span_id"] == caller_span["span_id"]
    raw = path.read_bytes()
    assert b"secret-input-must-not-leak" not in raw
    assert b"sk-proj" not in raw


async def test_sampling_follows_the_caller_and_the_ratio(nats_url: str, tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    env = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"}
    async for client, _ in serve(nats_url, path, load(TraceSampling, env, prefix="OTEL_")):
        for flags in ("01", "00"):
            headers = {"traceparent": f"00-{TRACE}-00f067aa0ba902b7-{flags}"}
            await client.request("t.echo.v1", encode(Echo(request_id=flags)), timeout=2, headers=headers)
        for _ in range(20):  # roots at ratio 0: none kept
            await client.request("t.echo.v1", encode(Echo(request_id="r")), timeout=2)
    (only,) = spans(path)
    assert only["trace_id"] == TRACE
