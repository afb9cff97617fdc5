"""Certificate rotation on the bus without downtime: ``python -m libs.stack rotate-bus-certs``
issues every certificate again and makes nats-server reload its own; requests flowing between a
responder and a caller connected before never fail and nobody is disconnected, the server
presents its new certificate to new connections at once, and a process started afterwards
connects with its new one."""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
from pathlib import Path

from nats.aio.msg import Msg

from libs.contracts import subjects
from libs.stack import nats_users, natsd, pki
from libs.svc import tls
from libs.svc.bus import connect, settled
from libs.svc.settings import BaseSettings, load
from tests.helpers import free_port

HOSTS = ["127.0.0.1", "localhost"]


def _settings(var: Path, user: str, url: str) -> BaseSettings:
    return load(BaseSettings, {"BASTION_NATS_URL": url, "BASTION_NATS_USER": user, **pki.env(var, user)})


async def _server_certificate(var: Path, port: int) -> bytes:
    """The certificate a new connection is shown (DER), with the edge's current certificate."""
    leaf = pki.pair(var, "edge")
    ctx = tls.client_context(pki.ca_cert(var).read_text(), leaf.cert.read_text(), leaf.key.read_text())
    _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="127.0.0.1")
    try:
        sslobj = writer.get_extra_info("ssl_object")
        assert isinstance(sslobj, ssl.SSLObject)
        der = sslobj.getpeercert(binary_form=True)
        assert der is not None
        return der
    finally:
        writer.close()


def _der(path: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(path.read_text())


async def test_rotating_the_bus_certificates_drops_no_request(tmp_path: Path) -> None:
    var = tmp_path / "var"
    pki.ensure(var, nats_users.PERMISSIONS, HOSTS)
    port = free_port()
    server = pki.pair(var, pki.SERVER)
    conf = natsd.write_config(var / "nats", "127.0.0.1", port, nats_users.tls_authorization_block(),
                              tls=natsd.ServerTls(server.cert, server.key, pki.ca_cert(var)))  # fmt: skip
    proc = natsd.start(conf, tmp_path / "nats.log")
    (var / "run").mkdir()
    (var / "run" / "nats.pid").write_text(str(proc.pid))
    url = f"tls://127.0.0.1:{port}"
    try:
        natsd.wait_port("127.0.0.1", port)
        old_server_der = _der(server.cert)
        assert await _server_certificate(var, port) == old_server_der
        vault = await connect(_settings(var, "vault", url), "vault")
        edge = await connect(_settings(var, "edge", url), "edge")

        async def answer(msg: Msg) -> None:
            await msg.respond(b"ok:" + msg.data)

        await vault.subscribe(subjects.VAULT_RESOLVE, cb=answer)
        await settled(vault)
        answered, failed = 0, []
        stop = asyncio.Event()

        async def traffic() -> None:
            nonlocal answered
            while not stop.is_set():
                try:
                    reply = await edge.request(subjects.VAULT_RESOLVE, b"%d" % answered, timeout=1)
                    assert reply.data == b"ok:%d" % answered
                    answered += 1
                except Exception as exc:
                    failed.append(type(exc).__name__)
                await asyncio.sleep(0.005)

        running = asyncio.create_task(traffic())
        await asyncio.sleep(0.3)
        before = answered
        done = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "libs.stack", "rotate-bus-certs",
                                       "--var", str(var)], capture_output=True, text=True, env={**os.environ,
                                       "BASTION_NATS_PORT": str(port)})  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "nats-server reloaded" in done.stdout
        assert _der(server.cert) != old_server_der
        for _ in range(100):  # the reload is asynchronous
            if await _server_certificate(var, port) == _der(server.cert):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("nats-server still presents its old certificate")
        fresh = await connect(_settings(var, "edge", url), "edge-restarted")  # a process started now: new files
        assert (await fresh.request(subjects.VAULT_RESOLVE, b"new", timeout=1)).data == b"ok:new"
        await fresh.close()
        await asyncio.sleep(0.3)
        stop.set()
        await running
        assert failed == []
        assert [nc.stats["reconnects"] for nc in (vault, edge)] == [0, 0]  # nobody was dropped
        assert answered > before + 10, (before, answered)
        await edge.close()
        await vault.close()
    finally:
        proc.terminate()
        proc.wait(timeout=5)
    assert "Reloaded server configuration" in (tmp_path / "nats.log").read_text()
