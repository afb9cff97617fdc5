"""A secret pasted into a client-controlled field (a model name, a URL path, a user agent, a
request id) never reaches the event spool, JetStream or the rows made from them: the publisher
masks secret-shaped strings in every event it is handed (found by tests/security/test_zz_canary.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from libs.contracts.messages import AuditEvent, UsageEvent
from libs.crypto import apikeys
from libs.svc.events import EventPublisher, scrubbed
from libs.svc.logs import scrub
from libs.svc.spool import Spool

KEY = apikeys.generate("prjabcdef")
TOKEN = apikeys.generate_admin_token()
PROVIDER = "sk-ant-" + "A1b2C3d4" * 5


class _Js:
    def __init__(self) -> None:
        self.published: list[bytes] = []

    async def publish(self, subject: str, payload: bytes, **_: Any) -> None:
        self.published.append(payload)


class _Nc:
    def __init__(self) -> None:
        self.js = _Js()

    def jetstream(self) -> _Js:
        return self.js


def _events() -> tuple[UsageEvent, AuditEvent]:
    usage = UsageEvent(request_id="req_1", ts=1, org_id="org1", project_id="prjabcdef", key_id="key1", model=KEY,
                       provider="p", status=404, correlation_id=TOKEN)  # fmt: skip
    audit = AuditEvent(event_id="evt_1", ts=1, org_id="org1", actor_type="admin_token", actor_id="tok1",
                       action="admin_token.revoked", resource=f"admin_token:{TOKEN}", success=False,
                       user_agent=f"sdk/1.0 Bearer {PROVIDER}", detail={"model": KEY, f"k {KEY}": "v"})  # fmt: skip
    return usage, audit


def _secrets_in(data: bytes) -> list[str]:
    parts = {"api key": apikeys.parse(KEY).secret, "token": TOKEN[len(apikeys.ADMIN_PREFIX) :],  # type: ignore[union-attr]
             "provider key": PROVIDER[7:]}  # fmt: skip
    return [name for name, part in parts.items() if part.encode() in data]


async def test_spooled_and_published_events_hold_no_secret(tmp_path: Path) -> None:
    nc = _Nc()
    events = EventPublisher(nc, spool=Spool(tmp_path, "edge"), concurrency=1)  # type: ignore[arg-type]
    events.start()
    usage, audit = _events()
    events.usage(usage)
    events.audit(audit, source="api")
    spooled = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    await events.close()
    assert spooled
    assert len(nc.js.published) == 2
    assert _secrets_in(spooled) == []
    assert _secrets_in(b"".join(nc.js.published)) == []


def test_scrubbing_keeps_everything_else() -> None:
    usage, audit = _events()
    clean_usage, clean_audit = scrubbed(usage), scrubbed(audit)
    assert clean_usage.model == "sk-proj_prjabcdef_[REDACTED]"
    assert clean_usage.correlation_id == "[REDACTED]"
    assert clean_audit.resource == "admin_token:[REDACTED]"
    assert clean_audit.user_agent == "sdk/1.0 [REDACTED]"
    assert clean_audit.detail == {"model": "sk-proj_prjabcdef_[REDACTED]", "k sk-proj_prjabcdef_[REDACTED]": "v"}
    assert msgspec.structs.replace(clean_usage, model=KEY, correlation_id=TOKEN) == usage
    plain = UsageEvent(request_id="req_2", ts=1, org_id="o", project_id="p", key_id="k", model="gpt-4o",
                       provider="openai", status=200)  # fmt: skip
    assert scrubbed(plain) is plain


def test_masks_and_prefix_hints_are_display_safe_and_kept() -> None:
    # The mask (4 + 4 characters) and the prefix hint (project + 4) are made to be shown; only
    # what could be a whole key is masked (Bastion's ``sk-proj_`` is not OpenAI's ``sk-proj-``).
    shown = {"key_prefix": apikeys.prefix_hint(KEY), "masked": apikeys.mask(KEY), "token": apikeys.mask(TOKEN)}
    audit = AuditEvent(event_id="evt_2", ts=1, org_id="o", actor_type="system", actor_id="unknown",
                       action="auth.failed", resource="edge", success=False, detail=shown)  # fmt: skip
    assert scrubbed(audit) is audit
    assert scrub(f"x {KEY} y") == f"x {apikeys.PREFIX}prjabcdef_[REDACTED] y"
    assert scrub("sk-proj-" + "Ab1" * 10) == "[REDACTED]"


def test_nested_metadata_is_scrubbed_at_every_depth() -> None:
    """Metadata is a JSON object since issue 13: a key pasted into a nested value or list is masked too."""
    audit = AuditEvent(event_id="evt_3", ts=1, org_id="o", actor_type="management_token", actor_id="tok1",
                       action="api_key.updated", resource_type="api_key", resource_id="k1", success=True,
                       metadata={"changes": {"name": [f"was {KEY}", 3]}, "n": 2, "ok": True})  # fmt: skip
    clean = scrubbed(audit)
    assert _secrets_in(msgspec.json.encode(clean)) == []
    assert clean.metadata == {"changes": {"name": ["was sk-proj_prjabcdef_[REDACTED]", 3]}, "n": 2, "ok": True}
    plain = msgspec.structs.replace(audit, metadata={"changes": {"name": ["x", 3]}, "n": None})
    assert scrubbed(plain) is plain
