"""A progress line on stderr for the long steps (dump, stream export, restore)."""

from __future__ import annotations

import sys
import time


class Progress:
    """``label: 12.3 MB`` (or a count), rewritten in place on a terminal, a line every few
    seconds otherwise; ``done()`` prints the total."""

    def __init__(self, label: str, unit: str = "MB") -> None:
        self.label, self.unit = label, unit
        self.total = 0
        self._tty = sys.stderr.isatty()
        self._last = time.monotonic()

    def _text(self) -> str:
        amount = f"{self.total / 1e6:.1f} MB" if self.unit == "MB" else f"{self.total} {self.unit}"
        return f"{self.label}: {amount}"

    def add(self, n: int) -> None:
        self.total += n
        now = time.monotonic()
        if now - self._last >= (0.2 if self._tty else 5.0):
            self._last = now
            sys.stderr.write(("\r" if self._tty else "") + self._text() + ("" if self._tty else "\n"))
            sys.stderr.flush()

    def done(self) -> None:
        sys.stderr.write(("\r" if self._tty else "") + self._text() + " done\n")
        sys.stderr.flush()
