"""Provider keys: write-only through the management API, sealed by the vault, used upstream."""

from __future__ import annotations

import secrets
import time

import httpx
import openai

from tests.e2e.conftest import Stack


def test_provider_key_is_write_only_sealed_and_used_upstream(stack: Stack) -> None:
    name = f"up{time.time_ns() % 10**9}"
    first = "sk-upstream-" + secrets.token_urlsafe(24)
    second = "sk-upstream-" + secrets.token_urlsafe(24)
    stack.created_secrets.extend([first, second])
    with stack.admin() as http:
        added = http.post("/v1/providers/", json={
            "name": name, "adapter": "openai_compatible", "base_url": f"{stack.mock}/v1", "api_key": first,
            "models": [f"{name}-model"]})  # fmt: skip
        assert added.status_code == 201, added.text
        body = added.json()
        assert first not in added.text
        assert body["masked_key"] == f"{first[:4]}…{first[-4:]}"
        assert body["key_version"] == 1
        listing = http.get("/v1/providers/").text
        assert first not in listing
        assert name in listing

    client = openai.OpenAI(base_url=stack.base_url, api_key=stack.api_key, max_retries=0)
    httpx.post(f"{stack.mock}/_mock/reset")
    assert client.chat.completions.create(model=f"{name}-model", messages=[{"role": "user", "content": "x"}]).choices
    # provider/model routing: any model name the provider is given
    assert client.chat.completions.create(model=f"{name}/any-model-at-all",
                                          messages=[{"role": "user", "content": "y"}]).choices  # fmt: skip
    seen = httpx.get(f"{stack.mock}/_mock/requests").json()
    assert [r["auth"] for r in seen[-2:]] == [f"Bearer {first}"] * 2
    assert seen[-1]["body"]["model"] == "any-model-at-all"

    with stack.admin() as http:
        provider_id = body["id"]
        rotated = http.post(f"/v1/providers/{provider_id}/rotate", json={"api_key": second})
        assert rotated.status_code == 200
        assert rotated.json()["key_version"] == 2
        assert second not in rotated.text
    client.chat.completions.create(model=f"{name}-model", messages=[{"role": "user", "content": "z"}])
    assert httpx.get(f"{stack.mock}/_mock/requests").json()[-1]["auth"] == f"Bearer {second}"

    with stack.admin() as http:
        assert http.delete(f"/v1/providers/{provider_id}").status_code == 204
        assert http.post(f"/v1/providers/{provider_id}/rotate", json={"api_key": first}).status_code == 404
    time.sleep(0.1)
    gone = httpx.post(f"{stack.base_url}/chat/completions", headers={"authorization": f"Bearer {stack.api_key}"},
                      json={"model": f"{name}-model", "messages": [{"role": "user", "content": "x"}]})  # fmt: skip
    assert gone.status_code == 404


def test_provider_input_is_validated(stack: Stack) -> None:
    with stack.admin() as http:
        bad = http.post("/v1/providers/", json={"name": "Bad Name!", "adapter": "openai_compatible",
                                                "base_url": "ftp://x", "api_key": "k"})  # fmt: skip
        assert bad.status_code == 400
        assert bad.headers["content-type"].startswith("application/problem+json")


def test_cli_adds_a_provider_with_the_key_from_stdin(stack: Stack) -> None:
    import json
    import os
    import subprocess
    import sys

    name = f"cli{time.time_ns() % 10**9}"
    api_key = "sk-cli-" + secrets.token_urlsafe(24)
    stack.created_secrets.append(api_key)
    env = {**os.environ, "BASTION_ENV_FILE": str(stack.var / "demo.env")}
    env.pop("BASTION_ADMIN_URL", None)
    env.pop("BASTION_ADMIN_TOKEN", None)
    out = subprocess.run([sys.executable, "-m", "libs.cli.main", "providers", "add", name, "--adapter",
                          "openai_compatible", "--base-url", f"{stack.mock}/v1", "--models", f"{name}-m"],
                         input=api_key + "\n", env=env, capture_output=True, text=True, check=True)  # fmt: skip
    created = json.loads(out.stdout)
    assert api_key not in out.stdout
    assert created["masked_key"].startswith(api_key[:4])
    listed = subprocess.run([sys.executable, "-m", "libs.cli.main", "providers", "list"], env=env,
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert name in listed
    assert api_key not in listed
