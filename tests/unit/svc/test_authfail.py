"""Failed-auth aggregation: a few audit events per (source, reason) window, counts summing up."""

from __future__ import annotations

import contextlib

from libs.contracts.messages import AuditEvent
from libs.crypto import apikeys
from libs.svc.authfail import ACTION, OVERFLOW, FailedAuths, Failure


def make(now: list[float], **kw: int) -> tuple[FailedAuths, list[AuditEvent]]:
    out: list[AuditEvent] = []
    return FailedAuths(out.append, window_s=60.0, clock=lambda: now[0], **kw), out  # type: ignore[arg-type]


def fail(ip: str, reason: str = "auth.key_invalid", i: int = 0, key: str = "") -> Failure:
    return Failure(client_ip=ip, reason=reason, status=401, request_id=f"req_{i}", user_agent="ua",
                   key_prefix=apikeys.prefix_hint(key))  # fmt: skip


def total(events: list[AuditEvent]) -> int:
    return sum(e.metadata["count"] for e in events)


def test_two_hundred_refusals_are_a_few_events() -> None:
    now = [1000.0]
    agg, out = make(now)
    for i in range(200):
        now[0] += 0.5
        agg.add(fail("203.0.113.9" if i % 2 else "198.51.100.1", i=i))
        agg.tick()
    agg.flush()
    assert 2 <= len(out) <= 8
    assert total(out) == 200
    assert {e.action for e in out} == {ACTION}
    assert all(not e.success and e.actor_id == "unknown" for e in out)


def test_first_is_written_at_once_then_a_summary_at_window_end() -> None:
    now = [0.0]
    agg, out = make(now)
    key = apikeys.generate("prjabcdef")
    agg.add(fail("203.0.113.9", key=key))
    assert len(out) == 1
    assert out[0].metadata["count"] == 1
    for i in range(9):
        now[0] = 10.0 + i
        agg.add(fail("203.0.113.9", i=i, key=key))
    agg.tick()
    assert len(out) == 1  # window still open
    now[0] = 60.0
    agg.tick()
    assert len(out) == 2
    summary = out[1].metadata
    assert summary["count"] == 9
    assert (summary["first_seen"], summary["last_seen"]) == (10000, 18000)
    assert summary["key_prefix"] == apikeys.prefix_hint(key)
    assert key not in repr(out)
    assert apikeys.parse(key).secret[4:] not in repr(out)
    assert len(agg) == 0


def test_reasons_and_ipv6_64_aggregate_separately_and_together() -> None:
    now = [0.0]
    agg, out = make(now)
    agg.add(fail("2001:db8::1"))
    agg.add(fail("2001:db8::2"))  # same /64
    agg.add(fail("2001:db8::3", reason="auth.throttled"))
    agg.flush()
    assert [(e.metadata["source"], e.metadata["reason"], e.metadata["count"]) for e in out] == [
        ("2001:db8::/64", "auth.key_invalid", 1),
        ("2001:db8::/64", "auth.throttled", 1),
        ("2001:db8::/64", "auth.key_invalid", 1),
    ]


def test_flush_loses_nothing_and_windows_are_bounded() -> None:
    now = [0.0]
    agg, out = make(now, max_windows=3)
    for i in range(100):
        agg.add(fail(f"10.0.{i // 250}.{i % 250}", i=i))
    assert len(agg) == 4  # three sources and the overflow
    agg.flush()
    assert total(out) == 100
    assert any(e.metadata["source"] == OVERFLOW and e.ip == "" for e in out)


def test_refused_publish_keeps_the_count() -> None:
    now = [0.0]
    sent: list[AuditEvent] = []
    fail_next = [False]

    def emit(event: AuditEvent) -> None:
        if fail_next[0]:
            raise RuntimeError("backlog full")
        sent.append(event)

    agg = FailedAuths(emit, window_s=1.0, clock=lambda: now[0])
    agg.add(fail("10.0.0.1"))
    agg.add(fail("10.0.0.1"))
    now[0] = 2.0
    fail_next[0] = True
    with contextlib.suppress(RuntimeError):
        agg.tick()
    fail_next[0] = False
    agg.tick()
    assert total(sent) == 2
