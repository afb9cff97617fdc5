"""The forwarder's lines: the event as the audit service stores it, or the payload when undecodable."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from types import SimpleNamespace

from libs.contracts.codec import encode
from libs.contracts.messages import AuditEvent
from services.audit.forward import line


@dataclass
class _Msg:
    data: bytes
    subject: str = "gw.evt.audit.edge.chat.completion"
    metadata: SimpleNamespace = field(default_factory=lambda: SimpleNamespace(sequence=SimpleNamespace(stream=42)))


def test_a_line_holds_the_normalised_event_or_the_raw_payload() -> None:
    legacy = AuditEvent(event_id="e", ts=1, org_id="o", actor_type="admin_token", actor_id="t", action="x.y",
                        resource="api_key:k\x00", success=True, status=200)  # fmt: skip
    entry = json.loads(line(_Msg(encode(legacy), subject="gw.evt.audit.api.x.y")))  # a management-token action
    assert (entry["subject"], entry["stream_seq"]) == ("gw.evt.audit.api.x.y", 42)
    assert entry["event"]["actor_type"] == "management_token"
    assert (entry["event"]["resource_type"], entry["event"]["resource_id"]) == ("api_key", "k\ufffd")
    assert entry["event"]["metadata"] == {"status": 200}
    bad = json.loads(line(_Msg(b"\x00not json")))
    assert bad["undecodable"] is True
    assert base64.b64decode(bad["payload_b64"]) == b"\x00not json"


def test_an_event_the_audit_service_refuses_is_not_forwarded_as_a_genuine_one() -> None:
    """Review of h/audit. The forwarder skips the claims check the audit service makes
    (``services/audit/claims.py``): an event the edge may not publish — here a management-token
    action filed under the edge's subject, as a compromised edge would — is dead-lettered by the
    audit service but lands in the SIEM's file as an ordinary ``event``, indistinguishable from the
    stored ones (docs/audit.md: "the event normalised as the audit service stores it")."""
    forged = AuditEvent(event_id="e", ts=1, org_id="victim", actor_type="management_token", actor_id="tok_victim",
                        action="chat.completion", success=True)  # fmt: skip
    entry = json.loads(line(_Msg(encode(forged))))
    marked = any(entry.get(k) for k in ("refused", "rejected", "claims"))  # any marker the SIEM can filter on
    assert "event" not in entry or marked, f"forwarded as genuine: {entry}"


def test_an_undecodable_message_is_not_forwarded_with_its_secrets() -> None:
    """Review of h/audit. A dead letter's payload is masked (``libs/svc/consumers.py:masked``), but
    the forwarder writes an undecodable message's raw bytes, base64-encoded — so a provider key in a
    malformed event reaches the SIEM's file, where no plain-text leak scan sees it. (A decodable
    event is forwarded as published, unscrubbed, too: only the publisher's scrub stands between.)"""
    secret = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"
    payload = b'{"event_id": 1, "user_agent": "curl ' + secret.encode() + b'"}'  # event_id is not a string
    entry = json.loads(line(_Msg(payload)))
    assert entry["undecodable"] is True
    assert secret.encode() not in base64.b64decode(entry["payload_b64"]), "the provider key is in the forwarded file"
