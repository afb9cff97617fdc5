"""The reference forwarder (issue 13): ``python -m services.audit.forward`` as the read-only bus
user ``audit_reader`` on its own durable receives every audit event of the run, as JSON lines."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx

from libs.stack import pki
from tests.stack import Stack


async def _stored_ids(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return {r["event_id"] for r in await conn.fetch("SELECT event_id FROM audit.events")}
    finally:
        await conn.close()


def _forwarded(out: Path) -> list[dict]:
    if not out.exists():
        return []
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def test_the_forwarder_receives_every_event_of_the_run(stack: Stack, tmp_path: Path) -> None:
    out = tmp_path / "audit.jsonl"
    env = {**os.environ, "BASTION_NATS_URL": stack.bus_url, "BASTION_NATS_USER": "audit_reader",
           **pki.env(stack.var, "audit_reader")}  # fmt: skip  # its own client certificate (mutual TLS)
    proc = subprocess.Popen([sys.executable, "-m", "services.audit.forward", "--out", str(out)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        headers = {"authorization": f"Bearer {stack.api_key}"}
        for _ in range(5):  # a few more events while it runs
            httpx.get(f"{stack.base_url}/models", headers=headers, timeout=10)
        httpx.get(f"{stack.base_url}/models", headers={"authorization": "Bearer sk-proj_nope"}, timeout=10)
        deadline = time.monotonic() + 30
        missing: set[str] = {"?"}
        while time.monotonic() < deadline and missing:
            time.sleep(0.5)
            stored = asyncio.run(_stored_ids(stack.superuser_dsn))
            got = {line["event"]["event_id"] for line in _forwarded(out) if "event" in line}
            missing = stored - got
        assert not missing, f"{len(missing)} stored events never forwarded"
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, output.decode(errors="replace")[-2000:]
    lines = _forwarded(out)
    assert all(line["subject"].startswith("gw.evt.audit.") and line["stream_seq"] > 0 for line in lines)
    assert any(line.get("event", {}).get("action") == "auth.failed" for line in lines)
