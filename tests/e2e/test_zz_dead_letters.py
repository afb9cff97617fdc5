"""Runs late in the e2e session: every real event the suite produced was stored — the only dead
letters are those a test forged on purpose (tests/e2e/test_audit_stream_integrity.py). A claims rule
that refused a real event (a new action, a new source) fails here."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from libs.contracts import subjects
from tests.stack import Stack


def test_no_real_event_was_dead_lettered(stack: Stack) -> None:
    out = subprocess.run([sys.executable, "-m", "libs.stack", "deadletters", "list", "--limit", "10000",
                          "--var", str(stack.var)], env={**os.environ, "BASTION_NATS_PORT": str(stack.ports["NATS"])},
                         capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
    letters = json.loads(out.stdout)
    forged = subjects.audit_event("edge", "api_key", "revoked")
    unexpected = [e for e in letters if e.get("subject") != forged or e.get("reason") != "claims"]
    assert unexpected == []
