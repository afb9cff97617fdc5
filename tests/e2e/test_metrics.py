"""Metrics scraped from every process through the bridge (``python -m libs.stack metrics-bridge``,
started by the local stack): each edge worker, each replica of every bus service and the API
answer, in valid Prometheus text, and the counts match the requests sent."""

from __future__ import annotations

import secrets
import string
import time

import httpx

from tests import promtext
from tests.stack import Stack

PROCESSES = {"edge": 2, "auth": 2, "metering": 2, "guardrails": 1, "vault": 1, "audit": 1, "api": 1}
"""Processes of each service on the test stack (tests/stack.py: 2 edge workers, 2 auth and 2 metering)."""
CHAT = "chat.completion"


def _scrape(stack: Stack) -> dict[promtext.Series, float]:
    response = httpx.get(f"http://127.0.0.1:{stack.ports['METRICS']}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return promtext.parse(response.text)


def _chat(stack: Stack, key: str, content: str = "count me", model: str = "mock-gpt-4o-mini") -> httpx.Response:
    return httpx.post(f"{stack.base_url}/chat/completions", timeout=20, headers={"authorization": f"Bearer {key}"},
                      json={"model": model, "messages": [{"role": "user", "content": content}]})  # fmt: skip


def _fake_openai_key() -> str:
    return "sk-proj-" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40))


def _limited_key(stack: Stack, **limits: object) -> str:
    with stack.admin() as http:
        project = http.post("/v1/projects/", json={"name": f"metrics-{time.time_ns()}"}).json()["id"]
        key: str = http.post("/v1/keys/", json={"project_id": project, **limits}).json()["key"]
    stack.created_secrets.append(key)
    return key


def _edge_series(samples: dict[promtext.Series, float]) -> int:
    return sum(1 for _, labels in samples if ("service", "edge") in labels)


def test_every_process_answers_and_the_counts_match(stack: Stack) -> None:
    before = _scrape(stack)
    for service, n in PROCESSES.items():
        assert before[("bastion_scrape_answers", (("service", service),))] == n, service
        instances = {
            dict(ls).get("instance")
            for n, ls in before
            if n != "bastion_scrape_answers" and dict(ls).get("service") == service
        }
        assert len(instances) == n, (service, instances)  # every replica, each under its own name

    ok = [_chat(stack, stack.api_key) for _ in range(5)]
    assert [r.status_code for r in ok] == [200] * 5
    bad_key = "sk-proj_" + secrets.token_hex(4) + "_" + "A" * 43
    refused = [_chat(stack, bad_key) for _ in range(3)]
    assert [r.status_code for r in refused] == [401] * 3
    redacted = _chat(stack, stack.api_key, f"my key is {_fake_openai_key()}")  # the built-in policy redacts it
    assert redacted.status_code == 200
    after = _scrape(stack)

    def delta(name: str, **labels: str) -> float:
        return promtext.value(after, name, **labels) - promtext.value(before, name, **labels)

    assert delta("bastion_edge_requests_total", route=CHAT, status="200") == 6
    assert delta("bastion_edge_requests_total", route=CHAT, status="401") == 3
    assert delta("bastion_edge_request_seconds_count", route=CHAT) == 9
    assert delta("bastion_edge_denials_total", route=CHAT, code="invalid_api_key") == 3
    for phase in ("auth", "parse", "checks", "upstream", "output_guard"):
        assert delta("bastion_edge_phase_seconds_count", route=CHAT, phase=phase) == 6, phase
    assert delta("bastion_bus_requests_total", service="edge", target="vault", outcome="ok") >= 6
    assert delta("bastion_bus_requests_total", service="edge", target="guardrails", outcome="ok") >= 6
    # each check the edge sent was answered by some replica of the service it went to
    assert delta("bastion_bus_handled_total", service="guardrails", subject="gw.guard.check.v1") >= 6
    assert delta("bastion_bus_handled_total", service="vault", subject="gw.vault.resolve.v1") >= 6
    assert delta("bastion_guardrail_findings_total", service="guardrails", action="redact", direction="input") >= 1
    for service in ("auth", "metering", "audit", "api"):
        assert promtext.value(after, "bastion_process_start_time_seconds", service=service) > 0, service


def test_lease_grants_are_counted(stack: Stack) -> None:
    before = _scrape(stack)
    key = _limited_key(stack, rate_limit_rpm=1000)  # a key with limits: admitted from metering's leases
    assert [_chat(stack, key).status_code for _ in range(3)] == [200] * 3
    after = _scrape(stack)

    def delta(name: str, **labels: str) -> float:
        return promtext.value(after, name, **labels) - promtext.value(before, name, **labels)

    assert delta("bastion_metering_leases_total", service="metering", outcome="granted") >= 1
    assert delta("bastion_bus_requests_total", service="edge", target="metering", outcome="ok") >= 1
    assert delta("bastion_bus_requests_total", service="api", target="auth", outcome="ok") >= 1  # the key's issue


def test_metering_and_audit_report_their_consumers(stack: Stack) -> None:
    assert _chat(stack, stack.api_key).status_code == 200
    samples: dict[promtext.Series, float] = {}
    for _ in range(50):  # the usage and audit events are stored a little after the answer
        samples = _scrape(stack)
        if promtext.value(samples, "bastion_consumer_batches_total", consumer="audit") and promtext.value(
                samples, "bastion_consumer_batches_total", consumer="metering"):  # fmt: skip
            break
    for consumer in ("metering", "audit"):
        assert promtext.value(samples, "bastion_consumer_batched_events_total", consumer=consumer) >= 1
        lag = [v for (n, ls), v in samples.items() if n == "bastion_consumer_pending" and ("consumer", consumer) in ls]
        assert lag, consumer
        assert all(v >= 0 for v in lag)


def test_a_flood_of_model_names_does_not_grow_the_series(stack: Stack) -> None:
    for i in range(20):  # every edge worker has answered a 404 by now (one series each, whatever the model)
        assert _chat(stack, stack.api_key, model=f"flood-{i}-{secrets.token_hex(4)}").status_code == 404
    before = _edge_series(_scrape(stack))
    for i in range(80):
        assert _chat(stack, stack.api_key, model=f"flood-{i}-{secrets.token_hex(8)}").status_code == 404
    after = _scrape(stack)
    assert _edge_series(after) < before + 10  # 80 names, no series of their own
    assert not any("flood-" in v for _, labels in after for _, v in labels)


def test_the_bridge_answers_only_get_metrics(stack: Stack) -> None:
    base = f"http://127.0.0.1:{stack.ports['METRICS']}"
    assert httpx.get(f"{base}/", timeout=5).status_code == 404
    assert httpx.post(f"{base}/metrics", timeout=5).status_code == 404
