"""Trace-context propagation through NATS headers (W3C ``traceparent``)."""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import context, propagate


def inject_headers(headers: dict[str, str] | None = None) -> dict[str, str]:
    """Return ``headers`` with the current trace context added."""
    carrier: dict[str, str] = dict(headers or {})
    propagate.inject(carrier)
    return carrier


def extract_context(headers: Mapping[str, str] | None) -> context.Context:
    """Trace context carried by a message's headers (empty context if none)."""
    return propagate.extract(dict(headers or {}))
