"""The edge serves HTTPS when given a certificate and key: a second edge process (two uvicorn
workers, each building its own context) on the session stack's bus, with a certificate from the
stack's CA. TLS 1.2 and 1.3 serve; TLS 1.1 and plaintext HTTP get nothing."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from libs.stack import pki
from tests.helpers import free_port
from tests.stack import Stack

CHAT = {"model": "mock-gpt-4o-mini", "messages": [{"role": "user", "content": "Hello over TLS"}]}


@pytest.fixture(scope="module")
def https_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("https-edge")


@pytest.fixture(scope="module")
def https_edge(stack: Stack, https_dir: Path) -> Iterator[str]:
    out = https_dir
    served = pki.Pair(out / "edge-https.crt", out / "edge-https.key")
    pki.issue(stack.var, served, "edge-https", hosts=["127.0.0.1", "localhost"])
    port = free_port()
    env = {**os.environ, **pki.env(stack.var, "edge"), "BASTION_NATS_URL": stack.bus_url, "BASTION_NATS_USER": "edge",
           "BASTION_EDGE_HOST": "127.0.0.1", "BASTION_EDGE_PORT": str(port), "BASTION_EDGE_WORKERS": "2",
           "BASTION_UPSTREAM_ALLOW": "127.0.0.1/32", "BASTION_HTTPS_CERT_FILE": str(served.cert),
           "BASTION_HTTPS_KEY_FILE": str(served.key), "PYTHONUNBUFFERED": "1"}  # fmt: skip
    log = (out / "edge.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "services.edge"], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)  # fmt: skip
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", verify=_trust(stack), timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("HTTPS edge did not start:\n" + (out / "edge.log").read_text(errors="replace")[-3000:])
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _trust(stack: Stack, version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki.ca_cert(stack.var)))
    if version is not None:
        ctx.minimum_version = ctx.maximum_version = version
    return ctx


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_https_serves_the_edge(stack: Stack, https_edge: str, version: ssl.TLSVersion) -> None:
    for _ in range(3):  # two workers: each must have its own context
        with httpx.Client(verify=_trust(stack, version), timeout=15) as http:
            response = http.post(f"{https_edge}/v1/chat/completions", json=CHAT,
                                 headers={"authorization": f"Bearer {stack.api_key}"})  # fmt: skip
        assert response.status_code == 200, response.text
        assert response.json()["choices"][0]["message"]["content"]


def test_the_negotiated_session_is_strong(stack: Stack, https_edge: str) -> None:
    port = int(https_edge.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        ctx = _trust(stack, ssl.TLSVersion.TLSv1_2)
        ctx.set_ciphers("ALL:@SECLEVEL=0")  # the client offers anything; the server picks
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as conn:
            name, version, _ = conn.cipher()
    assert version == "TLSv1.2"
    assert name.startswith("ECDHE-"), name
    assert "GCM" in name or "CHACHA20" in name, name


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1:DeprecationWarning")
def test_tls_1_1_is_refused(https_edge: str) -> None:
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname, old.verify_mode = False, ssl.CERT_NONE
    old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_1
    old.set_ciphers("ALL:@SECLEVEL=0")
    port = int(https_edge.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, pytest.raises(ssl.SSLError):
        old.wrap_socket(raw, server_hostname="127.0.0.1")


def test_plaintext_http_gets_no_answer(https_edge: str) -> None:
    with pytest.raises(httpx.TransportError):
        httpx.get(https_edge.replace("https://", "http://") + "/readyz", timeout=5)


def test_the_key_is_in_no_log(https_edge: str, https_dir: Path) -> None:
    out = https_dir
    key_line = (out / "edge-https.key").read_text().splitlines()[1]
    assert key_line not in (out / "edge.log").read_text(errors="replace")
