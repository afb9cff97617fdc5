"""Server spans for bus messages at a few microseconds each, written as compact JSON lines.

Why not the OpenTelemetry SDK's spans on this path: measured with ``bench/tracing_bench.py``, an
SDK span started as current, with two attributes and exported by ``ReadableSpan.to_json`` cost
~45–50 µs of CPU; still ~15–20 µs with ``start_span`` and a compact exporter (its locks, bounded
attribute maps, sampler call, ``ReadableSpan`` copy and span-processor fan-out); the
:class:`ServerSpan` here ~2–4 µs. Every bus message in auth, guardrails and vault makes one.

What a span keeps is what traces are for here: the trace id and the parent span id from the
message's W3C ``traceparent`` header (``libs/telemetry/bus.py`` puts it there), a fresh span id,
the subject as name, kind, start and end (duration from the monotonic clock), the error code of
a fault reply with status ``ERROR``, and the service name. Never a body, key or token.

Sampling follows OpenTelemetry's ``OTEL_TRACES_SAMPLER`` / ``OTEL_TRACES_SAMPLER_ARG`` (read by
the settings loader, :class:`libs.svc.settings.TraceSampling`): ``always_on``, ``always_off``,
``traceidratio`` and their ``parentbased_*`` forms, decided as the SDK decides (a sampled parent
keeps the child, else the trace id's low 64 bits against the ratio).
"""

from __future__ import annotations

import contextvars
import logging
import random
import re
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace import sampling as otel_sampling
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import StatusCode

from libs.svc.rotation import RotatingFile
from libs.svc.settings import TraceSampling

log = logging.getLogger("bastion.telemetry")


class SpanLine(msgspec.Struct, omit_defaults=True):
    """One line of a trace file. Ids are lowercase hex as in ``traceparent``; times are Unix ns."""

    trace_id: str
    span_id: str
    name: str
    kind: str
    start_ns: int
    end_ns: int
    service: str
    parent_span_id: str = ""
    status: str = ""
    """``ERROR`` when the span failed (the ``bastion.error_code`` attribute says how), else omitted."""
    attributes: dict[str, Any] = {}


_encoder = msgspec.json.Encoder()
_LOW_64 = (1 << 64) - 1
# version-traceid-parentid-flags; a future version may append fields after another "-"
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_INVALID_TRACE, _INVALID_SPAN = "0" * 32, "0" * 16


def parse_traceparent(value: str | None) -> tuple[str, str, bool] | None:
    """``(trace_id, parent_span_id, sampled)`` of a valid W3C ``traceparent``, else ``None``."""
    if not value:
        return None
    match = _TRACEPARENT.fullmatch(value.strip())
    if match is None:
        return None
    version, trace_id, span_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest) or trace_id == _INVALID_TRACE or span_id == _INVALID_SPAN:
        return None
    return trace_id, span_id, bool(int(flags, 16) & 1)


class Sampler:
    """OpenTelemetry's built-in samplers, by their ``OTEL_TRACES_SAMPLER`` names."""

    _NAMES = ("always_on", "always_off", "traceidratio")

    def __init__(self, settings: TraceSampling | None = None) -> None:
        settings = settings or TraceSampling()
        name = settings.traces_sampler.strip().lower()
        self.parent_based = name.startswith("parentbased_")
        root = name.removeprefix("parentbased_")
        if root not in self._NAMES:
            log.warning("unknown OTEL_TRACES_SAMPLER; sampling every trace", extra={"sampler": name[:40]})
            self.parent_based, root = True, "always_on"
        ratio = {"always_on": 1.0, "always_off": 0.0}.get(root)
        if ratio is None:
            ratio = _ratio(settings.traces_sampler_arg)
        self.ratio = ratio
        self._bound = round(ratio * (_LOW_64 + 1))  # as TraceIdRatioBased

    def sampled(self, trace_id: int, parent_sampled: bool | None) -> bool:
        """Whether to record a span of ``trace_id`` (``parent_sampled``: the caller's decision, if any)."""
        if self.parent_based and parent_sampled is not None:
            return parent_sampled
        return (trace_id & _LOW_64) < self._bound

    def for_sdk(self) -> otel_sampling.Sampler:
        """The same decision as an SDK sampler (for spans made through the OpenTelemetry API)."""
        root = otel_sampling.TraceIdRatioBased(self.ratio)
        return otel_sampling.ParentBased(root) if self.parent_based else root


def _ratio(arg: str) -> float:
    try:
        ratio = float(arg)
    except ValueError:
        ratio = -1.0
    if not 0.0 <= ratio <= 1.0:
        log.warning("OTEL_TRACES_SAMPLER_ARG is not a ratio in [0, 1]; sampling every trace")
        return 1.0
    return ratio


