"""The edge's metrics (``libs/svc/metrics.py``; what each means: docs/operations.md "Metrics").

Labels are the route (the action: ``chat.completion``, …), the HTTP status, the phase and the
OpenAI-style error code: all set by the edge's own code. Never the model a client named, its key
or anything else it sent: the error codes are also :class:`~libs.svc.metrics.Bounded`, since a
bus denial's code is passed through to the client when the edge does not know it.
"""

from __future__ import annotations

from libs.svc.metrics import Bounded, Counter, Histogram, observe

REQUESTS = Counter("bastion_edge_requests_total", "Data-plane requests answered, by route and HTTP status"
                   " (499: a stream the client abandoned)", ("route", "status"))  # fmt: skip
SECONDS = Histogram("bastion_edge_request_seconds", "Time from a data-plane request's arrival until it was"
                    " answered (a stream: until it ended), by route", ("route",))  # fmt: skip
PHASES = Histogram("bastion_edge_phase_seconds", "Time spent in each phase of a JSON chat request (the"
                   " Server-Timing phases: auth, parse, checks, upstream, output_guard), by route", ("route", "phase"))  # fmt: skip
DENIALS = Counter("bastion_edge_denials_total", "Error answers of the data plane, by route and the OpenAI-style"
                  " error code the client got (none: an error without a code)", ("route", "code"))  # fmt: skip

_codes = Bounded(64)


def answered(route: str, status: int, seconds: float) -> None:
    """One data-plane request ended with ``status`` after ``seconds``."""
    REQUESTS.child(route, str(status))[0] += 1
    observe(SECONDS.buckets, SECONDS.child(route), seconds)


def phase(route: str, name: str, seconds: float) -> None:
    """One phase of a request took ``seconds``."""
    observe(PHASES.buckets, PHASES.child(route, name), seconds)


def denied(route: str, code: str | None) -> None:
    """The client got an error answer with ``code``."""
    DENIALS.child(route, _codes(code or "none"))[0] += 1
