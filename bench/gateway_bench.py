"""The whole gateway against a direct call, in one run (`make bench-gateway`).

    .venv/bin/python bench/gateway_bench.py [--duration 10] [--connections 16] [--delay-ms 50]
                                            [--prompt-bytes 0,1024] [--scenarios ...] [--json out.json]

Starts its own fixed-answer upstream (`bench/fastmock.py`, one instant and one delayed by
``--delay-ms``) and a whole stack (`python -m libs.stack run` in a temp dir, its defaults as
`make run` uses them), then, through the management API: two OpenAI-compatible providers with a
vault-sealed provider key pointing at the mocks, and an API key with an rpm and a USD limit. The
built-in input and output guardrails, metering and audit are on as always. Each scenario runs wrk
(Debian's ``wrk``) first straight at the mock, then through the edge, with the same body:

* requests/s, p50/p99, and the gateway's added p50/p99 against the direct run;
* CPU cores used by the whole stack's process tree (NATS and PostgreSQL included; the mocks and
  wrk excluded), requests/s per core of it, and CPU milliseconds per request of each process;
* peak memory of the stack's process tree during the run (PSS: shared pages counted once).

wrk must not be the bottleneck: its own CPU is printed beside the stack's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import procs

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "wrk" / "post.lua"
INSTANT_MODEL, DELAYED_MODEL = "gpt-4o-mini", "gpt-4o"  # priced models: a USD limit may reach them


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Scenario:
    name: str
    stream: bool
    delayed: bool
    connections: int
    prompt_bytes: int = 0


@dataclass
class Result:
    requests: int
    seconds: float
    non2xx: int
    errors: int
    p50_ms: float
    p99_ms: float
    cpu: dict[str, float]  # label → CPU seconds over the run (stack processes)
    wrk_cpu_s: float
    peak_rss: int
    peak_by_process: dict[str, int]  # label → PSS at the peak
    peak_file: int  # of peak_rss, file-backed pages (shared libraries: depends on the machine)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def body(model: str, stream: bool, prompt_bytes: int) -> bytes:
    text = "Summarise the meeting notes in two sentences, please."
    if prompt_bytes > len(text):
        words = "the quarterly planning meeting covered hiring roadmap budget and office moves "
        text = (words * (prompt_bytes // len(words) + 1))[:prompt_bytes]
    payload: dict[str, object] = {"model": model, "messages": [{"role": "user", "content": text}], "max_tokens": 64}
    if stream:
        payload["stream"] = True
    return json.dumps(payload).encode()


def run_wrk(url: str, payload: bytes, auth: str, connections: int, duration: int, watch: list[int]) -> Result:
    with tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False) as f:
        f.write(payload)
    env = {**os.environ, "BENCH_BODY_FILE": f.name, "BENCH_AUTH": auth}
    labels = {pid: procs.label(pid) for pid in watch}
    before = procs.cpu_seconds(watch)
    with procs.Sampler(watch) as rss:
        wrk = subprocess.Popen(["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "-s",
                                str(LUA), url], env=env, stdout=subprocess.PIPE, text=True)  # fmt: skip
        out, _ = wrk.communicate()
        wrk_cpu = _child_cpu()
    after = procs.cpu_seconds(watch)
    os.unlink(f.name)
    line = next((x for x in out.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no result:\n{out}")
    data = json.loads(line[6:])
    cpu: dict[str, float] = defaultdict(float)
    for pid, end in after.items():
        cpu[labels[pid]] += end - before.get(pid, end)
    return Result(
        requests=data["requests"], seconds=data["duration_us"] / 1e6, non2xx=data["non2xx"],
        errors=data["socket_errors"], p50_ms=data["p50"] / 1000, p99_ms=data["p99"] / 1000, cpu=dict(cpu),
        wrk_cpu_s=wrk_cpu, peak_rss=rss.peak, peak_by_process=rss.by_label, peak_file=rss.peak_file,
    )  # fmt: skip


_last_children = [0.0]


def _child_cpu() -> float:
    """CPU seconds of the wrk run just waited for (children's times grow by it)."""
    t = os.times()
    total = t.children_user + t.children_system
    spent, _last_children[0] = total - _last_children[0], total
    return spent


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.var = Path(tempfile.mkdtemp(prefix="bastion-bench-"))
        self.procs: list[subprocess.Popen[bytes]] = []
        self.instant_port, self.delayed_port = free_port(), free_port()
        self.ports = {n: free_port() for n in ("EDGE", "API", "NATS", "PG", "MOCK", "METRICS")}

    def start(self) -> None:
        mock = [sys.executable, str(ROOT / "bench" / "fastmock.py")]
        log = (self.var / "fastmock.log").open("wb")
        for port, delay in ((self.instant_port, 0.0), (self.delayed_port, self.args.delay_ms)):
            self.procs.append(subprocess.Popen([*mock, "--port", str(port), "--delay-ms", str(delay)],
                                               stdout=log, stderr=subprocess.STDOUT))  # fmt: skip
        env = {**os.environ, **{f"BASTION_{k}_PORT": str(v) for k, v in self.ports.items()}}
        env.setdefault("BASTION_RATE_LIMIT", "100000")
        # The stack's operator allow-list for private upstreams must admit the bench mocks too.
        env.setdefault("BASTION_UPSTREAM_ALLOW", "127.0.0.1/32")
        out = (self.var / "stack.out").open("wb")
        self.stack = subprocess.Popen([sys.executable, "-m", "libs.stack", "run", "--var", str(self.var / "stack")],
                                      cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                      start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + 180
        while not (self.var / "stack" / "run" / "ready").exists():
            if self.stack.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("stack did not start:\n" + (self.var / "stack.out").read_text()[-3000:])
            time.sleep(0.2)
        demo = dict(line.split("=", 1) for line in (self.var / "stack" / "demo.env").read_text().splitlines())
        self.edge = f"http://127.0.0.1:{self.ports['EDGE']}"
        with httpx.Client(base_url=demo["BASTION_ADMIN_URL"], timeout=30,
                          headers={"authorization": f"Bearer {demo['BASTION_ADMIN_TOKEN']}"}) as api:  # fmt: skip
            for name, port, model in (("bench-instant", self.instant_port, INSTANT_MODEL),
                                      ("bench-delayed", self.delayed_port, DELAYED_MODEL)):  # fmt: skip
                made = api.post("/v1/providers/", json={
                    "name": name, "adapter": "openai_compatible", "base_url": f"http://127.0.0.1:{port}/v1",
                    "api_key": "sk-bench-provider-key-" + "x" * 24, "models": [model]})  # fmt: skip
                if made.status_code != 201:
                    raise SystemExit(f"could not add provider {name}: {made.status_code} {made.text}")
            key = api.post("/v1/keys/", json={"project_id": demo["BASTION_DEMO_PROJECT"], "name": "bench",
                                               "rate_limit_rpm": 1_000_000, "usage_limit_usd": 1_000_000})  # fmt: skip
            if key.status_code != 201:
                raise SystemExit(f"could not create the bench key: {key.status_code} {key.text}")
            self.key = key.json()["key"]
        time.sleep(0.5)

    @property
    def watch(self) -> list[int]:
        """The stack's processes now (PostgreSQL backends come and go with pool connections)."""
        return procs.tree(self.stack.pid, also=str(self.var / "stack"), exclude=("mockllm",))

    def check(self) -> None:
        """One request of each kind succeeds through the edge before anything is timed."""
        for model, stream in ((INSTANT_MODEL, False), (INSTANT_MODEL, True), (DELAYED_MODEL, False)):
            r = httpx.post(f"{self.edge}/v1/chat/completions", content=body(model, stream, 0), timeout=30,
                           headers={"authorization": f"Bearer {self.key}", "content-type": "application/json"})  # fmt: skip
            if r.status_code != 200:
                raise SystemExit(f"gateway answered {r.status_code}: {r.text[:300]}")

    def scenario(self, sc: Scenario) -> tuple[Result, Result]:
        model = DELAYED_MODEL if sc.delayed else INSTANT_MODEL
        port = self.delayed_port if sc.delayed else self.instant_port
        payload = body(model, sc.stream, sc.prompt_bytes)
        d = self.args.duration
        # warm-up (connections, caches, quota lease sizes), then the two timed runs
        run_wrk(f"{self.edge}/v1/chat/completions", payload, self.key, sc.connections, 2, [])
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        direct = run_wrk(url, payload, "", sc.connections, d, self.watch)
        gateway = run_wrk(f"{self.edge}/v1/chat/completions", payload, self.key, sc.connections, d, self.watch)
        return direct, gateway

    def stop(self) -> None:
        if getattr(self, "stack", None) is not None and self.stack.poll() is None:
            os.killpg(self.stack.pid, signal.SIGTERM)
            try:
                self.stack.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.stack.pid, signal.SIGKILL)
        for p in self.procs:
            p.terminate()
        if not self.args.keep:
            shutil.rmtree(self.var, ignore_errors=True)


def report(sc: Scenario, direct: Result, gw: Result) -> dict[str, object]:
    stack_cpu = sum(gw.cpu.values())
    cores = stack_cpu / gw.seconds
    idle_cpu = sum(direct.cpu.values()) / direct.seconds  # the stack's own background use, no traffic
    row = {
        "scenario": sc.name, "connections": sc.connections, "prompt_bytes": sc.prompt_bytes,
        "direct_rps": round(direct.rps, 1), "gateway_rps": round(gw.rps, 1),
        "throughput_vs_direct": round(gw.rps / direct.rps, 3) if direct.rps else 0.0,
        "direct_p50_ms": direct.p50_ms, "direct_p99_ms": direct.p99_ms,
        "gateway_p50_ms": gw.p50_ms, "gateway_p99_ms": gw.p99_ms,
        "added_p50_ms": round(gw.p50_ms - direct.p50_ms, 2), "added_p99_ms": round(gw.p99_ms - direct.p99_ms, 2),
        "stack_cores": round(cores, 2), "stack_idle_cores": round(idle_cpu, 2),
        "rps_per_core": round(gw.rps / cores, 1) if cores else 0.0,
        "cpu_ms_per_request": {k: round(v * 1000 / max(gw.requests, 1), 3) for k, v in sorted(gw.cpu.items())},
        "cpu_ms_per_request_total": round(stack_cpu * 1000 / max(gw.requests, 1), 3),
        "peak_rss_mb": round(gw.peak_rss / 2**20, 1), "peak_file_mb": round(gw.peak_file / 2**20, 1),
        "peak_mb_by_process": {k: round(v / 2**20, 1) for k, v in sorted(gw.peak_by_process.items())},
        "wrk_cores": round(gw.wrk_cpu_s / gw.seconds, 2),
        "gateway_errors": gw.non2xx + gw.errors, "direct_errors": direct.non2xx + direct.errors,
    }  # fmt: skip
    print(f"\n== {sc.name}: {sc.connections} connections, prompt {sc.prompt_bytes or 'short'}"
          f"{' bytes' if sc.prompt_bytes else ''} ==")  # fmt: skip
    print(f"  direct   {direct.rps:9.1f} req/s   p50 {direct.p50_ms:7.2f} ms   p99 {direct.p99_ms:7.2f} ms")
    print(f"  gateway  {gw.rps:9.1f} req/s   p50 {gw.p50_ms:7.2f} ms   p99 {gw.p99_ms:7.2f} ms"
          f"   (errors {row['gateway_errors']})")  # fmt: skip
    print(f"  added    p50 {row['added_p50_ms']:+.2f} ms   p99 {row['added_p99_ms']:+.2f} ms"
          f"   throughput {row['throughput_vs_direct']:.3f} of direct")  # fmt: skip
    print(f"  stack    {cores:.2f} cores ({idle_cpu:.2f} idle)   {row['rps_per_core']} req/s per core"
          f"   {row['cpu_ms_per_request_total']} ms CPU/request   peak memory (PSS) {row['peak_rss_mb']} MB"
          f" ({row['peak_file_mb']} file-backed)"
          f"   wrk {row['wrk_cores']} cores")  # fmt: skip
    per = row["cpu_ms_per_request"]
    assert isinstance(per, dict)
    print("  CPU ms/request: " + "  ".join(f"{k} {v:.3f}" for k, v in per.items()))
    mem = row["peak_mb_by_process"]
    assert isinstance(mem, dict)
    print("  peak PSS MB:    " + "  ".join(f"{k} {v:.1f}" for k, v in mem.items()))
    return row


def phases(bench: Bench, count: int) -> None:
    """``count`` sequential requests at the delayed upstream, direct then through the edge (one
    client, one kept-alive connection each): where the one client's added latency goes, from the
    edge's ``Server-Timing`` phases (medians) and the client's own clock."""
    payload = body(DELAYED_MODEL, False, 0)
    headers = {"authorization": f"Bearer {bench.key}", "content-type": "application/json"}

    def timed(url: str, with_key: bool) -> tuple[list[float], dict[str, list[float]]]:
        totals: list[float] = []
        parts: dict[str, list[float]] = defaultdict(list)
        with httpx.Client(timeout=30) as client:
            for i in range(count + 20):
                began = time.perf_counter()
                r = client.post(
                    url, content=payload, headers=headers if with_key else {"content-type": "application/json"}
                )
                elapsed = (time.perf_counter() - began) * 1000
                if r.status_code != 200:
                    raise SystemExit(f"phases: {url} answered {r.status_code}: {r.text[:200]}")
                if i < 20:  # warm-up
                    continue
                totals.append(elapsed)
                for item in r.headers.get("server-timing", "").split(","):
                    name, _, dur = item.strip().partition(";dur=")
                    if dur:
                        parts[name].append(float(dur))
        return totals, parts

    direct, _ = timed(f"http://127.0.0.1:{bench.delayed_port}/v1/chat/completions", False)
    gateway, parts = timed(f"{bench.edge}/v1/chat/completions", True)

    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2] if values else 0.0

    print(f"\n== phases: {count} sequential requests, upstream {bench.args.delay_ms:g} ms (medians) ==")
    print(
        f"  direct {median(direct):.2f} ms   gateway {median(gateway):.2f} ms   added {median(gateway) - median(direct):+.2f} ms"
    )

    def mean(values: list[float]) -> float:
        return sum(values) / len(values) if values else 0.0

    # medians of phases do not add up to the median of their sum (skewed); means do
    print("  edge phases, median: " + "  ".join(f"{k} {median(v):.2f}" for k, v in parts.items()))
    inside = sum(mean(v) for k, v in parts.items() if not k.endswith("-answer"))  # answers overlap the checks
    print("  edge phases, mean:   " + "  ".join(f"{k} {mean(v):.2f}" for k, v in parts.items())
          + f"   (sum {inside:.2f} of {mean(gateway):.2f} ms mean; direct {mean(direct):.2f} ms mean)")  # fmt: skip
    upstream = median(parts.get("upstream", []))
    print(f"  the upstream call through the edge's client: {upstream:.2f} ms against {median(direct):.2f} direct")


