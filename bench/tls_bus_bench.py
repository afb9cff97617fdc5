"""What TLS costs per bus round trip: the same request/reply over a plaintext (password) and a
mutual-TLS nats-server, alternating, CPU per request of the Python side (caller and responder in
one uvloop process, as the services run) and of nats-server.

    PYTHONPATH=$PWD .venv/bin/python bench/tls_bus_bench.py [--requests 20000] [--concurrency 16]
                                                            [--rounds 3] [--payload 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from libs.stack import nats_users, natsd, pki
from libs.stack.operator import with_certificate
from libs.svc.bus import connect, settled
from libs.svc.settings import BaseSettings
from tests.helpers import free_port

SUBJECT = "gw.vault.resolve.v1"  # the edge may publish it, the vault subscribe to it


def _ticks(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _run(caller: BaseSettings, responder: BaseSettings, n: int, concurrency: int, payload: bytes) -> None:
    vault = await connect(responder, "bench-vault")
    edge = await connect(caller, "bench-edge")

    async def answer(msg: object) -> None:
        await msg.respond(payload)  # type: ignore[attr-defined]

    await vault.subscribe(SUBJECT, cb=answer)
    await settled(vault)
    left = n

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await edge.request(SUBJECT, payload, timeout=5)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    await edge.close()
    await vault.close()


def measure(kind: str, base: Path, n: int, concurrency: int, payload: bytes) -> tuple[float, float, float]:
    """(Python µs CPU per request, nats-server µs per request, requests/s)."""
    port = free_port()
    url = ("tls" if kind == "tls" else "nats") + f"://127.0.0.1:{port}"
    directory = base / f"{kind}-{port}"
    if kind == "tls":
        server = pki.pair(base, pki.SERVER)
        conf = natsd.write_config(directory, "127.0.0.1", port, nats_users.tls_authorization_block(),
                                  tls=natsd.ServerTls(server.cert, server.key, pki.ca_cert(base)))  # fmt: skip
        caller, responder = with_certificate(url, base, "edge"), with_certificate(url, base, "vault")
    else:
        creds = nats_users.passwords(base / "secrets")
        conf = natsd.write_config(directory, "127.0.0.1", port, nats_users.authorization_block(creds))
        caller = BaseSettings(nats_url=url, nats_user="edge", nats_password=creds["edge"])
        responder = BaseSettings(nats_url=url, nats_user="vault", nats_password=creds["vault"])
    proc = natsd.start(conf, directory / "nats.log")
    try:
        natsd.wait_port("127.0.0.1", port)
        uvloop.run(_run(caller, responder, 500, concurrency, payload))  # warm-up
        server_before, cpu_before, wall = _ticks(proc.pid), time.process_time(), time.perf_counter()
        uvloop.run(_run(caller, responder, n, concurrency, payload))
        wall = time.perf_counter() - wall
        python_us = (time.process_time() - cpu_before) / n * 1e6
        server_us = (_ticks(proc.pid) - server_before) / n * 1e6
        return python_us, server_us, n / wall
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--payload", type=int, default=300, help="bytes each way")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bastion-tls-bench-"))
    pki.ensure(base, nats_users.PERMISSIONS, ["127.0.0.1"])
    payload = b"x" * args.payload
    results: dict[str, list[tuple[float, float, float]]] = {"plain": [], "tls": []}
    for r in range(args.rounds):
        for kind in ("plain", "tls"):
            got = measure(kind, base, args.requests, args.concurrency, payload)
            results[kind].append(got)
            print(f"round {r + 1} {kind:5s}  python {got[0]:6.1f} µs/req  nats-server {got[1]:6.1f} µs/req  "
                  f"{got[2]:8.0f} req/s", flush=True)  # fmt: skip
    for kind, rows in results.items():
        py, srv, rate = (statistics.median(x) for x in zip(*rows, strict=True))
        print(f"median {kind:5s}  python {py:6.1f} µs/req  nats-server {srv:6.1f} µs/req  {rate:8.0f} req/s")


if __name__ == "__main__":
    main()
