"""The miss budget: known-good first, then per source, then the global backstop."""

from __future__ import annotations

from services.auth.budget import MissBudget, SourceBuckets, Verdict


def budget(now: list[float], **overrides: float) -> MissBudget:
    args: dict[str, float] = {"global_rate": 100.0, "source_rate": 1.0, "source_burst": 2.0,
                              "known_good_ttl_s": 60.0}  # fmt: skip
    args.update(overrides)
    return MissBudget(**args, known_good_size=10, clock=lambda: now[0])  # type: ignore[arg-type]


def test_source_is_throttled_others_are_not() -> None:
    now = [0.0]
    b = budget(now)
    assert [b.admit(f"d{i}", "10.0.0.1") for i in range(3)] == [Verdict.ALLOW, Verdict.ALLOW, Verdict.THROTTLED]
    assert b.admit("x", "10.0.0.2") is Verdict.ALLOW
    now[0] = 1.0
    assert b.admit("y", "10.0.0.1") is Verdict.ALLOW  # refilled


def test_global_backstop_is_busy() -> None:
    now = [0.0]
    b = budget(now, global_rate=2.0, source_burst=100.0)
    verdicts = [b.admit(f"d{i}", f"10.0.0.{i}") for i in range(4)]
    assert verdicts == [Verdict.ALLOW, Verdict.ALLOW, Verdict.BUSY, Verdict.BUSY]


def test_known_good_bypasses_both_until_forgotten_or_expired() -> None:
    now = [0.0]
    b = budget(now, global_rate=1.0, source_burst=1.0)
    b.known_good("good")
    for i in range(5):
        b.admit(f"d{i}", "10.0.0.1")
    assert b.admit("other", "10.0.0.1") is Verdict.THROTTLED
    assert b.admit("good", "10.0.0.1") is Verdict.ALLOW
    b.forget("good")
    assert b.admit("good", "10.0.0.1") is Verdict.THROTTLED
    b.known_good("good")
    now[0] = 61.0
    # expired: pays again, like any other digest (a fresh source with a burst of one)
    assert [b.admit("good", "10.0.0.9") for _ in range(2)] == [Verdict.ALLOW, Verdict.THROTTLED]


def test_source_buckets_are_bounded() -> None:
    buckets = SourceBuckets(1.0, 1.0, max_sources=3, clock=lambda: 0.0)
    for i in range(10):
        buckets.take(f"s{i}")
    assert len(buckets) == 3
