"""One request is one trace (issue 14): the edge's server span is the parent of the spans its bus
requests make in auth, guardrails and vault, and of those its usage and audit events make in
metering and audit (through the JetStream message's ``traceparent``)."""

from __future__ import annotations

import json
import time

import httpx

from tests.stack import Stack

SERVICES = ("bastion-auth", "bastion-guardrails", "bastion-vault", "bastion-metering", "bastion-audit")


def _spans(stack: Stack) -> list[dict]:
    out = []
    for path in (stack.var / "traces").glob("*.jsonl*"):
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
    return out


def test_a_request_is_one_trace_across_the_services(stack: Stack) -> None:
    response = httpx.post(f"{stack.base_url}/chat/completions", timeout=10,
                          json={"model": "mock-gpt-4o-mini", "messages": [{"role": "user", "content": "trace me"}]},
                          headers={"authorization": f"Bearer {stack.api_key}"})  # fmt: skip
    assert response.status_code == 200
    request_id = response.headers["x-request-id"]
    deadline = time.monotonic() + 15
    edge: list[dict] = []
    children: list[dict] = []
    while time.monotonic() < deadline:
        spans = _spans(stack)
        edge = [s for s in spans if s.get("attributes", {}).get("bastion.request_id") == request_id]
        if edge:
            children = [s for s in spans if s["trace_id"] == edge[0]["trace_id"] and s is not edge[0]]
            if set(SERVICES) <= {s["service"] for s in children}:
                break
        time.sleep(0.2)  # trace files are written every half second
    assert len(edge) == 1, edge
    assert edge[0]["service"] == "bastion-edge"
    assert edge[0]["attributes"]["http.response.status_code"] == 200
    by_service = {s["service"]: s for s in children}
    assert set(SERVICES) <= set(by_service), sorted(by_service)
    for service in SERVICES:
        assert by_service[service]["parent_span_id"] == edge[0]["span_id"]
    guard_checks = [s for s in children if s["service"] == "bastion-guardrails"]
    assert len(guard_checks) == 2  # input and output
