"""Time to first token through the gateway vs. straight from the upstream, and the cost of
output scanning on a stream.

Run against a running stack (`make run` in another terminal):
    .venv/bin/python bench/ttft_bench.py [--n 200] [--var var]

Prints p50/p90 of: TTFT from the mock upstream directly, TTFT through the edge (auth, input
guardrails and vault before the upstream call, output scanning of the first released text), the
difference, and one output-guardrail check over the bus (what output scanning adds before the
first token leaves the gateway).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

import httpx

from libs.contracts import subjects
from libs.contracts.codec import Codec, encode
from libs.contracts.messages import GuardCheck, GuardReply
from libs.stack import operator
from libs.svc.bus import connect

BODY = {"model": "mock-gpt-4o-mini", "stream": True,
        "messages": [{"role": "user", "content": "Summarise the meeting notes in two sentences, please."}]}  # fmt: skip


def read_env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


async def ttft(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    async with client.stream("POST", url, json=BODY, headers=headers) as response:
        async for line in response.aiter_lines():
            if line.startswith("data:") and '"content":"' in line and '"content":""' not in line:
                return time.perf_counter() - started
    raise RuntimeError("no content in stream")


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * q))] * 1000


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--env", default=None, help="default: <var>/demo.env")
    parser.add_argument("--mock", default="http://127.0.0.1:9009/v1")
    parser.add_argument("--nats", default="tls://127.0.0.1:4222")
    parser.add_argument("--var", default="var", help="stack state dir (client certificate of the edge user)")
    args = parser.parse_args()
    env = read_env(Path(args.env or f"{args.var}/demo.env"))
    auth = {"authorization": f"Bearer {env['BASTION_API_KEY']}"}
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(20):  # warm caches and connections
            await ttft(client, f"{env['BASTION_BASE_URL']}/chat/completions", auth)
        direct = [await ttft(client, f"{args.mock}/chat/completions", {}) for _ in range(args.n)]
        edge = [await ttft(client, f"{env['BASTION_BASE_URL']}/chat/completions", auth) for _ in range(args.n)]
    nc = await connect(operator.with_certificate(args.nats, Path(args.var), "edge"), "bench")  # as the edge
    codec: Codec[GuardReply] = Codec(GuardReply)
    check = GuardCheck(request_id="bench", tenant_id=env["BASTION_DEMO_ORG"], project_id=env["BASTION_DEMO_PROJECT"],
                       key_id="bench", texts=["Mock reply: Summarise the meeting "], direction="output", dry_run=True)  # fmt: skip
    hops = []
    for _ in range(args.n):
        started = time.perf_counter()
        codec.decode((await nc.request(subjects.GUARD_CHECK, encode(check), timeout=2)).data)
        hops.append(time.perf_counter() - started)
    await nc.close()
    print(f"requests per series: {args.n}")
    print(f"TTFT upstream direct      p50 {pct(direct, 0.5):6.2f} ms   p90 {pct(direct, 0.9):6.2f} ms")
    print(f"TTFT through the gateway  p50 {pct(edge, 0.5):6.2f} ms   p90 {pct(edge, 0.9):6.2f} ms")
    print(f"gateway adds (p50)            {(statistics.median(edge) - statistics.median(direct)) * 1000:6.2f} ms")
    print(f"output scan check (bus hop) p50 {pct(hops, 0.5):6.2f} ms   p90 {pct(hops, 0.9):6.2f} ms")


if __name__ == "__main__":
    asyncio.run(main())
