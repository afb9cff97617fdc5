"""What a lookup of an uncached credential may cost, and who pays for it.

Only lookups that reach the database (and argon2) cost anything, and a flood of random
well-formed keys — cheap to mint, the checksum is public — is nothing but such lookups. So:

* **Known-good credentials never pay.** A digest that verified as valid on this replica in
  the last ``known_good_ttl_s`` is looked up whatever the budgets say, so a flood cannot starve
  a real key whose cache entry expired or was invalidated. Being known-good grants nothing: the
  lookup and argon2 still decide, and a digest found invalid, revoked or expired is forgotten.
* **Everything else pays from its source's bucket** (client IP, IPv6 /64): one source flooding
  exhausts its own budget and gets ``THROTTLED``, not everyone's.
* **And from one global backstop**, so many sources together cannot exhaust the pool either
  (``BUSY``). Known-good digests skip it too. Both refusals are a 429 with ``retry-after`` at the
  edge (a refusal of the client's traffic, not a failure of the gateway: never a 503).

Keyed by HMAC digest and source only; the raw credential never reaches this module.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from enum import Enum

from libs.svc.sources import source_of
from services.auth.logic import Clock, TokenBucket, TtlCache


class Verdict(Enum):
    """Whether a lookup may run now."""

    ALLOW = "allow"
    THROTTLED = "throttled"
    BUSY = "busy"


class SourceBuckets:
    """One token bucket per source, the least recently seen forgotten beyond ``max_sources``
    (a forgotten source starts again with a full burst: bounded memory beats exactness)."""

    def __init__(self, rate: float, burst: float, *, max_sources: int, clock: Clock = time.monotonic) -> None:
        self._rate, self._burst, self._max, self._clock = rate, burst, max_sources, clock
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def take(self, source: str) -> bool:
        """Spend one of ``source``'s tokens if it has one."""
        bucket = self._buckets.get(source)
        if bucket is None:
            bucket = self._buckets[source] = TokenBucket(self._rate, self._burst, clock=self._clock)
            while len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(source)
        return bucket.take()

    def __len__(self) -> int:
        return len(self._buckets)


class MissBudget:
    """Admission of uncached credential lookups: known-good first, then per source, then global."""

    def __init__(
        self,
        *,
        global_rate: float,
        source_rate: float,
        source_burst: float,
        known_good_ttl_s: float,
        known_good_size: int,
        max_sources: int = 50_000,
        clock: Clock = time.monotonic,
    ) -> None:
        self._global = TokenBucket(global_rate, burst=global_rate, clock=clock)
        self._sources = SourceBuckets(source_rate, source_burst, max_sources=max_sources, clock=clock)
        self._known: TtlCache[bool] = TtlCache(max_size=known_good_size, clock=clock)
        self._known_ttl = known_good_ttl_s

    def admit(self, digest: str, client_ip: str) -> Verdict:
        """May a lookup of ``digest`` asked from ``client_ip`` reach the database now?"""
        if self._known.get(digest):
            return Verdict.ALLOW
        if not self._sources.take(source_of(client_ip)):
            return Verdict.THROTTLED
        if not self._global.take():
            return Verdict.BUSY
        return Verdict.ALLOW

    def known_good(self, digest: str) -> None:
        """``digest`` just verified as a valid credential."""
        if self._known_ttl > 0:
            self._known.put(digest, True, self._known_ttl)

    def forget(self, digest: str) -> None:
        """``digest`` just failed verification (unknown, wrong hash, revoked, expired)."""
        self._known.discard(digest)
