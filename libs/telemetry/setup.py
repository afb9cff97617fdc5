"""Tracing setup: one trace file per service, spans of ids, codes and timings only.

Spans carry ids, codes and timings, never request bodies, keys or tokens. When
``BASTION_TRACE_FILE`` is set, finished spans are appended to that file as compact JSON lines
(:class:`libs.telemetry.spans.SpanLine`; the local stack and the tests that scan traces for
leaked secrets read them), rotated by size and age (``BASTION_TRACE_MAX_MB``, ``_BACKUPS``,
``_MAX_AGE_DAYS``). Bus responders record through :mod:`libs.telemetry.spans`; spans made through
the OpenTelemetry API go to the same file, sampled the same way (``OTEL_TRACES_SAMPLER[_ARG]``).
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from libs.svc.rotation import RotatingFile
from libs.svc.settings import BaseSettings, TraceSampling, load
from libs.telemetry import spans


def setup(
    service: str,
    trace_file: str = "",
    *,
    settings: BaseSettings | None = None,
    sampling: TraceSampling | None = None,
) -> trace.Tracer:
    """Install tracing for ``service`` (``settings`` and ``sampling`` default to the environment's)."""
    settings = settings if settings is not None else load(BaseSettings)
    sampler = spans.Sampler(sampling if sampling is not None else load(TraceSampling, prefix="OTEL_"))
    name = f"bastion-{service}"
    _close_recorder()
    provider = TracerProvider(resource=Resource.create({"service.name": name}), sampler=sampler.for_sdk())
    if trace_file:
        sink = spans.TraceFile(RotatingFile(trace_file, settings.trace_rotation()))
        provider.add_span_processor(SimpleSpanProcessor(spans.CompactExporter(name, sink)))
        spans.install(spans.SpanRecorder(name, sink, sampler))
    trace.set_tracer_provider(provider)  # the first one per process wins (OpenTelemetry's rule)
    return provider.get_tracer(f"bastion.{service}")


def shutdown() -> None:
    """Flush spans (called on process exit)."""
    _close_recorder()
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.shutdown()


def _close_recorder() -> None:
    current = spans.recorder()
    spans.install(spans.OFF)
    if isinstance(current, spans.SpanRecorder):
        current.sink.close()
