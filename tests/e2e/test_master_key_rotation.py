"""Master-key rotation under load: every tenant data key rewrapped online, no request fails, and
the old key can be removed."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time

import httpx

from tests.stack import Stack


def test_master_key_rotation_under_load(stack: Stack) -> None:
    name = f"rot{time.time_ns() % 10**9}"
    api_key = "sk-rot-" + secrets.token_urlsafe(24)
    stack.created_secrets.append(api_key)
    with stack.admin() as http:
        added = http.post("/v1/providers/", json={"name": name, "adapter": "openai_compatible",
                                                  "base_url": f"{stack.mock}/v1", "api_key": api_key,
                                                  "models": [f"{name}-model"]})  # fmt: skip
        assert added.status_code == 201, added.text
    headers = {"authorization": f"Bearer {stack.api_key}"}
    body = {"model": f"{name}-model", "messages": [{"role": "user", "content": "during rotation"}]}
    codes: list[int] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                codes.append(client.post(f"{stack.base_url}/chat/completions", json=body, headers=headers).status_code)

    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()
    env = {**os.environ, **{f"BASTION_{k}_PORT": str(v) for k, v in stack.ports.items()}}
    rotated = subprocess.run([sys.executable, "-m", "libs.stack", "rotate-master-key", "--var", str(stack.var),
                              "--retire-old"], env=env, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join()
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    assert "rewrapped" in rotated.stdout
    assert len(codes) > 20
    assert set(codes) == {200}, sorted(set(codes))
    ring = (stack.var / "secrets" / "master.keys").read_text().split()
    assert len(ring) == 1
    assert not ring[0].startswith("mk1:")
    # A vault started now knows only the new key, and still opens the provider key.
    os.kill(stack.pid("vault"), signal.SIGKILL)
    deadline = time.monotonic() + 30
    status = 0
    while time.monotonic() < deadline:
        status = httpx.post(f"{stack.base_url}/chat/completions", json=body, headers=headers, timeout=10).status_code
        if status == 200:
            break
        time.sleep(0.3)
    assert status == 200
    seen = httpx.get(f"{stack.mock}/_mock/requests").json()
    assert seen[-1]["auth"] == f"Bearer {api_key}"