def concurrent_phases(bench: Bench, connections: int, per_connection: int = 40) -> None:
    """The edge's ``Server-Timing`` phases with ``connections`` asyncio clients at the delayed
    upstream. They do not fall into step the way wrk's connections do on a fixed upstream delay
    (docs/performance.md, "requests arrive in waves"), so this shows the per-hop cost at that
    concurrency without the waves."""
    import asyncio

    payload = body(DELAYED_MODEL, False, 0)
    headers = {"authorization": f"Bearer {bench.key}", "content-type": "application/json"}
    totals: list[float] = []
    parts: dict[str, list[float]] = defaultdict(list)

    async def run(count: int, record: bool) -> None:
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=connections)) as client:

            async def one_client() -> None:
                for _ in range(count):
                    began = time.perf_counter()
                    r = await client.post(f"{bench.edge}/v1/chat/completions", content=payload, headers=headers)
                    if r.status_code != 200:
                        raise SystemExit(f"phases: the edge answered {r.status_code}: {r.text[:200]}")
                    if record:
                        totals.append((time.perf_counter() - began) * 1000)
                        for item in r.headers.get("server-timing", "").split(","):
                            name, _, dur = item.strip().partition(";dur=")
                            if dur:
                                parts[name].append(float(dur))

            await asyncio.gather(*(one_client() for _ in range(connections)))

    asyncio.run(run(5, record=False))  # warm-up
    asyncio.run(run(per_connection, record=True))

    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2] if values else 0.0

    print(f"\n== phases: {connections} asyncio clients x {per_connection} requests, upstream "
          f"{bench.args.delay_ms:g} ms (medians, client clock includes httpx) ==")  # fmt: skip
    print(f"  through the edge {median(totals):.2f} ms")
    print("  edge phases: " + "  ".join(f"{k} {median(v):.2f}" for k, v in parts.items()))


