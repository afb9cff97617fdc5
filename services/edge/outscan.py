"""Guardrails on the way out: complete responses and streams.

Streams are scanned incrementally with a bounded hold-back, so a value split across chunks is
still caught: text is released only up to a boundary no sensitive value can straddle (the last
whitespace, moved back before a trailing run of digits and separators, which cards and phone
numbers contain, and before an unterminated PEM block). Each released piece is scanned together
with up to ``CONTEXT`` already-released characters, so a credential whose label ("password:")
went out in an earlier chunk is still recognised. Hold-back is capped at ``MAX_HOLD`` characters.

A stream guard may also gather releasable text before it asks guardrails (``min_chars``), up to
``max_wait_s`` after the oldest text it holds arrived: a real stream sends a few characters per
chunk, and a bus round trip per chunk would cost more than the whole rest of the request. The
stream relay (:mod:`services.edge.routes.output`) releases what is due when no chunk comes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from libs.contracts.guard_types import redaction_label
from libs.contracts.messages import Denied, Finding, GuardVerdict

CONTEXT = 256
MAX_HOLD = 8192
_NUMERIC_TAIL = re.compile(r"[\d][\d \-.()+/]*$")
_PEM_OPEN = "-----BEGIN"
_PEM_CLOSE = "-----END"

Check = Callable[[list[str]], Awaitable[GuardVerdict | Denied]]


class OutputBlocked(Exception):
    """A rule blocks this response; ``reason`` names the rule, never the content."""

    def __init__(self, reason: str, rule_ids: list[str]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.rule_ids = rule_ids


def apply_redactions(text: str, findings: list[Finding], offset: int = 0) -> str:
    """Replace every acting ``redact`` finding with ``[REDACTED_<TYPE>]`` (overlaps merged).

    ``offset`` shifts finding positions (they refer to a longer scanned string); parts of spans
    before ``offset`` are ignored — that text was already sent.
    """
    spans = sorted(
        (max(f.start - offset, 0), f.end - offset, f.type)
        for f in findings
        if f.action == "redact" and not f.monitor and f.end > offset
    )
    out: list[str] = []
    pos = 0
    for span_start, end, kind in spans:
        if end <= pos:
            continue
        out.append(text[pos : max(span_start, pos)])
        out.append(redaction_label(kind))
        pos = min(end, len(text))
    out.append(text[pos:])
    return "".join(out)


def safe_cut(window: str) -> int:
    """How much of ``window`` can be released now without splitting a sensitive value."""
    if len(window) > MAX_HOLD:
        return len(window) - CONTEXT
    pem = window.rfind(_PEM_OPEN)
    if pem != -1 and window.find(_PEM_CLOSE, pem) == -1:
        return _last_space(window, pem)
    cut = _last_space(window, len(window))
    numeric = _NUMERIC_TAIL.search(window[:cut].rstrip())
    if numeric is not None:
        cut = _last_space(window, numeric.start())
    return cut


def _last_space(window: str, before: int) -> int:
    """Index just after the last whitespace before ``before`` (0 if none)."""
    for i in range(min(before, len(window)) - 1, -1, -1):
        if window[i].isspace():
            return i + 1
    return 0


@dataclass
class StreamGuard:
    """Incremental output scanning for one stream."""

    check: Check
    min_chars: int = 0
    """Releasable text gathered before a scan (0: scan whatever may be released); the first
    piece goes out as soon as it may, so the first token is not delayed."""
    max_wait_s: float = 0.0
    """…but never held longer than this after it arrived (see :meth:`due_in`)."""
    window: str = ""
    released_tail: str = ""
    warned_rules: set[str] = field(default_factory=set)
    held_since: float = 0.0

    async def feed(self, delta: str) -> str:
        """Add model text; return the text that may be sent now (possibly redacted)."""
        if delta and not self.window:
            self.held_since = time.monotonic()
        self.window += delta
        cut = safe_cut(self.window)
        if cut <= 0 or (
            self.released_tail and cut < self.min_chars and time.monotonic() - self.held_since < self.max_wait_s
        ):
            return ""
        return await self._release(cut)

    def due_in(self) -> float | None:
        """Seconds until held text must be scanned and released (None: nothing held)."""
        if not self.window:
            return None
        return self.held_since + self.max_wait_s - time.monotonic()

    async def release_due(self) -> str:
        """Release what may be released of the held text (its wait is over)."""
        cut = safe_cut(self.window)
        if cut <= 0:
            self.held_since = time.monotonic()  # nothing releasable yet: wait for more text
            return ""
        return await self._release(cut)

    async def finish(self) -> str:
        """The stream ended: scan and release whatever is held."""
        if not self.window:
            return ""
        return await self._release(len(self.window))

    async def _release(self, cut: int) -> str:
        piece, self.window = self.window[:cut], self.window[cut:]
        context = self.released_tail
        verdict = await self.check([context + piece])
        if isinstance(verdict, Denied):
            raise OutputBlocked(verdict.reason, verdict.rule_ids)
        self.warned_rules.update(f.rule_id for f in verdict.findings if f.action == "warn" and not f.monitor)
        out = apply_redactions(piece, verdict.findings, offset=len(context))
        self.released_tail = (context + piece)[-CONTEXT:]
        if self.window:
            self.held_since = time.monotonic()
        return out
