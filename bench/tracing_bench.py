"""CPU per bus-message span: created, ended and written to the trace file (issue 11).

    PYTHONPATH=$PWD .venv/bin/python bench/tracing_bench.py [--spans 20000] [--rounds 3]

Three ways, in alternating rounds, each with and without a caller ``traceparent`` header:

* ``before``: what ``libs/svc/micro.py`` did until issue 11 — an OpenTelemetry SDK span started
  as current from ``extract_context(headers)``, two attributes, a ``BatchSpanProcessor`` and an
  exporter writing ``ReadableSpan.to_json`` lines (resource included);
* ``sdk+compact``: the SDK kept, but ``start_span`` (not made current) and the compact
  ``CompactExporter`` lines (the cheapest SDK variant measured);
* ``now``: ``libs/telemetry/spans.py`` — ``SpanRecorder.server_span`` / ``ServerSpan.end`` into a
  ``TraceFile`` over a ``RotatingFile``.

CPU is the process's (every thread: the exporters write from a background thread), divided by the
number of spans, flush included. The batch processor's queue is made large enough to drop
nothing (at 20k spans in a tight loop the default 2,048 would drop most of them and look cheap).
Prints µs per span, bytes per line, and the ratio before/now.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from libs.svc.rotation import RotatingFile, Rotation
from libs.telemetry.bus import extract_context
from libs.telemetry.spans import CompactExporter, SpanRecorder, TraceFile

SUBJECT = "gw.guard.scan.v1"
CALLER = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
ROTATION = Rotation(max_bytes=1 << 30, backups=1, max_age_s=86_400.0)


class ToJsonExporter(SpanExporter):
    """The exporter as it was (``libs/telemetry/setup.py:JsonLinesExporter`` before issue 11)."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = "".join(span.to_json(indent=None) + "\n" for span in spans)
        with self._path.open("a", encoding="utf-8") as fh:
            fh.write(lines)
        return SpanExportResult.SUCCESS


def provider() -> TracerProvider:
    return TracerProvider(resource=Resource.create({"service.name": "bastion-guardrails"}))


def before(path: Path, n: int, headers: dict[str, str] | None) -> None:
    p = provider()
    p.add_span_processor(BatchSpanProcessor(ToJsonExporter(path), max_queue_size=n + 1, schedule_delay_millis=500))
    tracer = p.get_tracer("bastion.guardrails")
    for _ in range(n):
        started = time.perf_counter()
        with tracer.start_as_current_span(
            SUBJECT, context=extract_context(headers), kind=trace.SpanKind.SERVER
        ) as span:
            span.set_attribute("bastion.duration_ms", (time.perf_counter() - started) * 1000)
    p.shutdown()


def sdk_compact(path: Path, n: int, headers: dict[str, str] | None) -> None:
    p = provider()
    sink = TraceFile(RotatingFile(path, ROTATION))
    p.add_span_processor(SimpleSpanProcessor(CompactExporter("bastion-guardrails", sink)))
    tracer = p.get_tracer("bastion.guardrails")
    for _ in range(n):
        span = tracer.start_span(SUBJECT, context=extract_context(headers), kind=trace.SpanKind.SERVER)
        span.end()
    sink.close()
    p.shutdown()


def now(path: Path, n: int, headers: dict[str, str] | None) -> None:
    sink = TraceFile(RotatingFile(path, ROTATION))
    recorder = SpanRecorder("bastion-guardrails", sink)
    for _ in range(n):
        span = recorder.server_span(SUBJECT, headers)
        assert span is not None
        span.end(None)
    sink.close()


WAYS: dict[str, Callable[[Path, int, dict[str, str] | None], None]] = {
    "before": before,
    "sdk+compact": sdk_compact,
    "now": now,
}


def measure(way: str, n: int, headers: dict[str, str] | None, folder: Path) -> tuple[float, float]:
    """(µs of process CPU per span, bytes per line)."""
    path = folder / f"{way}-{time.monotonic_ns()}.jsonl"
    cpu0 = time.process_time()
    WAYS[way](path, n, headers)
    cpu = time.process_time() - cpu0
    lines = path.read_bytes().count(b"\n")
    assert lines == n, f"{way}: {lines} of {n} spans written"
    size = path.stat().st_size
    path.unlink()
    return cpu / n * 1e6, size / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spans", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tracing-bench-") as tmp:
        folder = Path(tmp)
        for label, headers in (("no traceparent (a root span)", None), ("with a caller's traceparent", CALLER)):
            cpu: dict[str, list[float]] = {w: [] for w in WAYS}
            size: dict[str, float] = {}
            for _ in range(args.rounds):
                for way in WAYS:  # alternating: a busy moment of the machine hits every way alike
                    us, size[way] = measure(way, args.spans, headers, folder)
                    cpu[way].append(us)
            print(f"\n{label}: {args.spans} spans × {args.rounds} rounds (median, min–max µs CPU per span)")
            for way in WAYS:
                runs = cpu[way]
                print(f"  {way:12s} {statistics.median(runs):6.1f} µs  ({min(runs):.1f}–{max(runs):.1f})"
                      f"  {size[way]:5.0f} B/line")  # fmt: skip
            ratio = statistics.median(cpu["before"]) / statistics.median(cpu["now"])
            print(f"  before/now: {ratio:.1f}×")


if __name__ == "__main__":
    main()