class TraceFile:
    """Encoded span lines, buffered and appended to a :class:`RotatingFile` by a daemon thread
    every ``flush_s`` (one ``write(2)`` per flush). The buffer is bounded: past ``max_buffer``
    bytes (the disk is stuck) lines are dropped and counted, never the service blocked."""

    def __init__(self, file: RotatingFile, *, flush_s: float = 0.5, max_buffer: int = 8 * 1024 * 1024) -> None:
        self.file = file
        self.dropped = 0
        self._flush_s = flush_s
        self._max_buffer = max_buffer
        self._lines: list[bytes] = []
        self._buffered = 0
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # the writer thread and a final flush at shutdown
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, line: bytes) -> None:
        """Queue one encoded line (without its newline)."""
        with self._lock:
            if self._buffered > self._max_buffer:
                self.dropped += 1
                return
            self._lines.append(line)
            self._buffered += len(line) + 1
        if self._thread is None:
            self._start()

    def flush(self) -> None:
        """Write what is buffered now."""
        with self._lock:
            lines, self._lines, self._buffered = self._lines, [], 0
        if not lines:
            return
        lines.append(b"")
        try:
            with self._write_lock:
                self.file.write(b"\n".join(lines))
        except OSError as exc:  # disk full, directory gone: traces are not worth a failed request
            self.dropped += len(lines) - 1
            log.warning("trace lines dropped", extra={"error_type": type(exc).__name__, "dropped": self.dropped})

    def close(self) -> None:
        """Stop the writer thread, flush, close the file."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()
        self.file.close()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="bastion-trace-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._flush_s):
            self.flush()


class ServerSpan:
    """One message being handled; :meth:`end` records it."""

    __slots__ = ("_perf0", "_recorder", "name", "parent_span_id", "span_id", "start_ns", "trace_id")

    def __init__(self, recorder: SpanRecorder, name: str, trace_id: str, parent_span_id: str) -> None:
        self._recorder = recorder
        self.name = name
        self.trace_id = trace_id
        self.parent_span_id = parent_span_id
        self.span_id = f"{random.getrandbits(64) or 1:016x}"
        self.start_ns = time.time_ns()
        self._perf0 = time.perf_counter_ns()

    @property
    def traceparent(self) -> str:
        """The W3C ``traceparent`` naming this span as the parent (sampled)."""
        return f"00-{self.trace_id}-{self.span_id}-01"

    def end(self, error_code: str | None = None, attributes: dict[str, Any] | None = None) -> None:
        """Record the span; ``error_code`` marks it failed (status ``ERROR``, ``bastion.error_code``);
        ``attributes`` are ids and numbers only, never a body, key or token."""
        attrs = dict(attributes or {})
        if error_code:
            attrs["bastion.error_code"] = error_code
        line = SpanLine(
            trace_id=self.trace_id,
            span_id=self.span_id,
            name=self.name,
            kind="SERVER",
            start_ns=self.start_ns,
            end_ns=self.start_ns + time.perf_counter_ns() - self._perf0,
            service=self._recorder.service,
            parent_span_id=self.parent_span_id,
            status="ERROR" if error_code else "",
            attributes=attrs,
        )
        self._recorder.sink.add(_encoder.encode(line))


class SpanRecorder:
    """Makes :class:`ServerSpan` s for one service into one :class:`TraceFile`."""

    def __init__(self, service: str, sink: TraceFile, sampler: Sampler | None = None) -> None:
        self.service = service
        self.sink = sink
        self.sampler = sampler or Sampler()

    def server_span(self, name: str, headers: Mapping[str, str] | None) -> ServerSpan | None:
        """A span for a message with ``headers`` (child of its ``traceparent``), or ``None`` if
        the trace is not sampled."""
        parent = parse_traceparent(headers.get("traceparent")) if headers else None
        if parent is None:
            trace_id = random.getrandbits(128) or 1
            if not self.sampler.sampled(trace_id, None):
                return None
            return ServerSpan(self, name, f"{trace_id:032x}", "")
        if not self.sampler.sampled(int(parent[0], 16), parent[2]):
            return None
        return ServerSpan(self, name, parent[0], parent[1])


_CURRENT: contextvars.ContextVar[ServerSpan | None] = contextvars.ContextVar("bastion_span", default=None)


def set_current(span: ServerSpan | None) -> None:
    """Make ``span`` the parent of the bus requests and events of this task (and tasks it starts)."""
    _CURRENT.set(span)


def current_traceparent() -> str | None:
    """The ``traceparent`` of the current span (:func:`set_current`), if any."""
    span = _CURRENT.get()
    return span.traceparent if span is not None else None


class _Off:
    """Tracing not set up (no trace file, or a unit test): nothing is made."""

    @staticmethod
    def server_span(name: str, headers: Mapping[str, str] | None) -> None:
        return None


OFF = _Off()
Recorder = SpanRecorder | _Off
_current: Recorder = OFF


def recorder() -> Recorder:
    """This process's recorder (installed by :func:`libs.telemetry.setup.setup`)."""
    return _current


def install(value: Recorder) -> None:
    """Make ``value`` this process's recorder."""
    global _current  # noqa: PLW0603 - one recorder per process, like OpenTelemetry's provider
    _current = value


class CompactExporter(SpanExporter):
    """Spans made through the OpenTelemetry API, written as the same :class:`SpanLine` s."""

    def __init__(self, service: str, sink: TraceFile) -> None:
        self._service = service
        self._sink = sink

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        for span in spans:
            self._sink.add(_encoder.encode(line_of(span, self._service)))
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None


def line_of(span: ReadableSpan, service: str) -> SpanLine:
    """The trace-file line of an SDK span."""
    ctx, parent = span.context, span.parent
    assert ctx is not None
    code = span.status.status_code
    return SpanLine(
        trace_id=f"{ctx.trace_id:032x}",
        span_id=f"{ctx.span_id:016x}",
        name=span.name,
        kind=span.kind.name,
        start_ns=span.start_time or 0,
        end_ns=span.end_time or 0,
        service=service,
        parent_span_id=f"{parent.span_id:016x}" if parent is not None else "",
        status=code.name if code is not StatusCode.UNSET else "",
        attributes=dict(span.attributes or {}),
    )
