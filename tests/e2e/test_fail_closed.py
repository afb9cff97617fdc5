"""Killing or freezing auth, guardrails or vault: 503 within 2 s, never a pass-through; the
supervisor's restart is picked up without restarting the edge."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest

from tests.stack import Stack

BODY = {"model": "mock-gpt-4o-mini", "messages": [{"role": "user", "content": "are you there?"}]}


def _post(stack: Stack) -> tuple[int, float, dict]:
    started = time.monotonic()
    response = httpx.post(f"{stack.base_url}/chat/completions", json=BODY, timeout=10,
                          headers={"authorization": f"Bearer {stack.api_key}"})  # fmt: skip
    return response.status_code, time.monotonic() - started, response.json()


def _replicas(stack: Stack, service: str) -> list[int]:
    extra = stack.var / "run" / f"{service}-2.pid"
    return [stack.pid(service)] + ([int(extra.read_text())] if extra.exists() else [])


def _wait_ok(stack: Stack, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _post(stack)[0] == 200:
            return
        time.sleep(0.2)
    pytest.fail("service did not come back")


@pytest.mark.parametrize("service", ["auth", "guardrails", "vault"])
def test_killed_service_fails_closed_then_recovers(stack: Stack, service: str) -> None:
    _wait_ok(stack)
    old = stack.pid(service)
    for pid in _replicas(stack, service):  # every replica: one left would (rightly) answer
        os.kill(pid, signal.SIGKILL)
    status, elapsed, body = _post(stack)
    assert status == 503, body
    assert elapsed < 2.0
    assert body["error"]["code"] == "service_unavailable"
    assert service in body["error"]["message"]
    _wait_ok(stack)
    assert stack.pid(service) != old


@pytest.mark.parametrize("service", ["auth", "guardrails", "vault"])
def test_frozen_service_times_out_to_503_within_2s(stack: Stack, service: str) -> None:
    _wait_ok(stack)
    pids = _replicas(stack, service)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        status, elapsed, body = _post(stack)
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    assert status == 503, body
    assert elapsed < 2.0
    _wait_ok(stack)
