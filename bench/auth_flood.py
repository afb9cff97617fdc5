"""Random well-formed keys against the whole stack while a real key works (issue 10, defect 6).

    .venv/bin/python bench/auth_flood.py [--rates 250,500,1000] [--sources 20] [--duration 10]
                                         [--legit-rate 20] [--drop-every 1.0] [--edge-workers 2]

Starts a whole stack (`python -m libs.stack run` in a temp dir, its own defaults: the global
miss backstop is not lowered as in the test suite), creates an API key and verifies it on every
auth replica, then for each asked rate: random keys (checksum-valid, never issued) spread over
``--sources`` loopback addresses (127.0.1.x, bound by the client: distinct client IPs to the
edge), and at the same time chat completions with the real key from 127.0.0.1, whose cached
principal every auth replica drops every ``--drop-every`` seconds (a key update), so it must be
looked up again in the middle of the flood. Prints, per rate: the achieved flood rate and its
answers (401 looked up and unknown, 429 throttled), the real key's success share and latencies.
The client (`tests/loadgen.py`, raw asyncio HTTP/1.1) shares the machine with the stack.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.helpers import free_port  # noqa: E402
from tests.loadgen import Conn, Tally, flood, paced, sources  # noqa: E402

CHAT = json.dumps({"model": "mock-gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}).encode()


class Stack:
    def __init__(self, edge_workers: int, auth_replicas: int) -> None:
        self.var = Path(tempfile.mkdtemp(prefix="bastion-flood-"))
        self.ports = {n: free_port() for n in ("EDGE", "API", "NATS", "PG", "MOCK")}
        env = {**os.environ, **{f"BASTION_{k}_PORT": str(v) for k, v in self.ports.items()}}
        env.update(BASTION_EDGE_WORKERS=str(edge_workers), BASTION_AUTH_REPLICAS=str(auth_replicas),
                   BASTION_RATE_LIMIT="100000")  # fmt: skip
        out = (self.var / "stack.out").open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "libs.stack", "run", "--var", str(self.var / "stack")],
                                     cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                     start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + 180
        while not (self.var / "stack" / "run" / "ready").exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("stack did not start:\n" + (self.var / "stack.out").read_text()[-3000:])
            time.sleep(0.2)
        demo = dict(line.split("=", 1) for line in (self.var / "stack" / "demo.env").read_text().splitlines())
        self.api = httpx.Client(base_url=demo["BASTION_ADMIN_URL"], timeout=30,
                                headers={"authorization": f"Bearer {demo['BASTION_ADMIN_TOKEN']}"})  # fmt: skip
        made = self.api.post("/v1/keys/", json={"project_id": demo["BASTION_DEMO_PROJECT"], "name": "flood"})
        if made.status_code != 201:
            raise SystemExit(f"could not create a key: {made.status_code} {made.text}")
        self.key_id, self.key = made.json()["id"], made.json()["key"]
        with httpx.Client(base_url=f"http://127.0.0.1:{self.ports['EDGE']}/v1", timeout=30,
                          headers={"authorization": f"Bearer {self.key}"}) as edge:  # fmt: skip
            for i in range(8 * auth_replicas):  # verified on every replica (queue-group spread)
                if i % 4 == 0:
                    self.drop_cached()
                if edge.get("/models").status_code != 200:
                    raise SystemExit("the real key does not work")

    def drop_cached(self) -> None:
        self.api.patch(f"/v1/keys/{self.key_id}", json={"name": f"flood {time.time_ns()}"}).raise_for_status()

    def stop(self) -> None:
        self.api.close()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


async def legit(stack: Stack, rate: float, seconds: float, drop_every: float) -> Tally:
    tally = Tally(started=time.monotonic())
    until = tally.started + seconds
    headers = {"authorization": f"Bearer {stack.key}", "content-type": "application/json"}

    async def dropper() -> None:
        while time.monotonic() + drop_every < until:
            await asyncio.sleep(drop_every)
            await asyncio.to_thread(stack.drop_cached)

    conns = [Conn("127.0.0.1", stack.ports["EDGE"], "127.0.0.1") for _ in range(4)]
    request = ("POST", "/v1/chat/completions", headers, CHAT)
    await asyncio.gather(dropper(), *(paced(c, rate / 4, until, tally, lambda: request) for c in conns))
    for c in conns:
        c.close()
    tally.ended = time.monotonic()
    return tally


async def one_rate(stack: Stack, args: argparse.Namespace, rate: float) -> None:
    flooded, real = await asyncio.gather(
        flood("127.0.0.1", stack.ports["EDGE"], sources(args.sources), rate, args.duration,
              conns_per_source=args.conns_per_source),
        legit(stack, args.legit_rate, args.duration, args.drop_every),
    )  # fmt: skip
    print(f"asked {rate:.0f}/s → flood {flooded.rate:.0f}/s {dict(sorted(flooded.statuses.items()))} "
          f"errors={flooded.errors} p50={flooded.p(0.5) * 1000:.0f}ms p99={flooded.p(0.99) * 1000:.0f}ms | "
          f"real key {real.rate:.1f}/s {dict(real.statuses)} errors={real.errors} ok={real.ok_share():.2%} "
          f"p50={real.p(0.5) * 1000:.0f}ms p99={real.p(0.99) * 1000:.0f}ms", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", default="250,500,1000")
    parser.add_argument("--sources", type=int, default=20)
    parser.add_argument("--conns-per-source", type=int, default=4)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--legit-rate", type=float, default=20.0)
    parser.add_argument("--drop-every", type=float, default=1.0)
    parser.add_argument("--edge-workers", type=int, default=2)
    parser.add_argument("--auth-replicas", type=int, default=2)
    args = parser.parse_args()
    stack = Stack(args.edge_workers, args.auth_replicas)
    try:
        print(f"{os.cpu_count()} cores; {args.edge_workers} edge workers, {args.auth_replicas} auth replicas; "
              f"{args.sources} flood sources, real key at {args.legit_rate}/s, its cache dropped every "
              f"{args.drop_every}s", flush=True)  # fmt: skip
        for rate in (float(r) for r in args.rates.split(",")):
            asyncio.run(one_rate(stack, args, rate))
            time.sleep(1.0)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
