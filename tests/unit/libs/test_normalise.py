"""Events are made storable where they are published and again before they are stored."""

from __future__ import annotations

import json

import msgspec

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
    assert (clean.resource_type, clean.resource_id, clean.resource) == ("path", "/v1/keys/\ufffd", "")
    assert clean.user_agent == "curl\ufffd"
    assert clean.actor_type == "management_token"  # the legacy name, read as today's
    assert clean.detail == {}
    assert len(clean.metadata) == normalise.DETAIL_MAX_ENTRIES
    assert all(v == "v\ufffd" for v in clean.metadata.values())


def test_a_legacy_event_becomes_the_record_shape() -> None:
    legacy = AuditEvent(event_id="e", ts=1, org_id="o", actor_type="api_key", actor_id="k", action="chat.completion",
                        resource="model_alias:prj/fast:v2", success=True, status=200,
                        detail={"provider": "mock", "status": "ignored"})  # fmt: skip
    clean = normalise.audit(legacy)
    assert (clean.resource_type, clean.resource_id) == ("model_alias", "prj/fast:v2")  # split at the first colon
    assert clean.metadata == {"provider": "mock", "status": 200}  # the status field wins over a detail
    assert normalise.audit(msgspec.structs.replace(legacy, detail={})).metadata == {"status": 200}
    assert normalise.split_resource("-") == ("", "")
    assert normalise.split_resource("nocolon") == ("", "nocolon")
    new = AuditEvent(event_id="e", ts=1, org_id="o", actor_type="api_key", actor_id="k", action="chat.completion",
                     success=True, resource_type="model", resource_id="m", metadata={"status": 200},
                     resource="ignored:x")  # fmt: skip
    assert (normalise.audit(new).resource_type, normalise.audit(new).resource_id) == ("model", "m")


def test_metadata_is_bounded_and_reads_back_from_jsonb_as_itself() -> None:
    deep: dict[str, object] = {"l1": {"l2": {"l3": {"l4": {"l5": 1}}}}}
    clean = normalise.metadata({
        "nul\x00": "a\x00b", "big": 2**70, "neg": -(2**70), "whole": 3.0, "huge": 1e300, "frac": 0.1,
        "list": list(range(100)), "deep": deep, "ok": [True, None, "x"],
    })  # fmt: skip
    assert clean["nul\ufffd"] == "a\ufffdb"
    assert clean["big"] == str(2**70)
    assert clean["neg"] == str(-(2**70))
    assert clean["whole"] == 3
    assert isinstance(clean["whole"], int)
    assert clean["huge"] == repr(1e300)
    assert clean["frac"] == 0.1
    assert len(clean["list"]) == normalise.METADATA_MAX_ENTRIES
    assert isinstance(clean["deep"]["l1"]["l2"]["l3"], str)  # past the depth limit: its JSON text
    assert clean["ok"] == [True, None, "x"]
    # through PostgreSQL's jsonb and back: json.dumps, then jsonb prints whole numbers without a point
    assert json.loads(json.dumps(clean)) == clean
    assert normalise.metadata(clean) == clean


def test_huge_metadata_is_cut_to_its_budget_and_says_so() -> None:
    huge = {f"k{i:02}": "v" * 1000 for i in range(32)}
    clean = normalise.metadata(huge)
    assert len(msgspec.json.encode(clean)) <= normalise.METADATA_MAX_BYTES
    assert clean["_truncated"] is True
    assert 0 < len(clean) < 32
    assert normalise.metadata(clean) == clean
    assert "_truncated" not in normalise.metadata({"a": "b"})


def test_normalising_twice_changes_nothing() -> None:
    """The audit chain hashes the stored form: a redelivered event must hash the same."""
    audit = AuditEvent(event_id="e", ts=1, org_id="o", actor_type="api_key", actor_id="k", action="chat.completion",
                       resource="model:\x00" + "x" * 5000, success=True, detail={"a\x00": "b"})  # fmt: skip
    once = normalise.audit(audit)
    assert normalise.audit(once) == once
    nested = msgspec.structs.replace(audit, metadata={"x": {f"k{i}": "v" * 900 for i in range(40)}, "n": 2.0})
    twice = normalise.audit(nested)
    assert normalise.audit(twice) == twice
    usage = normalise.usage(_usage(model="\x00" * 400, prompt_tokens=2**40))
    assert normalise.usage(usage) == usage


def test_plain_metadata_is_taken_as_it_is_and_anything_else_cleaned() -> None:
    plain = {"status": 200, "provider": "mock", "ok": True, "none": None}
    assert normalise.metadata(plain) is plain  # the publishers' common case: no copy
    for dirty in ({"a": "b\x00"}, {"a\x00": 1}, {"a": 2**70}, {"a": 1.0}, {"a": "é"}, {"a": "x" * 2000},
                  {f"k{i}": 1 for i in range(40)}, {"a": [1]}):  # fmt: skip
        cleaned = normalise.metadata(dirty)
        assert cleaned is not dirty
        assert normalise.metadata(cleaned) == cleaned
