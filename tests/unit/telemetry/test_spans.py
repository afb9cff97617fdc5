"""Responder spans: W3C parent links, OpenTelemetry's sampler variables, the compact line format."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, StatusCode

from libs.svc.rotation import RotatingFile, Rotation
from libs.svc.settings import TraceSampling, load
from libs.telemetry.spans import CompactExporter, Sampler, SpanRecorder, TraceFile, parse_traceparent

TRACE = "0af7651916cd43dd8448eb211c80319c"
PARENT = "b7ad6b7169203331"


def sink(tmp_path: Path) -> TraceFile:
    return TraceFile(RotatingFile(tmp_path / "t.jsonl", Rotation(10_000_000, 1, 86_400.0)))


def lines(trace_file: TraceFile) -> list[dict[str, object]]:
    trace_file.flush()
    path = trace_file.file.path
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"00-{TRACE}-{PARENT}-01", (TRACE, PARENT, True)),
        (f"00-{TRACE}-{PARENT}-00", (TRACE, PARENT, False)),
        (f"01-{TRACE}-{PARENT}-03-future", (TRACE, PARENT, True)),  # a later version may add fields
        (f"00-{TRACE}-{PARENT}-01-extra", None),  # version 00 has exactly four fields
        (f"ff-{TRACE}-{PARENT}-01", None),
        (f"00-{'0' * 32}-{PARENT}-01", None),
        (f"00-{TRACE}-{'0' * 16}-01", None),
        (f"00-{TRACE.upper()}-{PARENT}-01", None),
        (f"00-{TRACE[:-1]}-{PARENT}-01", None),
        ("garbage", None),
        ("", None),
        (None, None),
    ],
)
def test_traceparent_is_parsed_strictly(header: str | None, expected: tuple[str, str, bool] | None) -> None:
    assert parse_traceparent(header) == expected


def test_sampler_comes_from_the_standard_otel_variables_through_the_loader() -> None:
    env = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25"}
    sampling = load(TraceSampling, env, prefix="OTEL_")
    sampler = Sampler(sampling)
    assert sampler.parent_based
    assert sampler.ratio == 0.25
    # the caller's decision wins whatever the ratio
    assert sampler.sampled(2**64 - 1, parent_sampled=True)
    assert not sampler.sampled(0, parent_sampled=False)
    # roots: the low 64 bits of the trace id against ratio × 2^64, as the SDK's TraceIdRatioBased
    assert sampler.sampled((7 << 64) | (2**62 - 1), None)
    assert not sampler.sampled(2**62, None)
    rng = random.Random(5)
    kept = sum(sampler.sampled(rng.getrandbits(128), None) for _ in range(20_000))
    assert 4_500 < kept < 5_500


def test_default_and_unknown_samplers_sample_everything() -> None:
    for sampling in (load(TraceSampling, {}, prefix="OTEL_"), TraceSampling(traces_sampler="nonsense")):
        sampler = Sampler(sampling)
        assert all(sampler.sampled(random.getrandbits(128), None) for _ in range(200))
        assert not sampler.sampled(1, parent_sampled=False)  # parent-based: an unsampled caller stays so
    assert Sampler(TraceSampling(traces_sampler="traceidratio", traces_sampler_arg="x")).ratio == 1.0
    assert Sampler(TraceSampling(traces_sampler="traceidratio", traces_sampler_arg="1.5")).ratio == 1.0


def test_always_off_and_non_parent_based_ignore_the_caller() -> None:
    off = Sampler(TraceSampling(traces_sampler="always_off"))
    assert not off.sampled(2**64 - 1, parent_sampled=True)
    assert not off.sampled(0, None)
    on = Sampler(TraceSampling(traces_sampler="always_on"))
    assert on.sampled(2**64 - 1, parent_sampled=False)


def test_a_span_is_the_child_of_the_callers_traceparent(tmp_path: Path) -> None:
    out = sink(tmp_path)
    recorder = SpanRecorder("bastion-t", out)
    before = time.time_ns()
    span = recorder.server_span("gw.t.echo.v1", {"traceparent": f"00-{TRACE}-{PARENT}-01", "x": "y"})
    assert span is not None
    time.sleep(0.01)
    span.end()
    after = time.time_ns()
    (line,) = lines(out)
    assert line["trace_id"] == TRACE
    assert line["parent_span_id"] == PARENT
    assert isinstance(line["span_id"], str)
    assert len(line["span_id"]) == 16
    assert line["span_id"] != PARENT
    assert line["name"] == "gw.t.echo.v1"
    assert line["kind"] == "SERVER"
    assert line["service"] == "bastion-t"
    start, end = line["start_ns"], line["end_ns"]
    assert isinstance(start, int)
    assert isinstance(end, int)
    assert before <= start < end <= after + 1_000_000
    assert end - start >= 10_000_000  # the handler's 10 ms
    assert "status" not in line
    assert "attributes" not in line


def test_a_fault_is_an_error_with_its_code_and_roots_get_fresh_ids(tmp_path: Path) -> None:
    out = sink(tmp_path)
    recorder = SpanRecorder("bastion-t", out)
    for headers in (None, {}, {"traceparent": "junk"}):
        span = recorder.server_span("gw.t.echo.v1", headers)
        assert span is not None
        span.end("internal")
    found = lines(out)
    assert len(found) == 3
    assert len({line["trace_id"] for line in found}) == 3
    for line in found:
        assert "parent_span_id" not in line
        assert line["status"] == "ERROR"
        assert line["attributes"] == {"bastion.error_code": "internal"}
        assert isinstance(line["trace_id"], str)
        assert len(line["trace_id"]) == 32


def test_unsampled_messages_make_no_span(tmp_path: Path) -> None:
    out = sink(tmp_path)
    recorder = SpanRecorder("bastion-t", out, Sampler(TraceSampling()))
    assert recorder.server_span("s", {"traceparent": f"00-{TRACE}-{PARENT}-00"}) is None
    off = SpanRecorder("bastion-t", out, Sampler(TraceSampling(traces_sampler="always_off")))
    assert off.server_span("s", None) is None
    assert lines(out) == []


def test_sdk_spans_are_written_in_the_same_format(tmp_path: Path) -> None:
    out = sink(tmp_path)
    provider = TracerProvider(resource=Resource.create({"service.name": "bastion-t"}))
    provider.add_span_processor(SimpleSpanProcessor(CompactExporter("bastion-t", out)))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("outer", kind=SpanKind.CLIENT) as outer:
        outer.set_attribute("bastion.error_code", "x.denied")
        outer.set_status(StatusCode.ERROR)
        with tracer.start_as_current_span("inner"):
            pass
    inner_line, outer_line = lines(out)
    assert inner_line["parent_span_id"] == outer_line["span_id"]
    assert inner_line["trace_id"] == outer_line["trace_id"]
    assert outer_line["kind"] == "CLIENT"
    assert outer_line["status"] == "ERROR"
    assert outer_line["attributes"] == {"bastion.error_code": "x.denied"}
    assert outer_line["service"] == "bastion-t"
    assert "resource" not in outer_line
    provider.shutdown()


def test_a_stuck_disk_drops_lines_instead_of_growing_memory(tmp_path: Path) -> None:
    out = TraceFile(RotatingFile(tmp_path / "t.jsonl", Rotation(10_000_000, 1, 86_400.0)), max_buffer=1000)
    for _ in range(100):
        out.add(b"x" * 99)
    assert out.dropped == 89
    out.file.path = tmp_path / "missing-dir" / "sub"  # not writable: a file where a directory must be
    (tmp_path / "missing-dir").write_text("")
    out.flush()  # does not raise
    assert out.dropped == 100


def test_the_current_span_is_the_parent_of_bus_requests_and_events() -> None:
    import asyncio

    from libs.telemetry import bus as tracebus
    from libs.telemetry import spans as tracing

    sink_lines: list[bytes] = []

    class Sink:
        def add(self, line: bytes) -> None:
            sink_lines.append(line)

    recorder = tracing.SpanRecorder("bastion-edge", Sink())  # type: ignore[arg-type]
    span = recorder.server_span("edge chat.completion", None)
    assert span is not None

    async def in_a_task_it_starts() -> dict[str, str]:
        return tracebus.inject_headers({"Nats-Msg-Id": "x"})

    async def request() -> dict[str, str]:
        tracing.set_current(span)
        return await asyncio.ensure_future(in_a_task_it_starts())  # e.g. the checks sent ahead

    headers = asyncio.run(request())
    assert headers["traceparent"] == f"00-{span.trace_id}-{span.span_id}-01"
    assert headers["Nats-Msg-Id"] == "x"
    assert tracing.current_traceparent() is None  # another task (here: none) is not affected
