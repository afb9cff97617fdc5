"""CPU per metrics update, and what one JSON chat request's instrumentation costs the edge (issue 14).

    PYTHONPATH=$PWD .venv/bin/python bench/metrics_bench.py [--n 200000] [--rounds 3]

Per operation (process CPU time / n, median of the rounds): ``Counter.inc`` and
``Histogram.observe`` with keyword labels, and the hot-path forms (``child(...)[0] += 1``,
``metrics.observe``). Per request: what the edge adds to one JSON chat completion — the request
count and latency (``measures.answered``), five phases (``measures.phase``) and five bus requests
(auth, guardrails in and out, vault, metering: a count and a latency each). And one scrape's
:func:`render` of the edge's registry with those series in it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from libs.svc import metrics
from services.edge import measures

ROUTE = "chat.completion"
PHASES = ("auth", "parse", "checks", "upstream", "output_guard")
TARGETS = ("auth", "guardrails", "vault", "guardrails", "metering")


def one_request() -> None:
    for target in TARGETS:  # as libs/svc/bus.py does per request
        metrics.BUS_REQUESTS.child(target, "ok")[0] += 1
        metrics.observe(metrics.BUS_SECONDS.buckets, metrics.BUS_SECONDS.child(target), 0.0004)
    for name in PHASES:
        measures.phase(ROUTE, name, 0.0003)
    measures.answered(ROUTE, 200, 0.004)


def per_call(fn: Callable[[], None], n: int) -> float:
    began = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - began) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    hist, count = metrics.BUS_SECONDS, metrics.BUS_REQUESTS
    cell, hcell = count.child("bench", "ok"), hist.child("bench")
    cases: dict[str, Callable[[], None]] = {
        "Counter.inc(**labels)": lambda: count.inc(target="bench", outcome="ok"),
        "child(...)[0] += 1": lambda: count.child("bench", "ok").__setitem__(0, cell[0] + 1),
        "Histogram.observe(**labels)": lambda: hist.observe(0.001, target="bench"),
        "metrics.observe(buckets, child, v)": lambda: metrics.observe(hist.buckets, hist.child("bench"), 0.001),
        "metrics.observe (cell kept)": lambda: metrics.observe(hist.buckets, hcell, 0.001),
        "one JSON chat request (edge)": one_request,
    }
    results: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, fn in cases.items():
            results[name].append(per_call(fn, args.n if name != "one JSON chat request (edge)" else args.n // 10))
    for name, values in results.items():
        print(f"  {name:38s} {statistics.median(values):6.2f} µs   (rounds: {', '.join(f'{v:.2f}' for v in values)})")
    began = time.process_time()
    text = metrics.render(service="edge", instance="bench")
    print(f"  render (one scrape, {text.count(chr(10))} lines)   {(time.process_time() - began) * 1e3:6.2f} ms")


if __name__ == "__main__":
    main()
