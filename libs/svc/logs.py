"""Structured logging with a last-line-of-defence secret scrubber.

Code must never log secrets in the first place; the scrubber exists so that a mistake does not
become a leak. It masks anything shaped like a Bastion API key, a management token, a provider
key or a bearer header before the record is written.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Callable

import msgspec

_SECRET_PATTERNS = re.compile(
    r"(sk-proj_[A-Za-z0-9]+_)[A-Za-z0-9]{8,}"  # Bastion API keys: keep the project id
    r"|bst_(?:adm|ses)_[A-Za-z0-9]{8,}"  # management tokens, session ids
    r"|sk-(?!proj_)(?:ant-|proj-|svcacct-)?[A-Za-z0-9_\-]{16,}"  # provider keys (not Bastion masks)
    r"|AIza[0-9A-Za-z_\-]{30,}"  # Google API keys
    r"|(?i:bearer\s+)[A-Za-z0-9._\-~+/=]{8,}"
)


def scrub(text: str) -> str:
    """Mask secret-shaped substrings in ``text``."""
    return _SECRET_PATTERNS.sub(lambda m: (m.group(1) or "") + "[REDACTED]", text)


def secret_shaped(text: str) -> bool:
    """Whether :func:`scrub` would change ``text``."""
    return _SECRET_PATTERNS.search(text) is not None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, plus ``extra`` fields."""

    _skip = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()) | {"message", "asctime"}

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": round(time.time(), 3),
            "level": record.levelname,
            "service": self._service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in self._skip and not key.startswith("_"):
                out[key] = value if isinstance(value, (str, int, float, bool)) else str(value)
        if record.exc_info and record.exc_info[0] is not None:
            # The type name only: exception messages may quote inputs.
            out["exc_type"] = record.exc_info[0].__name__
        return scrub(msgspec.json.encode(out).decode())


class RepeatFilter(logging.Filter):
    """Let at most ``limit`` records of one (logger, level, message template) through per
    ``window_s``; the rest are counted and reported as one "suppressed K similar lines" record
    (with the logger and template) once the window is over. A loop that logs on every message can
    then never flood the disk (issue 10: ~13,000 lines in seconds).
    """

    _MAX_KEYS = 4096

    def __init__(
        self, emit: Callable[[logging.LogRecord], object], *, limit: int = 20, window_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        super().__init__()
        self._emit = emit
        self._limit = limit
        self._window = window_s
        self._clock = clock
        self._seen: dict[tuple[str, int, str], list[float]] = {}  # key -> [window start, count, suppressed]
        self._lock = threading.Lock()
        self._next_sweep = 0.0

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "suppressed", None) is not None:
            return True  # our own summary
        now = self._clock()
        key = (record.name, record.levelno, str(record.msg))
        with self._lock:
            due = self._sweep(now) if now >= self._next_sweep else []
            entry = self._seen.get(key)
            if entry is None or now - entry[0] >= self._window:
                if entry is not None and entry[2]:
                    due.append((key, int(entry[2])))
                entry = self._seen[key] = [now, 0.0, 0.0]
            entry[1] += 1
            allowed = entry[1] <= self._limit
            if not allowed:
                entry[2] += 1
        for done_key, count in due:
            self._summary(done_key, count)
        return allowed

    def flush(self) -> None:
        """Report every suppressed count now (windows still open end early)."""
        with self._lock:
            due = self._sweep(self._clock(), everything=True)
        for key, count in due:
            self._summary(key, count)

    def _sweep(self, now: float, *, everything: bool = False) -> list[tuple[tuple[str, int, str], int]]:
        """Drop finished windows (all of them with ``everything``); the suppressed counts to report."""
        self._next_sweep = now + self._window
        due = []
        for key, (start, _, suppressed) in list(self._seen.items()):
            if everything or now - start >= self._window:
                del self._seen[key]
                if suppressed:
                    due.append((key, int(suppressed)))
        while len(self._seen) > self._MAX_KEYS:  # many distinct templates: forget the oldest windows
            del self._seen[next(iter(self._seen))]
        return due

    def _summary(self, key: tuple[str, int, str], count: int) -> None:
        name, level, template = key
        record = logging.LogRecord(name, level, __file__, 0, "suppressed %d similar lines", (count,), None)
        record.suppressed = count
        record.template = template[:200]
        self._emit(record)


def setup(service: str, level: str = "INFO") -> None:
    """Route the root logger to stderr as scrubbed, rate-limited JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(RepeatFilter(handler.handle))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("nats", "httpx", "httpcore", "aiohttp", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
