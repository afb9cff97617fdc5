"""Auth verification with fake stores (the real store is exercised by integration tests)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from libs.contracts import subjects
from libs.contracts.codec import Codec, encode
from libs.contracts.errors import Code
from libs.contracts.messages import AuthReply, Denied, Principal, VerifyKey
from libs.crypto import apikeys
from libs.svc.micro import MemoryBus, Service
from services.auth import handlers, store
from services.auth.logic import TokenBucket, TtlCache
from services.auth.settings import AuthSettings
from services.auth.verifier import Verifier

PEPPER = base64.urlsafe_b64encode(b"p" * 32).decode()


def record(key: str, **overrides: object) -> store.KeyRecord:
    fields: dict[str, object] = {
        "id": "key1", "org_id": "org1", "project_id": "prjabcdef", "hash": "hash-of:" + key, "status": "active",
        "plan": "pro", "expires_at": None, "usage_limit_usd": None, "rate_limit_rpm": None, "allowed_models": [],
        "allowed_ips": [],
    }  # fmt: skip
    fields.update(overrides)
    return store.KeyRecord(**fields)  # type: ignore[arg-type]


class Fakes:
    def __init__(self, rows: dict[str, store.KeyRecord]) -> None:
        self.rows = rows
        self.db_calls = 0
        self.hash_calls = 0

    async def find_key(self, lookup: str) -> store.KeyRecord | None:
        self.db_calls += 1
        return self.rows.get(lookup)

    async def find_token(self, lookup: str) -> store.TokenRecord | None:
        return None

    async def check_hash(self, encoded: str, key: str) -> bool:
        self.hash_calls += 1
        return encoded == "hash-of:" + key


def make(rows: dict[str, store.KeyRecord], **settings: object) -> tuple[Verifier, Fakes]:
    fakes = Fakes(rows)
    verifier = Verifier(
        AuthSettings(key_pepper=PEPPER, **settings),  # type: ignore[arg-type]
        find_key=fakes.find_key, find_token=fakes.find_token, check_hash=fakes.check_hash,
    )  # fmt: skip
    return verifier, fakes


def digest(key: str) -> str:
    return apikeys.lookup_digest(b"p" * 32, key)


async def test_valid_key_is_verified_once_then_cached() -> None:
    key = apikeys.generate("prjabcdef")
    verifier, fakes = make({digest(key): record(key, allowed_models=["mock-*"])})
    first = await verifier.verify_key(key)
    second = await verifier.verify_key(key)
    assert isinstance(first, Principal)
    assert first == second
    assert first.limits.allowed_models == ["mock-*"]
    assert (fakes.db_calls, fakes.hash_calls) == (1, 1)


async def test_malformed_key_costs_nothing() -> None:
    verifier, fakes = make({})
    reply = await verifier.verify_key("sk-proj_prjabcdef_not-a-real-key")
    assert isinstance(reply, Denied)
    assert reply.code == Code.KEY_INVALID
    assert fakes.db_calls == 0


async def test_unknown_wellformed_key_skips_argon2_and_is_negatively_cached() -> None:
    verifier, fakes = make({})
    key = apikeys.generate("prjabcdef")
    for _ in range(3):
        reply = await verifier.verify_key(key)
        assert isinstance(reply, Denied)
    assert (fakes.db_calls, fakes.hash_calls) == (1, 0)


async def test_wrong_hash_is_denied() -> None:
    key = apikeys.generate("prjabcdef")
    verifier, _ = make({digest(key): record(key, hash="hash-of:something-else")})
    reply = await verifier.verify_key(key)
    assert isinstance(reply, Denied)
    assert reply.code == Code.KEY_INVALID


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"status": "revoked"}, Code.KEY_REVOKED),
        ({"expires_at": datetime.now(UTC) - timedelta(seconds=1)}, Code.KEY_EXPIRED),
    ],
)
async def test_revoked_and_expired(overrides: dict[str, object], code: Code) -> None:
    key = apikeys.generate("prjabcdef")
    verifier, _ = make({digest(key): record(key, **overrides)})
    reply = await verifier.verify_key(key)
    assert isinstance(reply, Denied)
    assert reply.code == code


async def test_cache_never_outlives_expiry() -> None:
    key = apikeys.generate("prjabcdef")
    verifier, _ = make({digest(key): record(key, expires_at=datetime.now(UTC) + timedelta(seconds=2))})
    reply = await verifier.verify_key(key)
    assert isinstance(reply, Principal)
    assert 0 < reply.cache_ttl_s <= 2


async def test_miss_flood_is_rate_limited() -> None:
    verifier, fakes = make({}, miss_rate_per_s=5.0)
    replies = [await verifier.verify_key(apikeys.generate("prjabcdef"), f"10.0.0.{i}") for i in range(20)]
    assert sum(isinstance(r, Denied) and r.code == Code.AUTH_THROTTLED for r in replies) >= 14
    assert fakes.db_calls <= 6


async def test_handler_on_memory_bus() -> None:
    key = apikeys.generate("prjabcdef")
    verifier, _ = make({digest(key): record(key)})
    svc = Service("auth")
    handlers.register(svc, verifier)
    bus = MemoryBus(svc)
    codec: Codec[AuthReply] = Codec(AuthReply)
    ok = codec.decode((await bus.request(subjects.AUTH_VERIFY, encode(VerifyKey(request_id="r", key=key)))).data)
    bad = codec.decode((await bus.request(subjects.AUTH_VERIFY, encode(VerifyKey(request_id="r", key="x")))).data)
    assert isinstance(ok, Principal)
    assert ok.key_id == "key1"
    assert isinstance(bad, Denied)


def test_ttl_cache_expiry_and_bound() -> None:
    now = [0.0]
    cache: TtlCache[int] = TtlCache(max_size=2, clock=lambda: now[0])
    cache.put("a", 1, 10)
    cache.put("b", 2, 10)
    cache.put("c", 3, 10)
    assert cache.get("a") is None
    assert cache.get("c") == 3
    now[0] = 11
    assert cache.get("c") is None


def test_token_bucket_refills() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=2, burst=2, clock=lambda: now[0])
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    now[0] = 0.5
    assert bucket.take()


async def test_concurrent_misses_share_one_argon2_run() -> None:
    import asyncio

    key = apikeys.generate("prjabcdef")
    verifier, fakes = make({digest(key): record(key)})
    replies = await asyncio.gather(*(verifier.verify_key(key) for _ in range(50)))
    assert all(isinstance(r, Principal) for r in replies)
    assert (fakes.db_calls, fakes.hash_calls) == (1, 1)


async def test_a_lookup_racing_an_invalidation_is_not_shared_or_cached() -> None:
    import asyncio

    key = apikeys.generate("prjabcdef")
    verifier, fakes = make({digest(key): record(key)})
    gate = asyncio.Event()
    original = fakes.check_hash

    async def slow_hash(encoded: str, presented: str) -> bool:
        await gate.wait()  # the old secret is being verified while the key is rotated
        return await original(encoded, presented)

    verifier._check_hash = slow_hash  # type: ignore[method-assign]
    early = asyncio.ensure_future(verifier.verify_key(key))
    while fakes.db_calls == 0:  # the early lookup has read the (old) row
        await asyncio.sleep(0)
    fakes.rows.clear()  # the rotation committed ...
    verifier.invalidate("key1")  # ... and its invalidation arrived
    late = asyncio.ensure_future(verifier.verify_key(key))  # a request sent after the rotation
    gate.set()
    assert isinstance(await early, Principal)  # in flight before the rotation: may still pass
    assert isinstance(await late, Denied)  # must not join the earlier flight
    assert isinstance(await verifier.verify_key(key), Denied)  # and nothing stale was cached


async def test_flooding_source_is_throttled_not_everyone() -> None:
    verifier, fakes = make({}, source_miss_rate_per_s=1.0, source_miss_burst=5.0, miss_rate_per_s=1000.0)
    flood = [await verifier.verify_key(apikeys.generate("prjabcdef"), "203.0.113.9") for _ in range(50)]
    assert sum(isinstance(r, Denied) and r.code == Code.AUTH_THROTTLED for r in flood) >= 44
    assert fakes.db_calls <= 6
    other = await verifier.verify_key(apikeys.generate("prjabcdef"), "198.51.100.1")
    assert isinstance(other, Denied)
    assert other.code == Code.KEY_INVALID  # looked up: another source's budget is untouched


async def test_ipv6_source_is_its_64() -> None:
    verifier, _ = make({}, source_miss_rate_per_s=0.001, source_miss_burst=3.0, miss_rate_per_s=1000.0)
    replies = [await verifier.verify_key(apikeys.generate("prjabcdef"), f"2001:db8::{i:x}") for i in range(10)]
    assert sum(isinstance(r, Denied) and r.code == Code.AUTH_THROTTLED for r in replies) == 7


async def test_known_good_key_survives_flood_after_cache_drop() -> None:
    """A key that verified before keeps working when its cache entry is gone and both its own
    source's budget and the global budget are spent by random keys."""
    key = apikeys.generate("prjabcdef")
    verifier, _ = make({digest(key): record(key)}, source_miss_rate_per_s=0.001, source_miss_burst=2.0,
                       miss_rate_per_s=1.0)  # fmt: skip
    assert isinstance(await verifier.verify_key(key, "203.0.113.9"), Principal)
    for _ in range(20):
        await verifier.verify_key(apikeys.generate("prjabcdef"), "203.0.113.9")
        await verifier.verify_key(apikeys.generate("prjabcdef"), "198.51.100.1")
    assert isinstance(await verifier.verify_key(apikeys.generate("prjabcdef"), "203.0.113.9"), Denied)
    verifier.invalidate("key1")  # e.g. its limits were updated: the cached principal is dropped
    assert verifier.keys.get(digest(key)) is None
    assert isinstance(await verifier.verify_key(key, "203.0.113.9"), Principal)
    assert isinstance(await verifier.verify_key(key, "192.0.2.77"), Principal)


