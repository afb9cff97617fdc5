"""Added latency of the per-key limit check (requests per minute + USD reservation).

Run against a running stack (`make run`):
    .venv/bin/python bench/limit_check_bench.py [--n 2000] [--var var]

Sends `gw.metering.limit_check.v1` requests as the edge's bus user, for a key with both limits,
sequentially, and prints p50/p90/p99 of the round trip (what the edge waits for before the
upstream call), plus the same for a ping of metering (the bus floor).
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import nats

from libs.contracts import subjects
from libs.contracts.codec import Codec, encode
from libs.contracts.messages import LimitCheck, LimitReply, Ping


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * q))] * 1000


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--var", default="var")
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    args = parser.parse_args()
    var = Path(args.var)
    env = dict(line.split("=", 1) for line in (var / "demo.env").read_text().splitlines() if "=" in line)
    password = (var / "secrets" / "nats_edge.password").read_text().strip()
    nc = await nats.connect(args.nats, user="edge", password=password, inbox_prefix="_INBOX_edge")
    codec: Codec[LimitReply] = Codec(LimitReply)
    key_id = f"bench-key-{time.time_ns()}"
    series: dict[str, list[float]] = {"limit_check": [], "ping": []}
    for i in range(args.n + 100):
        check = LimitCheck(request_id=f"bench-{key_id}-{i}", org_id=env["BASTION_DEMO_ORG"], key_id=key_id,
                           model="mock-gpt-4o-mini", rpm_limit=10_000_000, usd_limit_micros=10**12,
                           prompt_chars=200, max_tokens=100)  # fmt: skip
        started = time.perf_counter()
        reply = codec.decode((await nc.request(subjects.METERING_LIMIT_CHECK, encode(check), timeout=2)).data)
        elapsed = time.perf_counter() - started
        assert type(reply).__name__ == "LimitOk", reply
        started2 = time.perf_counter()
        await nc.request(subjects.ping("metering"), encode(Ping(request_id="b")), timeout=2)
        if i >= 100:
            series["limit_check"].append(elapsed)
            series["ping"].append(time.perf_counter() - started2)
    await nc.close()
    for name, values in series.items():
        print(f"{name:12s} n={len(values)}  p50 {pct(values, .5):.3f} ms  p90 {pct(values, .9):.3f} ms  "
              f"p99 {pct(values, .99):.3f} ms")  # fmt: skip
    print("target: limit check <= 0.5 ms p50")


if __name__ == "__main__":
    asyncio.run(main())
