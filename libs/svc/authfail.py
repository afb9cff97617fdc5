"""Failed authentications, aggregated: a few audit events per (source, reason) per window.

Used by the edge (API keys) and the management API (management tokens).

A flood of random keys must not become a flood of audit rows (each one serialized on the
audit chain's head lock). So a refusal before a principal was known is counted, not written:
the first of a (source, reason) in a window goes out at once as an ``auth.failed`` event with
``count`` 1 (an alert need not wait for the window), the rest of that window as one more
event at its end with their ``count``, ``first_seen`` and ``last_seen`` (unix ms), a sample
request id, user agent and key prefix (``sk-proj_<project>_<4 chars>…``, never the key). Summed,
the counts are every refusal. :meth:`flush` at shutdown writes what is still open.

Memory is bounded: beyond ``max_windows`` open windows (a flood from very many sources), new
sources are counted under the source ``*``.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from libs.contracts.messages import AuditEvent
from libs.svc.sources import source_of

ACTION = "auth.failed"
OVERFLOW = "*"
Emit = Callable[[AuditEvent], None]


@dataclass(slots=True)
class Failure:
    """One refused request, as much of it as the audit trail may keep."""

    client_ip: str
    reason: str
    status: int
    request_id: str
    user_agent: str = ""
    key_prefix: str = ""


@dataclass(slots=True)
class _Window:
    opened: float
    first_ms: int
    last_ms: int
    sample: Failure
    pending: int = 0
    """Refusals counted and not yet written."""


class FailedAuths:
    """Counts refusals per (source, reason) and emits them as a few audit events."""

    def __init__(
        self,
        emit: Emit,
        *,
        window_s: float = 60.0,
        actor_type: str = "api_key",
        max_windows: int = 1_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._emit = emit
        self._actor_type = actor_type
        self._window_s = window_s
        self._max = max_windows
        self._clock = clock
        self._windows: dict[tuple[str, str], _Window] = {}

    def add(self, failure: Failure) -> None:
        """Count one refusal; the first of its window is written at once."""
        now = self._clock()
        now_ms = int(now * 1000)
        source = source_of(failure.client_ip)
        key = (source, failure.reason)
        window = self._windows.get(key)
        if window is None and len(self._windows) >= self._max:
            key = (OVERFLOW, failure.reason)
            window = self._windows.get(key)
        if window is None:
            self._windows[key] = _Window(opened=now, first_ms=now_ms, last_ms=now_ms, sample=failure)
            self._write(key, failure, 1, now_ms, now_ms)
            return
        window.pending += 1
        window.last_ms = now_ms
        if window.pending == 1:
            window.first_ms = now_ms
            window.sample = failure

    def tick(self) -> None:
        """Close the windows that are over: write their remaining counts."""
        now = self._clock()
        for key in [k for k, w in self._windows.items() if now - w.opened >= self._window_s]:
            self._close(key)

    def flush(self) -> None:
        """Write every open window's remaining count (shutdown)."""
        for key in list(self._windows):
            self._close(key)

    def _close(self, key: tuple[str, str]) -> None:
        window = self._windows[key]
        if window.pending:  # written first: if the publisher refuses it, the count stays open
            self._write(key, window.sample, window.pending, window.first_ms, window.last_ms)
        del self._windows[key]

    def _write(self, key: tuple[str, str], sample: Failure, count: int, first_ms: int, last_ms: int) -> None:
        source, reason = key
        detail: dict[str, object] = {
            "reason": reason, "count": count, "first_seen": first_ms, "last_seen": last_ms,
            "window_s": int(self._window_s), "source": source, "status": sample.status,
        }  # fmt: skip
        if sample.key_prefix:
            detail["key_prefix"] = sample.key_prefix
        self._emit(
            AuditEvent(
                event_id=f"evt_{secrets.token_hex(12)}", ts=last_ms, org_id="", actor_type=self._actor_type,
                actor_id="unknown", action=ACTION, success=False, request_id=sample.request_id,
                ip=sample.client_ip if source != OVERFLOW else "", user_agent=sample.user_agent[:256],
                metadata=detail,
            )
        )  # fmt: skip

    def __len__(self) -> int:
        return len(self._windows)
