"""Process-local counters in the Prometheus text format.

A service answers ``gw.<service>.metrics.v1`` with :func:`render` (``libs/svc/runner.py``), so an
operator (``python -m libs.stack metrics <service>``) or a scrape bridge can read them without the
services opening an HTTP port.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator


class Counter:
    """A monotonically increasing count per label set."""

    def __init__(self, name: str, help_text: str, labels: tuple[str, ...]) -> None:
        self.name = name
        self.help = help_text
        self.labels = labels
        self._values: dict[tuple[str, ...], float] = {}
        self._lock = threading.Lock()
        REGISTRY[name] = self

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        """Add ``amount`` to the series of ``labels`` (every label name must be given)."""
        key = tuple(labels[name] for name in self.labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        """The current count of one series (0 if never incremented)."""
        return self._values.get(tuple(labels[name] for name in self.labels), 0.0)

    def lines(self) -> Iterator[str]:
        """The exposition lines of this counter."""
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        with self._lock:
            items = sorted(self._values.items())
        for key, value in items:
            labels = ",".join(f'{n}="{_escape(v)}"' for n, v in zip(self.labels, key, strict=True))
            yield f"{self.name}{{{labels}}} {value:g}"


REGISTRY: dict[str, Counter] = {}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render() -> str:
    """Every registered counter, Prometheus text format."""
    return "".join(line + "\n" for counter in REGISTRY.values() for line in counter.lines())


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
