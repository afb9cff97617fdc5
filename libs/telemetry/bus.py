"""Trace-context propagation through NATS headers (W3C ``traceparent``)."""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import context, propagate

from libs.telemetry import spans


def inject_headers(headers: dict[str, str] | None = None) -> dict[str, str]:
    """Return ``headers`` with the current trace context added: the current compact span's
    (:func:`libs.telemetry.spans.set_current`), else the OpenTelemetry context's."""
    carrier: dict[str, str] = dict(headers or {})
    parent = spans.current_traceparent()
    if parent is not None:
        carrier["traceparent"] = parent
    else:
        propagate.inject(carrier)
    return carrier


def extract_context(headers: Mapping[str, str] | None) -> context.Context:
    """Trace context carried by a message's headers (empty context if none)."""
    return propagate.extract(dict(headers or {}))
