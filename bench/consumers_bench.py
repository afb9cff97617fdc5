"""The durable consumers alone: how fast metering and audit store a burst of events.

    PYTHONPATH=$PWD .venv/bin/python bench/consumers_bench.py [--events 2000] [--rate 0]

Starts a whole stack (``python -m libs.stack run`` in a temp dir: two metering replicas, audit,
NATS, PostgreSQL), makes an API key through the management API (audit events must name an actor
of their organisation), then publishes ``--events`` usage events and as many audit events straight
onto the ``USAGE`` and ``AUDIT`` streams with the operator credential — all at once, or at
``--rate`` events per second — and times how long until every one is stored. Prints events/s and
CPU milliseconds per event of each process (metering replicas summed); with ``--idle S``, first
the CPU each process burns per second over ``S`` seconds with no events at all.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import procs
from gateway_bench import free_port

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from libs.contracts import subjects  # noqa: E402
from libs.contracts.codec import encode  # noqa: E402
from libs.contracts.messages import AuditEvent, UsageEvent  # noqa: E402
from libs.stack import operator  # noqa: E402
from libs.svc.settings import BaseSettings  # noqa: E402


def start_stack(var: Path, ports: dict[str, int]) -> subprocess.Popen[bytes]:
    env = {**os.environ, **{f"BASTION_{k}_PORT": str(v) for k, v in ports.items()}}
    out = (var / "stack.out").open("wb")
    stack = subprocess.Popen([sys.executable, "-m", "libs.stack", "run", "--var", str(var / "stack")], cwd=ROOT,
                             env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 180
    while not (var / "stack" / "run" / "ready").exists():
        if stack.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("stack did not start:\n" + (var / "stack.out").read_text()[-3000:])
        time.sleep(0.2)
    return stack


def make_key(var: Path) -> tuple[str, str]:
    """(organisation, key id) of a fresh API key of the demo organisation."""
    demo = dict(line.split("=", 1) for line in (var / "stack" / "demo.env").read_text().splitlines())
    with httpx.Client(base_url=demo["BASTION_ADMIN_URL"], timeout=30,
                      headers={"authorization": f"Bearer {demo['BASTION_ADMIN_TOKEN']}"}) as api:  # fmt: skip
        made = api.post("/v1/keys/", json={"project_id": demo["BASTION_DEMO_PROJECT"], "name": "consumers-bench"})
        if made.status_code != 201:
            raise SystemExit(f"could not create a key: {made.status_code} {made.text}")
        return demo["BASTION_DEMO_ORG"], str(made.json()["id"])


def events(n: int, org: str, key: str, run: str) -> list[tuple[str, bytes]]:
    now = int(time.time() * 1000)
    out = []
    for i in range(n):
        usage = UsageEvent(request_id=f"{run}-{i}", ts=now, org_id=org, project_id="p", key_id=key,
                           model="gpt-4o-mini", provider="bench", status=200, prompt_tokens=12, completion_tokens=30)  # fmt: skip
        audit = AuditEvent(event_id=f"{run}-{i}", ts=now, org_id=org, actor_type="api_key", actor_id=key,
                           action="chat.completion", resource_type="model", resource_id="gpt-4o-mini", success=True,
                           request_id=f"{run}-{i}", metadata={"status": 200})  # fmt: skip
        out.append((subjects.usage_event(org), encode(usage)))
        out.append((subjects.audit_event("edge", "chat", "completion"), encode(audit)))
    return out


async def publish(bus: BaseSettings, messages: list[tuple[str, bytes]], rate: float) -> None:
    async with operator.connected(bus) as nc:
        js = nc.jetstream()
        chunk = 200 if rate <= 0 else max(2, int(rate / 50) * 2)
        started = time.monotonic()
        for start in range(0, len(messages), chunk):
            part = messages[start : start + chunk]
            await asyncio.gather(*(js.publish(subject, data, timeout=10) for subject, data in part))
            if rate > 0:  # events per second, a usage and an audit message each
                due = started + (start + len(part)) / 2 / rate
                await asyncio.sleep(max(0.0, due - time.monotonic()))


async def wait_stored(dsn: str, run: str, n: int, timeout: float = 600) -> float:
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + timeout
        pattern = f"{run}-%"
        while time.monotonic() < deadline:
            usage = await conn.fetchval("SELECT count(*) FROM metering.usage_events WHERE request_id LIKE $1", pattern)
            audit = await conn.fetchval("SELECT count(*) FROM audit.events WHERE event_id LIKE $1", pattern)
            if usage >= n and audit >= n:
                return time.monotonic()
            await asyncio.sleep(0.05)
        raise SystemExit(f"not all stored after {timeout} s: usage {usage}, audit {audit} of {n}")
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000, help="usage events, and as many audit events")
    parser.add_argument("--rate", type=float, default=0, help="events per second (0: all at once)")
    parser.add_argument("--idle", type=float, default=0, help="first measure this many seconds with no events")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs) afterwards")
    args = parser.parse_args()
    var = Path(tempfile.mkdtemp(prefix="bastion-consumers-bench-"))
    ports = {n: free_port() for n in ("EDGE", "API", "NATS", "PG", "MOCK")}
    stack = start_stack(var, ports)
    try:
        org, key = make_key(var)
        bus = operator.with_certificate(f"tls://127.0.0.1:{ports['NATS']}", var / "stack")
        dsn = stack_dsn(var, ports["PG"])
        warm = events(50, org, key, "warm")
        asyncio.run(publish(bus, warm, 0))
        asyncio.run(wait_stored(dsn, "warm", 50))
        run = f"run{time.time_ns()}"
        messages = events(args.events, org, key, run)
        watch = procs.tree(stack.pid, also=str(var / "stack"), exclude=("mockllm",))
        labels = {pid: procs.label(pid) for pid in watch}
        if args.idle:
            idle_cpu = cpu_during(watch, labels, lambda: time.sleep(args.idle))
            print(f"idle for {args.idle:g} s: CPU ms per second: "
                  + "  ".join(f"{k} {v * 1000 / args.idle:.2f}" for k, v in sorted(idle_cpu.items())))  # fmt: skip
        before = procs.cpu_seconds(watch)
        started = time.monotonic()
        asyncio.run(publish(bus, messages, args.rate))
        published = time.monotonic()
        done = asyncio.run(wait_stored(dsn, run, args.events))
        after = procs.cpu_seconds(watch)
        cpu: dict[str, float] = defaultdict(float)
        for pid, end in after.items():
            cpu[labels[pid]] += end - before.get(pid, end)
        wall = done - started
        print(f"{args.events} usage + {args.events} audit events"
              f"{f' at {args.rate:g}/s' if args.rate else ' at once'}: published in {published - started:.2f} s,"
              f" all stored after {wall:.2f} s ({args.events / wall:.0f} events/s of each kind)")  # fmt: skip
        print("  mean batch: " + batch_sizes(bus))
        keys = [k for k in ("metering", "audit", "postgres", "nats-server") if k in cpu]
        print("  CPU ms/event: " + "  ".join(f"{k} {cpu[k] * 1000 / args.events:.3f}" for k in keys)
              + f"  (stack total {sum(cpu.values()) * 1000 / args.events:.3f})")  # fmt: skip
    finally:
        os.killpg(stack.pid, signal.SIGTERM)
        try:
            stack.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(stack.pid, signal.SIGKILL)
        if not args.keep:
            shutil.rmtree(var, ignore_errors=True)


def cpu_during(watch: list[int], labels: dict[int, str], action: Callable[[], object]) -> dict[str, float]:
    """CPU seconds per process label spent while ``action`` runs."""
    before = procs.cpu_seconds(watch)
    action()
    cpu: dict[str, float] = defaultdict(float)
    for pid, end in procs.cpu_seconds(watch).items():
        cpu[labels[pid]] += end - before.get(pid, end)
    return cpu


def batch_sizes(bus: BaseSettings) -> str:
    """Mean events per stored batch, per service (one replica answers; none before batching)."""

    async def read() -> str:
        out = []
        async with operator.connected(bus) as nc:
            for service in ("metering", "audit"):
                text = await operator.service_metrics(nc, service)
                counts = {line.split("{")[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                          if line.startswith("bastion_consumer_batch")}  # fmt: skip
                batches = counts.get("bastion_consumer_batches_total", 0)
                events = counts.get("bastion_consumer_batched_events_total", 0)
                out.append(f"{service} {events / batches:.1f}" if batches else f"{service} -")
        return "  ".join(out)

    return asyncio.run(read())


def stack_dsn(var: Path, port: int) -> str:
    """The stack's superuser DSN (the launcher's cluster), to count stored rows."""
    from libs.stack import pg

    root = var / "stack" / "pg"
    password = (root / "superuser.password").read_text(encoding="utf-8").strip()
    return pg.Cluster(data=root / "data", port=port, password=password).dsn()


if __name__ == "__main__":
    main()
