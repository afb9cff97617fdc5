"""Events are made storable where they are published and again before they are stored."""

from __future__ import annotations

from libs.contracts import normalise
from libs.contracts.messages import AuditEvent, UsageEvent


def _usage(**kw: object) -> UsageEvent:
    base: dict[str, object] = {"request_id": "r", "ts": 1, "org_id": "o", "project_id": "p", "key_id": "k",
                               "model": "m", "provider": "x", "status": 200}  # fmt: skip
    return UsageEvent(**{**base, **kw})  # type: ignore[arg-type]


def test_text_loses_control_characters_and_bad_unicode_and_is_capped() -> None:
    assert normalise.text("a\x00b\x1b[31mc\x7f\x85") == "a\ufffdb\ufffd[31mc\ufffd\ufffd"
    assert normalise.text("\ud800x") == "?x"  # an unpaired surrogate cannot be encoded as UTF-8
    assert normalise.text("é" * 300) == "é" * 256
    assert normalise.text("plain") == "plain"


def test_counts_fit_an_integer_column() -> None:
    event = normalise.usage(_usage(prompt_tokens=2**40, completion_tokens=-5, cached_tokens=7, latency_ms=2**33,
                                   held_micros=2**70, ts=2**62, status=10_000))  # fmt: skip
    assert (event.prompt_tokens, event.completion_tokens, event.cached_tokens) == (2**31 - 1, 0, 7)
    assert event.latency_ms == 2**31 - 1
    assert event.held_micros == 2**63 - 1
    assert event.ts == normalise.TS_MAX_MS
    assert event.status == 0
    assert event.estimated  # a clamped count is not the provider's word
    assert not normalise.usage(_usage(prompt_tokens=5)).estimated


def test_usage_and_audit_fields_from_requests_are_cleaned() -> None:
    usage = normalise.usage(_usage(model="gpt\x00-4", correlation_id="c" * 500))
    assert usage.model == "gpt\ufffd-4"
    assert len(usage.correlation_id) == 128
    audit = AuditEvent(event_id="e", ts=1, org_id="", actor_type="admin_token", actor_id="unknown",
                       action="admin_token.rejected", resource="path:/v1/keys/\x00", success=False,
                       user_agent="curl\x00", detail={f"k{i}": "v\x00" for i in range(40)})  # fmt: skip
    clean = normalise.audit(audit)
    assert clean.resource == "path:/v1/keys/\ufffd"
    assert clean.user_agent == "curl\ufffd"
    assert len(clean.detail) == normalise.DETAIL_MAX_ENTRIES
    assert all(v == "v\ufffd" for v in clean.detail.values())


def test_normalising_twice_changes_nothing() -> None:
    """The audit chain hashes the stored form: a redelivered event must hash the same."""
    audit = AuditEvent(event_id="e", ts=1, org_id="o", actor_type="api_key", actor_id="k", action="chat.completion",
                       resource="model:\x00" + "x" * 5000, success=True, detail={"a\x00": "b"})  # fmt: skip
    once = normalise.audit(audit)
    assert normalise.audit(once) == once
    usage = normalise.usage(_usage(model="\x00" * 400, prompt_tokens=2**40))
    assert normalise.usage(usage) == usage