async def test_known_good_grants_nothing_once_revoked() -> None:
    key = apikeys.generate("prjabcdef")
    rows = {digest(key): record(key)}
    verifier, fakes = make(rows, negative_cache_ttl_s=0.0)
    assert isinstance(await verifier.verify_key(key, "203.0.113.9"), Principal)
    rows[digest(key)] = record(key, status="revoked")
    verifier.invalidate("key1")
    reply = await verifier.verify_key(key, "203.0.113.9")
    assert isinstance(reply, Denied)
    assert reply.code == Code.KEY_REVOKED
    assert fakes.hash_calls == 2  # verified again, not waved through


async def test_unknown_tokens_are_budgeted_per_source() -> None:
    verifier, _ = make({}, source_miss_rate_per_s=0.001, source_miss_burst=3.0, miss_rate_per_s=1000.0)
    replies = [await verifier.verify_token(apikeys.generate_admin_token(), "203.0.113.9") for _ in range(6)]
    assert [isinstance(r, Denied) and r.code for r in replies] == [Code.TOKEN_INVALID] * 3 + [Code.AUTH_THROTTLED] * 3
    elsewhere = await verifier.verify_token(apikeys.generate_admin_token(), "198.51.100.1")
    assert isinstance(elsewhere, Denied)
    assert elsewhere.code == Code.TOKEN_INVALID