def scenarios(args: argparse.Namespace) -> list[Scenario]:
    c = args.connections
    out = [
        Scenario("json-instant", stream=False, delayed=False, connections=c),
        Scenario(f"json-{args.delay_ms:g}ms", stream=False, delayed=True, connections=c),
        Scenario(f"sse-{args.delay_ms:g}ms", stream=True, delayed=True, connections=c),
        Scenario("sse-instant", stream=True, delayed=False, connections=c),
        Scenario(f"json-{args.delay_ms:g}ms-one-client", stream=False, delayed=True, connections=1),
    ]
    for size in args.prompt_bytes:
        out.append(Scenario(f"json-instant-{size // 1024}KB", stream=False, delayed=False, connections=c,
                            prompt_bytes=size))  # fmt: skip
    for conns in args.more_connections:
        out.append(Scenario(f"json-instant-c{conns}", stream=False, delayed=False, connections=conns))
    wanted = set(args.scenarios or [s.name for s in out])
    return [s for s in out if s.name in wanted]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per timed run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--delay-ms", type=float, default=50.0, help="the delayed upstream's answer time")
    parser.add_argument("--prompt-bytes", type=lambda v: [int(x) for x in v.split(",") if x], default=[],
                        help="extra JSON runs with prompts of these sizes, e.g. 1024,16384,131072")  # fmt: skip
    parser.add_argument("--more-connections", type=lambda v: [int(x) for x in v.split(",") if x], default=[],
                        help="extra JSON runs at these connection counts, e.g. 1,4,64")  # fmt: skip
    parser.add_argument("--scenarios", nargs="*", help="run only these (names as printed)")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs) afterwards")
    parser.add_argument("--phases", type=int, default=0, metavar="N",
                        help="also N sequential requests: the one client's added latency by edge phase")  # fmt: skip
    parser.add_argument("--phases-connections", type=int, default=0, metavar="N",
                        help="also the edge phases with N concurrent asyncio clients (no wrk waves)")  # fmt: skip
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk (make bench-gateway installs it when run as root)")
    bench = Bench(args)
    rows = []
    try:
        bench.start()
        bench.check()
        print(f"stack up in {bench.var}; watching {len(bench.watch)} processes; "
              f"{os.cpu_count()} cores; {args.duration} s per run")  # fmt: skip
        for sc in scenarios(args):
            rows.append(report(sc, *bench.scenario(sc)))
        if args.phases:
            phases(bench, args.phases)
        if args.phases_connections:
            concurrent_phases(bench, args.phases_connections)
    finally:
        bench.stop()
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
