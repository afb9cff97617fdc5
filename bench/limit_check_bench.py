"""Added latency of the per-key limit check (requests per minute + USD reservation).

Run against a running stack (`make run`):
    .venv/bin/python bench/limit_check_bench.py [--n 2000] [--var var]

Two measurements:

1. ``bus``: `gw.metering.limit_check.v1` requests sent as the edge's bus user, for a key with both
   limits, sequentially — p50/p90/p99 of the check's own round trip, plus a metering ping (the
   bus floor).
2. ``added``: what limits add to a request through the edge. The edge admits a key's requests
   from a quota lease it holds (services/edge/quota.py) and goes to metering (gw.metering.lease.v1,
   alongside guardrails and the vault) only to renew it, so the added latency is the difference
   between two keys of the same project, one with an rpm + USD limit and one without, sent
   interleaved through the whole gateway (chat completion against the mock upstream). Reported:
   p50/p90/p99 of each and their differences (renewals show in the tail), for the whole request
   and for the edge's own ``checks`` phase (Server-Timing header), which excludes the upstream.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

import httpx

from libs.contracts import subjects
from libs.contracts.codec import Codec, encode
from libs.contracts.messages import LimitCheck, LimitReply, Ping
from libs.stack import operator
from libs.svc.bus import connect


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * q))] * 1000


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--var", default="var")
    parser.add_argument("--nats", default="tls://127.0.0.1:4222")
    parser.add_argument("--requests", type=int, default=1000, help="per key, for the added-latency run")
    args = parser.parse_args()
    var = Path(args.var)
    env = dict(line.split("=", 1) for line in (var / "demo.env").read_text().splitlines() if "=" in line)
    await bus_round_trip(args, var, env)
    added_latency(env, args.requests)


def _server_phase(header: str, name: str) -> float | None:
    for part in header.split(","):
        label, _, rest = part.strip().partition(";dur=")
        if label == name and rest:
            return float(rest) / 1000
    return None


def added_latency(env: dict[str, str], n: int) -> None:
    """Interleaved requests through the edge: a key with limits vs one without."""
    admin = httpx.Client(base_url=env["BASTION_ADMIN_URL"],
                         headers={"authorization": f"Bearer {env['BASTION_ADMIN_TOKEN']}"})  # fmt: skip
    project = admin.post("/v1/projects/", json={"name": f"bench-{time.time_ns()}"}).json()["id"]
    limited = admin.post("/v1/keys/", json={"project_id": project, "rate_limit_rpm": 1_000_000,
                                            "usage_limit_usd": 100_000}).json()["key"]  # fmt: skip
    plain = admin.post("/v1/keys/", json={"project_id": project}).json()["key"]
    admin.close()
    body = {"model": "mock-gpt-4o-mini", "max_tokens": 16, "messages": [{"role": "user", "content": "hello"}]}
    totals: dict[str, list[float]] = {"limited": [], "plain": []}
    checks: dict[str, list[float]] = {"limited": [], "plain": []}
    with httpx.Client(base_url=env["BASTION_BASE_URL"]) as http:
        for i in range(n + 50):
            for name, key in (
                (("limited", limited), ("plain", plain)) if i % 2 else (("plain", plain), ("limited", limited))
            ):
                started = time.perf_counter()
                response = http.post("/chat/completions", json=body, headers={"authorization": f"Bearer {key}"})
                elapsed = time.perf_counter() - started
                assert response.status_code == 200, response.text
                if i >= 50:
                    totals[name].append(elapsed)
                    phase = _server_phase(response.headers.get("server-timing", ""), "checks")
                    if phase is not None:
                        checks[name].append(phase)
    for label, series in (("request", totals), ("checks phase", checks)):
        parts = []
        for q in (0.5, 0.9, 0.99):
            with_limits, without = pct(series["limited"], q), pct(series["plain"], q)
            parts.append(f"p{round(q * 100)} {with_limits:.3f} vs {without:.3f} ms ({with_limits - without:+.3f})")
        print(f"{label:13s} n={len(series['plain'])}/key  with limits vs without: " + "  ".join(parts))
    print("target: added latency of the limit check <= 0.5 ms p50")


async def bus_round_trip(args: argparse.Namespace, var: Path, env: dict[str, str]) -> None:
    """The limit check's own bus round trip, and a ping for comparison."""
    nc = await connect(operator.with_certificate(args.nats, var, "edge"), "bench")  # as the edge
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


if __name__ == "__main__":
    asyncio.run(main())
