"""Pure parts of key verification: the verified-key cache and the miss limiter.

Why a cache: argon2id costs ~18 ms of CPU per verify, so it runs once per key and the result
is kept, keyed by HMAC(pepper, presented key) — never the raw key — for a bounded time.
Why a miss limiter: only lookups that reach the database or argon2 cost anything; token
buckets cap them (per source, then globally; see ``budget``) so a flood of well-formed random
keys cannot exhaust CPU or the pool, nor starve keys already known to be good.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Generic, TypeVar

from libs.contracts.errors import Code
from libs.contracts.messages import Denied

V = TypeVar("V")
Clock = Callable[[], float]


class TtlCache(Generic[V]):
    """A bounded LRU with a per-entry deadline."""

    def __init__(self, *, max_size: int, clock: Clock = time.monotonic) -> None:
        self._items: OrderedDict[str, tuple[float, V]] = OrderedDict()
        self._max = max_size
        self._clock = clock

    def get(self, key: str) -> V | None:
        """The live value for ``key``, or None."""
        item = self._items.get(key)
        if item is None:
            return None
        deadline, value = item
        if deadline <= self._clock():
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return value

    def put(self, key: str, value: V, ttl: float) -> None:
        """Store ``value`` for ``ttl`` seconds, evicting the least recently used."""
        self._items[key] = (self._clock() + ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self._max:
            self._items.popitem(last=False)

    def discard(self, key: str) -> None:
        """Forget ``key`` (rotation, revocation)."""
        self._items.pop(key, None)

    def discard_where(self, predicate: Callable[[V], bool]) -> int:
        """Forget every entry whose value matches; returns how many."""
        doomed = [k for k, (_, v) in self._items.items() if predicate(v)]
        for key in doomed:
            del self._items[key]
        return len(doomed)

    def clear(self) -> None:
        """Forget everything."""
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


class TokenBucket:
    """``rate`` tokens per second, bursting to ``burst``."""

    def __init__(self, rate: float, burst: float, clock: Clock = time.monotonic) -> None:
        self._rate = rate
        self._burst = burst
        self._tokens = burst
        self._clock = clock
        self._last = clock()

    def take(self) -> bool:
        """Spend one token if there is one."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


def status_denial(status: str, expires_at: datetime | None, now: datetime) -> Denied | None:
    """Why a stored key or token may not be used now, or None if it may."""
    if status != "active":
        return Denied(code=Code.KEY_REVOKED, reason="API key has been revoked")
    if expires_at is not None and expires_at <= now:
        return Denied(code=Code.KEY_EXPIRED, reason="API key has expired")
    return None


INVALID_KEY = Denied(code=Code.KEY_INVALID, reason="Incorrect API key provided")
INVALID_TOKEN = Denied(code=Code.TOKEN_INVALID, reason="Invalid management token")
THROTTLED = Denied(
    code=Code.AUTH_THROTTLED,
    reason="Too many unrecognised API keys from your network address; retry shortly.",
)
BUSY = Denied(code=Code.AUTH_THROTTLED, reason="Too many unrecognised API keys right now; retry shortly.")
