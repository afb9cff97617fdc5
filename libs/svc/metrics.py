"""Process-local counters, gauges and histograms in the Prometheus text format.

Every process answers the broadcast scrape subject (``libs/svc/scrape.py``) with :func:`render`,
labelled with its service and instance; ``python -m libs.stack metrics-bridge`` gathers the
answers of every replica and serves them at ``/metrics``. A bus service also answers
``gw.<service>.metrics.v1`` in its queue group (one replica: ``python -m libs.stack metrics``).

Label values must come from a bounded set the code knows (a route, a status, an error code, a
rule type). A family keeps at most :data:`MAX_SERIES` label sets: further ones are counted under
``other`` in every label, so a value that slipped through from outside cannot grow memory or the
scrape without limit. :class:`Bounded` does the same per label, for values a tenant may define.

Cheap on the hot path (docs/performance.md): a series is a list of floats, its "cell"; the hot
path keeps the cell of its label set and adds to it (a fraction of a microsecond). No lock:
every update and every render runs on the process's event-loop thread.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterator

MAX_SERIES = 200
"""Label sets per family; beyond it new ones are folded into one ``other`` series."""
OTHER = "other"
RESERVED = frozenset({"service", "instance", "le"})
"""Label names a family may not use: every scraped sample carries the process's ``service`` and
``instance`` (:func:`render`), and ``le`` is the histogram bucket's."""

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Seconds: from a sub-millisecond bus hop to a long completion."""


class _Family:
    kind = ""
    _width = 1  # floats per series

    def __init__(self, name: str, help_text: str, labels: tuple[str, ...]) -> None:
        if RESERVED & set(labels):
            raise ValueError(f"{name}: the labels {sorted(RESERVED)} are the scrape's (render's constant labels)")
        self.name = name
        self.help = help_text
        self.labels = labels
        self._series: dict[tuple[str, ...], list[float]] = {}
        REGISTRY[name] = self

    def child(self, *values: str) -> list[float]:
        """The cell of one label set (``values`` in label order), made on first use; beyond
        :data:`MAX_SERIES` label sets, the shared ``other`` cell."""
        cell = self._series.get(values)
        if cell is None:
            if len(values) != len(self.labels):
                raise ValueError(f"{self.name} takes labels {self.labels}")
            if len(self._series) >= MAX_SERIES:
                values = (OTHER,) * len(self.labels)
            cell = self._series.setdefault(values, [0.0] * self._width)
        return cell

    def _cell(self, labels: dict[str, str]) -> list[float]:
        return self.child(*map(labels.__getitem__, self.labels))

    def series(self) -> int:
        """How many label sets this family holds."""
        return len(self._series)

    def _label_text(self, key: tuple[str, ...], const: str, extra: str = "") -> str:
        parts = [const] if const else []
        parts.extend(f'{n}="{escape(v)}"' for n, v in zip(self.labels, key, strict=True))
        if extra:
            parts.append(extra)
        return "{" + ",".join(parts) + "}" if parts else ""

    def _items(self) -> list[tuple[tuple[str, ...], list[float]]]:
        return sorted((key, list(cell)) for key, cell in list(self._series.items()))

    def lines(self, const: str = "") -> Iterator[str]:
        """The exposition lines of this family (``const``: labels put first on every sample)."""
        yield f"# HELP {self.name} {escape_help(self.help)}"
        yield f"# TYPE {self.name} {self.kind}"
        for key, cell in self._items():
            yield from self._samples(key, cell, const)

    def _samples(self, key: tuple[str, ...], cell: list[float], const: str) -> Iterator[str]:
        yield f"{self.name}{self._label_text(key, const)} {number(cell[0])}"


class Counter(_Family):
    """A monotonically increasing count per label set. On the hot path, keep the cell of a label
    set (:meth:`child`) and add to ``cell[0]``."""

    kind = "counter"

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        """Add ``amount`` to the series of ``labels`` (every label name must be given)."""
        self._cell(labels)[0] += amount

    def value(self, **labels: str) -> float:
        """The current count of one series (0 if never incremented)."""
        cell = self._series.get(tuple(labels[name] for name in self.labels))
        return 0.0 if cell is None else cell[0]


class Gauge(Counter):
    """A value that goes up and down (the last one set) per label set."""

    kind = "gauge"

    def set(self, value: float, **labels: str) -> None:
        """Set the series of ``labels`` to ``value``."""
        self._cell(labels)[0] = float(value)


class Histogram(_Family):
    """Observations counted into fixed buckets (cumulative ``_bucket{le}``, ``_sum``, ``_count``).

    A series' cell holds a count per bucket (not cumulative; the last is ``+Inf``), then the sum."""

    kind = "histogram"

    def __init__(self, name: str, help_text: str, labels: tuple[str, ...],
                 buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:  # fmt: skip
        if not buckets or list(buckets) != sorted(set(buckets)) or math.isinf(buckets[-1]):
            raise ValueError("buckets must be finite, strictly increasing and not empty")
        super().__init__(name, help_text, labels)
        self.buckets = buckets
        self._width = len(buckets) + 2
        self._bounds = [f'le="{number(b)}"' for b in buckets] + ['le="+Inf"']

    def observe(self, value: float, **labels: str) -> None:
        """Count ``value`` (seconds, say) in the series of ``labels``."""
        observe(self.buckets, self._cell(labels), value)

    def count(self, **labels: str) -> int:
        """Observations of one series."""
        cell = self._series.get(tuple(labels[name] for name in self.labels))
        return 0 if cell is None else int(sum(cell[:-1]))

    def _samples(self, key: tuple[str, ...], cell: list[float], const: str) -> Iterator[str]:
        running = 0.0
        for bound, count in zip(self._bounds, cell[:-1], strict=True):
            running += count
            yield f"{self.name}_bucket{self._label_text(key, const, bound)} {number(running)}"
        yield f"{self.name}_sum{self._label_text(key, const)} {number(cell[-1])}"
        yield f"{self.name}_count{self._label_text(key, const)} {number(running)}"


def observe(buckets: tuple[float, ...], cell: list[float], value: float) -> None:
    """Count ``value`` in a histogram's cell (:meth:`Histogram.child`): the hot-path form."""
    cell[bisect_left(buckets, value)] += 1  # the first bound >= value: ``le`` is inclusive
    cell[-1] += value


class Bounded:
    """At most ``limit`` distinct values of one label; later new ones become ``other``."""

    def __init__(self, limit: int, known: tuple[str, ...] = ()) -> None:
        self._limit = limit
        self._seen: set[str] = set(known)

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if len(self._seen) >= self._limit:
            return OTHER
        self._seen.add(value)
        return value


REGISTRY: dict[str, _Family] = {}


def escape(value: str) -> str:
    """A label value as the text format quotes it (backslash, double quote, line feed)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(value: str) -> str:
    """A HELP text (backslash and line feed)."""
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def number(value: float) -> str:
    """A sample value: integers exactly (no ``1e+06``), others in full precision."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def render(**const: str) -> str:
    """Every registered family, Prometheus text format; ``const`` labels (service, instance) lead
    every sample's label set."""
    prefix = ",".join(f'{n}="{escape(v)}"' for n, v in const.items())
    return "".join(line + "\n" for family in REGISTRY.values() for line in family.lines(prefix))


DEAD_LETTERS = Counter(
    "bastion_dead_letters_total", "Durable events a consumer dead-lettered instead of storing", ("consumer", "reason")
)
BATCHES = Counter(
    "bastion_consumer_batches_total", "Batches a durable consumer stored in one transaction", ("consumer",)
)
BATCHED_EVENTS = Counter(
    "bastion_consumer_batched_events_total",
    "Events in those batches (their mean size: events / batches)",
    ("consumer",),
)
CONSUMER_PENDING = Gauge(
    "bastion_consumer_pending",
    "Messages of a durable not yet delivered to any replica, as of the last batch this replica pulled (lag)",
    ("consumer",),
)
BUS_REQUESTS = Counter(
    "bastion_bus_requests_total",
    "Requests this process made over the bus, by target service and outcome"
    " (ok, timeout, no_responders, fault, malformed, error)",
    ("target", "outcome"),
)
BUS_SECONDS = Histogram(
    "bastion_bus_request_seconds", "Time to a bus reply (every outcome), by target service", ("target",)
)
HANDLED = Counter(
    "bastion_bus_handled_total",
    "Requests this service answered, by subject and outcome (ok, or the fault code it replied with)",
    ("subject", "outcome"),
)
HANDLED_SECONDS = Histogram(
    "bastion_bus_handle_seconds", "Time from a request's arrival to its reply being ready, by subject", ("subject",)
)
STARTED = Gauge("bastion_process_start_time_seconds", "When this process started answering scrapes (Unix time)", ())
