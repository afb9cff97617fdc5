"""Front processes cannot rewrite the audit stream nor forge other sources' events (issue 10, defect 8)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time

import httpx
import nats
import pytest

from libs.contracts import subjects
from libs.contracts.codec import encode
from libs.contracts.messages import AuditEvent
from tests.stack import Stack


async def _connect(stack: Stack, user: str) -> nats.NATS:
    return await nats.connect(stack.bus_url, **stack.bus_options(user), max_reconnect_attempts=0,
                              allow_reconnect=False)  # fmt: skip


@pytest.mark.parametrize("user", ["edge", "api", "guardrails", "metering", "audit"])
@pytest.mark.parametrize(
    "subject",
    [
        f"$JS.API.STREAM.DELETE.{subjects.AUDIT_STREAM}",
        f"$JS.API.STREAM.UPDATE.{subjects.AUDIT_STREAM}",
        f"$JS.API.STREAM.PURGE.{subjects.AUDIT_STREAM}",
        f"$JS.API.STREAM.MSG.DELETE.{subjects.AUDIT_STREAM}",
        f"$JS.API.CONSUMER.DELETE.{subjects.AUDIT_STREAM}.{subjects.AUDIT_DURABLE}",
        f"$JS.API.STREAM.DELETE.{subjects.DEADLETTER_STREAM}",
        "$JS.API.STREAM.CREATE.EVIL",
    ],
)
async def test_services_cannot_manage_streams(stack: Stack, user: str, subject: str) -> None:
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await nats.connect(stack.bus_url, **stack.bus_options(user), error_cb=on_error, max_reconnect_attempts=0,
                            allow_reconnect=False)  # fmt: skip
    try:
        with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
            await nc.request(subject, b'{"config": {"name": "AUDIT", "subjects": ["x.>"]}}', timeout=0.5)
        for _ in range(20):
            if errors:
                break
            await asyncio.sleep(0.05)
    finally:
        await nc.close()
    assert any("permissions violation" in e.lower() for e in errors), errors
    info = await _stream_info(stack)
    assert info["subjects"] == [subjects.AUDIT_SUBJECTS]


async def _stream_info(stack: Stack) -> dict[str, object]:
    nc = await nats.connect(stack.bus_url, **stack.bus_options("operator"))
    try:
        info = await nc.jsm().stream_info(subjects.AUDIT_STREAM)
        assert info.config.subjects is not None
        return {"subjects": list(info.config.subjects), "messages": info.state.messages}
    finally:
        await nc.close()


def _operator_cli(stack: Stack, *args: str) -> object:
    out = subprocess.run([sys.executable, "-m", "libs.stack", *args, "--var", str(stack.var)],
                         env={**os.environ, "BASTION_NATS_PORT": str(stack.ports["NATS"])},
                         capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
    return json.loads(out.stdout)


def _audit_rows(stack: Stack, request_id: str) -> list[dict[str, object]]:
    response = httpx.get(f"{stack.api}/v1/audit/", params={"request_id": request_id}, headers=stack.admin_headers)
    assert response.status_code == 200
    rows: list[dict[str, object]] = response.json()["data"]
    return rows


async def test_an_event_claiming_another_source_is_dead_lettered_not_stored(stack: Stack) -> None:
    org_id = stack.env["BASTION_DEMO_ORG"]
    forged_rid = f"req_forged_{secrets.token_hex(4)}"
    forged = AuditEvent(event_id=f"evt_{secrets.token_hex(12)}", ts=int(time.time() * 1000), org_id=org_id,
                        actor_type="admin_token", actor_id="tok_owner", action="api_key.revoked",
                        resource="key:victim", success=True, request_id=forged_rid)  # fmt: skip
    # The edge may publish on its own audit subjects only; it claims a management action anyway.
    nc = await _connect(stack, "edge")
    try:
        await nc.jetstream().publish(subjects.audit_event("edge", "api_key", "revoked"), encode(forged), timeout=5)
    finally:
        await nc.close()
    # A normal request afterwards is stored: the forged event blocked nothing.
    ok = httpx.post(f"{stack.base_url}/chat/completions",
                    json={"model": "mock-gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
                    headers={"authorization": f"Bearer {stack.api_key}"})  # fmt: skip
    assert ok.status_code == 200
    deadline = time.monotonic() + 10
    while not _audit_rows(stack, ok.headers["x-request-id"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _audit_rows(stack, ok.headers["x-request-id"])
    assert _audit_rows(stack, forged_rid) == []
    letters = _operator_cli(stack, "deadletters", "list")
    assert isinstance(letters, list)
    mine = [e for e in letters if e.get("subject") == subjects.audit_event("edge", "api_key", "revoked")]
    assert mine, letters
    assert mine[-1]["reason"] == "claims"
    assert mine[-1]["consumer"] == subjects.AUDIT_DURABLE
    # Replaying it changes nothing: the claims are still wrong, it is dead-lettered again.
    _operator_cli(stack, "deadletters", "replay", str(mine[-1]["id"]))
    time.sleep(1.0)
    assert _audit_rows(stack, forged_rid) == []
    counters = subprocess.run([sys.executable, "-m", "libs.stack", "metrics", "audit", "--var", str(stack.var)],
                              env={**os.environ, "BASTION_NATS_PORT": str(stack.ports["NATS"])},
                              capture_output=True, text=True, check=True, timeout=60).stdout  # fmt: skip
    assert 'bastion_dead_letters_total{consumer="audit",reason="claims"}' in counters
