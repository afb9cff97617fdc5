"""Provider keys: write-only through the management API, sealed by the vault, used upstream."""

from __future__ import annotations

import secrets
import time

import httpx
import openai

from tests.stack import Stack


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


def _add(stack: Stack, http: httpx.Client, adapter: str, base_url: str, api_key: str | None) -> dict[str, object]:
    body: dict[str, object] = {"name": f"t{adapter[:6]}{time.time_ns() % 10**9}".replace("_", "-"),
                               "adapter": adapter, "base_url": base_url}  # fmt: skip
    if api_key:
        body["api_key"] = api_key
        stack.created_secrets.append(api_key)
    added = http.post("/v1/providers/", json=body)
    assert added.status_code == 201, added.text
    return dict(added.json())


def test_provider_test_makes_one_cheap_call_from_the_vault(stack: Stack) -> None:
    key = "sk-probe-" + secrets.token_urlsafe(24)
    with stack.admin() as http:
        for adapter, base in (("openai_compatible", "/v1"), ("anthropic", "/v1"), ("gemini", "/v1beta")):
            provider = _add(stack, http, adapter, f"{stack.mock}{base}", key)
            tested = http.post(f"/v1/providers/{provider['id']}/test")
            assert tested.status_code == 200, tested.text
            body = tested.json()
            assert set(body) == {"ok", "status", "latency_ms", "detail"}
            assert (body["ok"], body["status"], body["detail"]) == (True, 200, "upstream answered 200"), adapter
            assert key not in tested.text

        # Gemini's mock refuses callers without a key: the test worked, the upstream said no.
        keyless = _add(stack, http, "gemini", f"{stack.mock}/v1beta", None)
        refused = http.post(f"/v1/providers/{keyless['id']}/test").json()
        assert (refused["ok"], refused["status"]) == (False, 403)
        assert refused["detail"] == "upstream answered 403 (key rejected) (no key stored)"

        dead_key = "sk-probe-dead-" + secrets.token_urlsafe(24)
        dead = _add(stack, http, "openai", "http://127.0.0.1:1/v1", dead_key)
        unreachable = http.post(f"/v1/providers/{dead['id']}/test")
        assert unreachable.status_code == 200
        result = unreachable.json()
        assert (result["ok"], result["status"]) == (False, 0)
        assert "unreachable" in result["detail"]
        assert dead_key not in unreachable.text

        missing = http.post("/v1/providers/prv-does-not-exist/test")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")

    deadline = time.monotonic() + 15
    with stack.admin() as http:
        while time.monotonic() < deadline:
            events = http.get("/v1/audit/", params={"action": "provider.tested", "limit": 200}).json()["data"]
            mine = {f"{e['resource_type']}:{e['resource_id']}": e for e in events}
            if f"provider:{dead['id']}" in mine and "provider:prv-does-not-exist" in mine:
                break
            time.sleep(0.2)
    assert mine[f"provider:{dead['id']}"]["success"] is True
    assert mine[f"provider:{dead['id']}"]["metadata"]["ok"] == "false"
    assert mine[f"provider:{keyless['id']}"]["metadata"]["upstream_status"] == "403"
    assert (
        mine["provider:prv-does-not-exist"]["success"],
        mine["provider:prv-does-not-exist"]["metadata"]["status"],
    ) == (
        False,
        404,
    )


def test_cli_tests_a_provider_by_name_or_id(stack: Stack) -> None:
    import json
    import os
    import subprocess
    import sys

    with stack.admin() as http:
        good = _add(stack, http, "openai_compatible", f"{stack.mock}/v1", "sk-cli-probe-" + secrets.token_urlsafe(24))
        bad = _add(stack, http, "openai", "http://127.0.0.1:1/v1", "sk-cli-probe-" + secrets.token_urlsafe(24))
    env = {**os.environ, "BASTION_ENV_FILE": str(stack.var / "demo.env")}
    env.pop("BASTION_ADMIN_URL", None)
    env.pop("BASTION_ADMIN_TOKEN", None)

    def cli(name_or_id: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "libs.cli.main", "providers", "test", name_or_id], env=env,
                              capture_output=True, text=True, check=False)  # fmt: skip

    by_name = cli(str(good["name"]))
    assert by_name.returncode == 0, by_name.stdout + by_name.stderr
    assert json.loads(by_name.stdout)["ok"] is True
    by_id = cli(str(bad["id"]))
    assert by_id.returncode == 1
    assert "unreachable" in json.loads(by_id.stdout)["detail"]
    assert cli("no-such-provider").returncode == 1
