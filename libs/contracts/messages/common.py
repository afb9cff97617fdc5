"""Reply variants shared by every request/reply endpoint."""

from __future__ import annotations

import msgspec


class Denied(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="denied", tag_field="kind"):
    """A normal answer saying no: the request is well-formed but not allowed.

    ``reason`` is safe to show a client; it never carries secrets or matched content.
    """

    code: str
    reason: str
    rule_ids: list[str] = []


class Fault(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="error", tag_field="kind"):
    """The service could not answer. Callers fail closed on it."""

    code: str
    message: str
    retryable: bool = False


class UnitPrice(msgspec.Struct, frozen=True, kw_only=True):
    """A price in integer micro-dollars per million tokens (uncached input, output, cached input)."""

    input: int
    output: int
    cached_input: int


class Ping(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Health probe for ``gw.<service>.ping.v1``."""

    request_id: str
    sent_at: int = 0


class Pong(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="pong", tag_field="kind"):
    """Health answer: which service and replica answered, and whether its dependencies are up."""

    service: str
    instance: str
    ready: bool
    version: str = "1"


class MetricsText(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="metrics", tag_field="kind"):
    """Answer to ``gw.<service>.metrics.v1``: one replica's counters in the Prometheus text format."""

    service: str
    instance: str
    text: str
