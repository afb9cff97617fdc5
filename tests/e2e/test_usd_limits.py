"""USD limits that cannot be dodged: unpriced models, ``n``, a missing ``max_tokens``, tools and
images, abandoned streams (issue 10, defect 5)."""

from __future__ import annotations

import asyncio
import math
import secrets
import socket
import time
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest

from tests.stack import Stack

DEFAULT_MAX_TOKENS = 2048  # BASTION_DEFAULT_MAX_TOKENS of the test stack (tests/e2e/conftest.py)


def _org_key(stack: Stack, token: str, project: str, **limits: object) -> str:
    with stack.admin(token) as http:
        created = http.post("/v1/keys/", json={"project_id": project, **limits})
        assert created.status_code == 201, created.text
    stack.created_secrets.append(created.json()["key"])
    return str(created.json()["key"])


def _provider(stack: Stack, token: str, **spec: object) -> dict[str, Any]:
    with stack.admin(token) as http:
        made = http.post("/v1/providers/", json=spec)
        assert made.status_code == 201, made.text
    return dict(made.json())


def _chat(stack: Stack, key: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{stack.base_url}/chat/completions", json=body,
                      headers={"authorization": f"Bearer {key}"}, timeout=30)  # fmt: skip


def _query(stack: Stack, sql: str, *args: object) -> Any:
    async def run() -> Any:
        conn = await asyncpg.connect(stack.superuser_dsn)
        try:
            return await conn.fetchrow(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


def _usage_row(stack: Stack, request_id: str) -> Any:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        row = _query(stack, "SELECT * FROM metering.usage_events WHERE request_id = $1", request_id)
        if row is not None:
            return row
        time.sleep(0.2)
    pytest.fail(f"no usage row for {request_id}")


def _settled(stack: Stack, key_id: str) -> Any:
    """The key's budget row once nothing is reserved on it any more (leases given back, holds settled)."""
    row = None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        row = _query(stack, "SELECT spent_micros, reserved_micros FROM metering.budgets WHERE key_id = $1", key_id)
        held = _query(stack, "SELECT count(*) AS n FROM metering.reservations WHERE key_id = $1", key_id)
        if row is not None and row["reserved_micros"] == 0 and held["n"] == 0:
            return row
        time.sleep(0.2)
    pytest.fail(f"reservations of {key_id} were never settled: {row}")


def test_usd_limited_key_reaches_only_priced_models_until_an_admin_sets_a_default_price(stack: Stack) -> None:
    org = stack.new_org("Unpriced")
    provider = _provider(stack, org["token"], name="anything", adapter="openai_compatible",
                         base_url=f"{stack.mock}/v1", models=["*"])  # fmt: skip
    limited = _org_key(stack, org["token"], org["project"], usage_limit_usd=5)
    body = {"model": "no-such-price-model", "max_tokens": 16, "messages": [{"role": "user", "content": "hi there"}]}
    for model in ("no-such-price-model", "anything/no-such-price-model"):
        refused = _chat(stack, limited, {**body, "model": model})
        assert refused.status_code == 403, refused.text
        error = refused.json()["error"]
        assert error["code"] == "model_not_priced"
        assert "no price" in error["message"]
        assert "usage_limit_usd" in error["message"]
    # A key without a USD limit may still use it: recorded at $0, flagged unpriced.
    free = _chat(stack, org["key"], body)
    assert free.status_code == 200, free.text
    row = _usage_row(stack, free.headers["x-request-id"])
    assert (row["cost_micros"], row["priced"]) == (0, False)
    with stack.admin(org["token"]) as http:
        for bad in (b'{"input": -1, "output": 1}', b'{"input": 1, "output": 1e400}', b'{"input": "NaN", "output": 1}',
                    b'{"input": NaN, "output": 1}', b'{"input": 1, "output": 1000000}', b'{"output": 1}'):  # fmt: skip
            answer = http.put(f"/v1/providers/{provider['id']}/price", content=bad,
                              headers={"content-type": "application/json"})  # fmt: skip
            assert answer.status_code == 400, (bad, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
        assert http.put("/v1/providers/prv-missing/price", json={"input": 1, "output": 2}).status_code == 404
        priced = http.put(
            f"/v1/providers/{provider['id']}/price", json={"input": 1.5, "output": 4, "cached_input": 0.5}
        )
        assert priced.status_code == 200, priced.text
        assert priced.json()["default_price"] == {"input": 1.5, "output": 4.0, "cached_input": 0.5}
        listed = {p["id"]: p for p in http.get("/v1/providers/").json()["data"]}
        assert listed[provider["id"]]["default_price"]["output"] == 4.0
    answer = _chat(stack, limited, body)
    assert answer.status_code == 200, answer.text
    row = _usage_row(stack, answer.headers["x-request-id"])
    expected = math.ceil((row["prompt_tokens"] * 1_500_000 + row["completion_tokens"] * 4_000_000) / 1_000_000)
    assert row["priced"] is True
    assert row["cost_micros"] == expected > 0
    # Clearing the price closes the door again.
    with stack.admin(org["token"]) as http:
        assert http.delete(f"/v1/providers/{provider['id']}/price").status_code == 200
    assert _chat(stack, limited, body).status_code == 403


def test_n_answers_are_held_n_times(stack: Stack) -> None:
    # mock-gpt-4o: $10 per million output tokens. One answer of 1000 tokens holds ~10,050 µ$; three ~30,050.
    org = stack.new_org("NHold")
    _provider(stack, org["token"], name="mock", adapter="openai_compatible", base_url=f"{stack.mock}/v1",
              models=["mock-gpt-4o"])  # fmt: skip
    limited = _org_key(stack, org["token"], org["project"], usage_limit_usd=0.02)
    body = {"model": "mock-gpt-4o", "max_tokens": 1000, "messages": [{"role": "user", "content": "hi"}]}
    three = _chat(stack, limited, {**body, "n": 3})
    assert three.status_code == 429, three.text
    assert three.json()["error"]["code"] == "insufficient_quota"
    assert _chat(stack, limited, {**body, "n": 1}).status_code == 200


@pytest.mark.parametrize(
    ("adapter", "base", "field"),
    [("openai", "/v1", "max_completion_tokens"), ("openai_compatible", "/v1", "max_tokens"),
     ("anthropic", "/v1", "max_tokens"), ("gemini", "/v1beta", "maxOutputTokens")],
)  # fmt: skip
def test_the_default_max_tokens_held_is_sent_upstream(stack: Stack, adapter: str, base: str, field: str) -> None:
    org = stack.new_org(f"Default{adapter}")
    model = f"dflt-{adapter}-{time.time_ns() % 10**6}"
    provider_key = f"sk-{adapter}-" + secrets.token_urlsafe(16)
    stack.created_secrets.append(provider_key)
    _provider(stack, org["token"], name="up", adapter=adapter, base_url=f"{stack.mock}{base}", models=[model],
              api_key=provider_key, default_price={"input": 1, "output": 1})  # fmt: skip
    limited = _org_key(stack, org["token"], org["project"], usage_limit_usd=5)
    answer = _chat(stack, limited, {"model": model, "messages": [{"role": "user", "content": "no limit given"}]})
    assert answer.status_code == 200, answer.text
    seen = [r for r in httpx.get(f"{stack.mock}/_mock/requests").json() if model in str(r["path"]) + str(r["body"])]
    sent = seen[-1]["body"]
    value = sent["generationConfig"][field] if adapter == "gemini" else sent[field]
    assert value == DEFAULT_MAX_TOKENS


TOOLS = [{"type": "function", "function": {"name": f"tool_{i}", "description": "lorem ipsum dolor sit amet " * 60,
          "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}} for i in range(20)]  # fmt: skip
IMAGES = [{"type": "image_url", "image_url": {"url": f"https://images.example.test/{i}.png"}} for i in range(25)]


@pytest.mark.parametrize("extra", ["tools", "images"])
def test_tools_and_images_count_in_the_hold(stack: Stack, extra: str) -> None:
    # mock-gpt-4o at $2.50 per million input tokens: 20 tools of ~1,700 characters are ~17,000
    # estimated tokens (~43,000 µ$); 25 images at 1,600 tokens each ~100,000 µ$; the text alone ~50 µ$.
    org = stack.new_org(f"Parts{extra}")
    _provider(stack, org["token"], name="mock", adapter="openai_compatible", base_url=f"{stack.mock}/v1",
              models=["mock-gpt-4o"])  # fmt: skip
    limited = _org_key(stack, org["token"], org["project"], usage_limit_usd=0.03)
    body: dict[str, Any] = {"model": "mock-gpt-4o", "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]}
    assert _chat(stack, limited, body).status_code == 200
    if extra == "tools":
        body["tools"] = TOOLS
    else:
        body["messages"] = [{"role": "user", "content": [{"type": "text", "text": "hi"}, *IMAGES]}]
    refused = _chat(stack, limited, body)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "insufficient_quota"


def test_an_abandoned_stream_is_recorded_and_its_reservation_settled(stack: Stack) -> None:
    org = stack.new_org("Abandon")
    _provider(stack, org["token"], name="drip", adapter="openai_compatible", base_url=f"{stack.mock}/v1",
              models=["*"], default_price={"input": 2, "output": 8})  # fmt: skip
    limited = _org_key(stack, org["token"], org["project"], usage_limit_usd=5)
    words = " ".join(f"word{i}" for i in range(40))
    body = {"model": "drip-150-model", "stream": True, "max_tokens": 500,
            "messages": [{"role": "user", "content": words}]}  # fmt: skip
    received = ""
    with httpx.stream("POST", f"{stack.base_url}/chat/completions", json=body, timeout=30,
                      headers={"authorization": f"Bearer {limited}"}) as response:  # fmt: skip
        assert response.status_code == 200
        request_id = response.headers["x-request-id"]
        for line in response.iter_lines():
            received += line
            if received.count("word") >= 3:
                break  # the client goes away mid-stream
    row = _usage_row(stack, request_id)
    assert row["estimated"] is True
    assert row["prompt_tokens"] > 0
    assert 0 < row["completion_tokens"] < 500
    assert row["priced"] is True
    assert row["cost_micros"] > 0
    budget = _settled(stack, row["key_id"])
    assert budget["spent_micros"] == row["cost_micros"]


def test_a_stream_abandoned_before_its_first_byte_is_recorded_and_settled(stack: Stack) -> None:
    # The client gives up while the upstream is still thinking: by the time the gateway starts the
    # stream the client is gone, and the body's task is cancelled before it ever reads a frame.
    org = stack.new_org("AbandonEarly")
    _provider(stack, org["token"], name="slow", adapter="openai_compatible", base_url=f"{stack.mock}/v1",
              models=["*"], default_price={"input": 2, "output": 8})  # fmt: skip
    limited = _org_key(stack, org["token"], org["project"], usage_limit_usd=5)
    marker = f"early-{time.time_ns()}"
    body = {"model": "slow-1500-model", "stream": True, "max_tokens": 500,
            "messages": [{"role": "user", "content": f"{marker} one two three"}]}  # fmt: skip
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{stack.base_url}/chat/completions", json=body, timeout=httpx.Timeout(30, read=0.5),
                   headers={"authorization": f"Bearer {limited}"})  # fmt: skip
    time.sleep(2.5)  # the upstream answers, the gateway finds the client gone
    row = None
    deadline = time.monotonic() + 20
    while row is None and time.monotonic() < deadline:
        row = _query(stack, "SELECT * FROM metering.usage_events WHERE org_id = $1 AND model = 'slow-1500-model'",
                     org["org"])  # fmt: skip
        time.sleep(0.2)
    assert row is not None, "the abandoned stream left no usage row"
    assert row["estimated"] is True
    assert row["prompt_tokens"] > 0
    assert row["status"] == 499
    budget = _settled(stack, row["key_id"])
    assert budget["spent_micros"] == row["cost_micros"] > 0


def test_a_stream_whose_client_stops_reading_and_leaves_is_recorded_with_what_it_used(stack: Stack) -> None:
    # The client reads a little, stops reading (the gateway's writes back up, it waits in `send`)
    # and then closes the connection: the relay is suspended between frames when the stream ends.
    org = stack.new_org("AbandonStalled")
    _provider(stack, org["token"], name="long", adapter="openai_compatible", base_url=f"{stack.mock}/v1",
              models=["*"], default_price={"input": 2, "output": 8})  # fmt: skip
    limited = _org_key(stack, org["token"], org["project"], usage_limit_usd=50)
    model = "repeat-40000-chunk-16000-model"
    payload = msgspec.json.encode({"model": model, "stream": True,
                            "messages": [{"role": "user", "content": "x" * 180}]})  # fmt: skip
    host, port = stack.edge.removeprefix("http://").split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    head = (f"POST /v1/chat/completions HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {limited}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(payload)}\r\n\r\n")  # fmt: skip
    sock.sendall(head.encode() + payload)
    first = sock.recv(4096)
    assert first.startswith(b"HTTP/1.1 200"), first[:200]
    time.sleep(2.0)  # not reading: the gateway's writes back up
    sock.close()
    row = None
    deadline = time.monotonic() + 20
    while row is None and time.monotonic() < deadline:
        row = _query(stack, "SELECT * FROM metering.usage_events WHERE org_id = $1 AND model = $2", org["org"], model)
        time.sleep(0.2)
    assert row is not None, "the abandoned stream left no usage row"
    assert row["estimated"] is True, str(dict(row))[200:]
    assert row["prompt_tokens"] > 0
    assert row["completion_tokens"] > 0
    assert row["status"] == 499
    budget = _settled(stack, row["key_id"])
    assert budget["spent_micros"] == row["cost_micros"] > 0


def test_cli_sets_and_clears_a_provider_default_price(stack: Stack) -> None:
    import json
    import os
    import subprocess
    import sys

    with stack.admin() as http:
        made = http.post("/v1/providers/", json={"name": f"clip{time.time_ns() % 10**9}", "adapter": "openai_compatible",
                                                 "base_url": f"{stack.mock}/v1", "models": [f"clip-{time.time_ns()}"]})  # fmt: skip
        assert made.status_code == 201, made.text
        assert made.json()["default_price"] is None
    env = {**os.environ, "BASTION_ENV_FILE": str(stack.var / "demo.env")}
    env.pop("BASTION_ADMIN_URL", None)
    env.pop("BASTION_ADMIN_TOKEN", None)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "libs.cli.main", "providers", "price", made.json()["id"], *args],
                              env=env, capture_output=True, text=True, check=False)  # fmt: skip

    priced = cli("--input", "0.25", "--output", "1.25")
    assert priced.returncode == 0, priced.stdout + priced.stderr
    assert json.loads(priced.stdout)["default_price"] == {"input": 0.25, "output": 1.25, "cached_input": 0.25}
    assert cli("--input", "-3", "--output", "1").returncode != 0
    cleared = cli("--clear")
    assert cleared.returncode == 0
    assert json.loads(cleared.stdout)["default_price"] is None
