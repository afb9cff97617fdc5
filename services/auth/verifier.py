"""Key and token verification: cache → database (by HMAC digest) → argon2id.

A well-formed key whose digest is unknown is denied without running argon2, so random keys
cost one indexed lookup, admitted by :class:`~services.auth.budget.MissBudget` (known-good
digests always; others per source, then globally). argon2 runs in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from libs.contracts.messages import (
    AdminPrincipal,
    Denied,
    Fault,
    KeyLimits,
    Principal,
)
from libs.crypto import apikeys
from services.auth import store
from services.auth.budget import MissBudget, Verdict
from services.auth.logic import BUSY, INVALID_KEY, INVALID_TOKEN, THROTTLED, TtlCache, status_denial
from services.auth.settings import AuthSettings

FindKey = Callable[[str], Awaitable[store.KeyRecord | None]]
FindToken = Callable[[str], Awaitable[store.TokenRecord | None]]
CheckHash = Callable[[str, str], Awaitable[bool]]


class Verifier:
    """Verifies API keys and management tokens for the auth handlers."""

    def __init__(
        self,
        settings: AuthSettings,
        *,
        find_key: FindKey,
        find_token: FindToken,
        check_hash: CheckHash,
    ) -> None:
        self._pepper = settings.pepper()
        self._ttl = settings.cache_ttl_s
        self._neg_ttl = settings.negative_cache_ttl_s
        self._find_key = find_key
        self._find_token = find_token
        self._check_hash = check_hash
        self.keys: TtlCache[Principal | Denied] = TtlCache(max_size=settings.cache_size)
        self.tokens: TtlCache[AdminPrincipal | Denied] = TtlCache(max_size=settings.cache_size)
        self.budget = MissBudget(
            global_rate=settings.miss_rate_per_s,
            source_rate=settings.source_miss_rate_per_s,
            source_burst=settings.source_miss_burst,
            known_good_ttl_s=settings.known_good_ttl_s,
            known_good_size=settings.cache_size,
        )
        # Bumped by every invalidation. A verification that read the database before an
        # invalidation landed must not cache what it read: it could be the secret just rotated out.
        self._generation = 0
        self._inflight: dict[tuple[str, int], asyncio.Future[Principal | Denied | Fault]] = {}

    async def verify_key(self, key: str, client_ip: str = "") -> Principal | Denied | Fault:
        """The principal of ``key`` presented from ``client_ip``, or why not.

        Concurrent misses for the same key share one lookup and one argon2 run (single flight):
        a burst of requests with a key not yet cached would otherwise run argon2 once per request.
        """
        if apikeys.parse(key) is None:
            return INVALID_KEY
        digest = apikeys.lookup_digest(self._pepper, key)
        cached = self.keys.get(digest)
        if cached is not None:
            return cached
        # Join a flight only if no invalidation landed since it started: a lookup that began
        # before a rotation may have read the old secret, and a request arriving after the
        # rotation must not inherit its answer.
        flight_key = (digest, self._generation)
        pending = self._inflight.get(flight_key)
        if pending is not None:
            return await asyncio.shield(pending)
        task = asyncio.ensure_future(self._verify_key_miss(key, digest, client_ip))
        self._inflight[flight_key] = task
        task.add_done_callback(lambda _: self._inflight.pop(flight_key, None))
        return await asyncio.shield(task)

    async def _verify_key_miss(self, key: str, digest: str, client_ip: str) -> Principal | Denied | Fault:
        refused = self._admit(digest, client_ip)
        if refused is not None:
            return refused
        generation = self._generation
        record = await self._find_key(digest)
        if record is None or not await self._check_hash(record.hash, key):
            self.budget.forget(digest)
            self._remember_key(generation, digest, INVALID_KEY, self._neg_ttl)
            return INVALID_KEY
        denial = status_denial(record.status, record.expires_at, datetime.now(UTC))
        if denial is not None:
            self.budget.forget(digest)
            self._remember_key(generation, digest, denial, self._neg_ttl)
            return denial
        self.budget.known_good(digest)
        principal = Principal(
            org_id=record.org_id,
            project_id=record.project_id,
            key_id=record.id,
            plan=record.plan,
            limits=KeyLimits(
                usage_limit_usd=record.usage_limit_usd,
                rate_limit_rpm=record.rate_limit_rpm,
                allowed_models=record.allowed_models,
                allowed_ips=record.allowed_ips,
            ),
            cache_ttl_s=self._ttl_for(record.expires_at),
        )
        self._remember_key(generation, digest, principal, principal.cache_ttl_s)
        return principal

    async def verify_token(self, token: str, client_ip: str = "") -> AdminPrincipal | Denied | Fault:
        """The admin principal of a management token presented from ``client_ip``, or why not."""
        if not apikeys.parse_admin_token(token):
            return INVALID_TOKEN
        digest = apikeys.lookup_digest(self._pepper, token)
        cached = self.tokens.get(digest)
        if cached is not None:
            return cached
        refused = self._admit(digest, client_ip)
        if refused is not None:
            return refused
        generation = self._generation
        record = await self._find_token(digest)
        if record is None or not await self._check_hash(record.hash, token):
            self.budget.forget(digest)
            self._remember_token(generation, digest, INVALID_TOKEN, self._neg_ttl)
            return INVALID_TOKEN
        if status_denial(record.status, record.expires_at, datetime.now(UTC)) is not None:
            self.budget.forget(digest)
            self._remember_token(generation, digest, INVALID_TOKEN, self._neg_ttl)
            return INVALID_TOKEN
        self.budget.known_good(digest)
        principal = AdminPrincipal(org_id=record.org_id, token_id=record.id, role=record.role)
        self._remember_token(generation, digest, principal, self._ttl_for(record.expires_at))
        return principal

    def _admit(self, digest: str, client_ip: str) -> Denied | None:
        """None if the lookup may run; else the refusal (a 429 at the edge: too many unknown
        credentials from this source, or from everyone at once)."""
        verdict = self.budget.admit(digest, client_ip)
        if verdict is Verdict.THROTTLED:
            return THROTTLED
        if verdict is Verdict.BUSY:
            return BUSY
        return None

    def _remember_key(self, generation: int, digest: str, value: Principal | Denied, ttl: float) -> None:
        if generation == self._generation and ttl > 0:
            self.keys.put(digest, value, ttl)

    def _remember_token(self, generation: int, digest: str, value: AdminPrincipal | Denied, ttl: float) -> None:
        if generation == self._generation and ttl > 0:
            self.tokens.put(digest, value, ttl)

    def digest(self, secret: str) -> str:
        """HMAC-SHA256(pepper, secret): the lookup index and cache key."""
        return apikeys.lookup_digest(self._pepper, secret)

    def invalidate(self, cred_id: str) -> int:
        """Drop every cached verification of credential ``cred_id``; returns how many."""
        self._generation += 1
        dropped = self.keys.discard_where(lambda p: isinstance(p, Principal) and p.key_id == cred_id)
        dropped += self.tokens.discard_where(lambda p: isinstance(p, AdminPrincipal) and p.token_id == cred_id)
        return dropped

    def invalidate_all(self) -> None:
        """Forget everything (after a reconnect: events may have been missed)."""
        self._generation += 1
        self.keys.clear()
        self.tokens.clear()

    def _ttl_for(self, expires_at: datetime | None) -> float:
        """Never cache a key past its expiry."""
        if expires_at is None:
            return self._ttl
        left = (expires_at - datetime.now(UTC)).total_seconds()
        return max(0.0, min(self._ttl, left))
