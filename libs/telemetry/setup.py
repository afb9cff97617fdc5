"""OpenTelemetry tracer setup.

Spans carry ids, codes and timings, never request bodies, keys or tokens. When
``BASTION_TRACE_FILE`` is set, finished spans are appended to that file as JSON lines (used by
the local stack and by the tests that scan traces for leaked secrets).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult


class JsonLinesExporter(SpanExporter):
    """Append spans to a file, one JSON document per line."""

    def __init__(self, path: str) -> None:
        self._path = Path(path)
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = "".join(span.to_json(indent=None) + "\n" for span in spans)
        with self._lock, self._path.open("a", encoding="utf-8") as fh:
            fh.write(lines)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def setup(service: str, trace_file: str = "") -> trace.Tracer:
    """Install a tracer provider for ``service`` and return its tracer."""
    provider = TracerProvider(resource=Resource.create({"service.name": f"bastion-{service}"}))
    if trace_file:
        provider.add_span_processor(BatchSpanProcessor(JsonLinesExporter(trace_file), schedule_delay_millis=500))
    trace.set_tracer_provider(provider)
    return trace.get_tracer(f"bastion.{service}")


def shutdown() -> None:
    """Flush spans (called on process exit)."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.shutdown()
