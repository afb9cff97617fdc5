"""Adversarial review of the audit trail (issue 10, items 1 and 8; issue 13): every chain must
verify from what the database stores — links and signed checkpoints — or tampering and honest
rows look the same."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from libs.audit.signing import TrustedKeys
from tests.helpers import audit_chains
from tests.stack import Stack

pytestmark = pytest.mark.e2e


def test_the_audit_chain_verifies_from_the_stored_rows(stack: Stack) -> None:
    """Was a hole: the chain hashed ``detail`` in insertion order, but jsonb stores its keys
    re-ordered (by length, then bytes), so an event with a multi-key detail (the auth.failed
    aggregates) could not be verified from the database: honest rows looked tampered. Now every
    organisation's chain (and the operators' chain of rows without one) is checked, with the
    checkpoints the audit service signed."""
    refused = httpx.get(f"{stack.base_url}/models", headers={"authorization": "Bearer sk-proj_nope"}, timeout=10)
    assert refused.status_code == 401
    trusted = TrustedKeys.parse((stack.var / "secrets" / "audit_signing.pub").read_text())
    deadline = time.monotonic() + 20
    reports = asyncio.run(audit_chains(stack.superuser_dsn, trusted))
    while time.monotonic() < deadline and ("" not in reports or not reports[""].last_checkpoint_seq):
        time.sleep(0.3)
        reports = asyncio.run(audit_chains(stack.superuser_dsn, trusted))
    assert "" in reports  # the refusal, on the chain of rows no organisation could be tied to
    assert reports[""].last_checkpoint_seq > 0  # signed within a second or so
    broken = {org: (r.first_bad_seq, r.reason) for org, r in reports.items() if not r.ok}
    assert broken == {}
