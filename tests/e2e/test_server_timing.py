"""The edge's ``Server-Timing`` header: each phase, and when each check answered (durations only)."""

from __future__ import annotations

import re

import httpx

from tests.stack import Stack


def _timings(response: httpx.Response) -> dict[str, float]:
    found = {}
    for item in response.headers["server-timing"].split(","):
        name, _, dur = item.strip().partition(";dur=")
        assert re.fullmatch(r"[a-z_-]+", name), item
        found[name] = float(dur)
    return found


def test_server_timing_tells_each_checks_answer_apart(stack: Stack) -> None:
    for _ in range(2):  # the second request has a hint: its checks go out ahead of auth's answer
        response = httpx.post(
            f"{stack.base_url}/chat/completions", timeout=20,
            json={"model": "mock-gpt-4o-mini", "messages": [{"role": "user", "content": "time me"}]},
            headers={"authorization": f"Bearer {stack.env['BASTION_API_KEY']}"},
        )  # fmt: skip
        assert response.status_code == 200, response.text
        timings = _timings(response)
        assert {"auth", "parse", "checks", "upstream", "output_guard"} <= timings.keys()
        assert {"auth-answer", "guardrails-answer", "vault-answer"} <= timings.keys()
        for name in ("guardrails-answer", "vault-answer"):
            assert 0 <= timings[name] <= timings["checks"] + 0.01  # answered within the checks phase
        assert "sk-" not in response.headers["server-timing"]  # durations only, nothing of the request
