"""A long run: trace and log files stay within their configured bounds (issue 16).

Real processes under the real supervisor, shaped like the local stack's edge with several
workers: one supervised process and two children of it share one log file (their inherited
stdout, rotated by the supervisor) and one trace file (each writing through its own
``RotatingFile`` via a ``SpanRecorder``). Sizes are sampled all along; the run lasts
``BASTION_BOUNDS_TEST_S`` seconds (default 8).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from libs.stack.supervisor import ROTATE_CHECK_S, Proc, Supervisor
from libs.svc.rotation import Rotation, backup

WORKER = r"""
import os, subprocess, sys, time
from libs.svc.rotation import Rotation, RotatingFile
from libs.telemetry.spans import SpanRecorder, TraceFile

trace_path, max_bytes, backups, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
if len(sys.argv) == 5:  # the supervised process: start two "workers" sharing its stdout
    kids = [subprocess.Popen([sys.executable, "-c", os.environ["WORKER_CODE"], *sys.argv[1:], "child"])
            for _ in range(2)]
sink = TraceFile(RotatingFile(trace_path, Rotation(max_bytes, backups, 86400.0)), flush_s=0.05)
spans = SpanRecorder("bastion-edge", sink)
pid = os.getpid()
i = 0
while True:
    t = time.monotonic()
    for _ in range(20):
        span = spans.server_span("gw.t.v1", None)
        span.end("internal" if i % 7 == 0 else None)
        print('{"level": "INFO", "pid": %d, "i": %d, "msg": "%s"}' % (pid, i, "x" * 80), flush=True)
        i += 1
    time.sleep(max(0.0, 20 / rate - (time.monotonic() - t)))
"""


def sizes(path: Path) -> dict[str, int]:
    out = {}
    for p in path.parent.glob(path.name + "*"):
        if not p.name.endswith(".lock"):
            out[p.name] = p.stat().st_size
    return out


def test_trace_and_log_files_stay_within_bounds_over_a_long_run(tmp_path: Path) -> None:
    duration = float(os.environ.get("BASTION_BOUNDS_TEST_S", "8"))
    rate = 1500.0  # lines per second per process (each: one span line and one log line)
    trace_path, log_path = tmp_path / "traces" / "edge.jsonl", tmp_path / "logs" / "edge.log"
    log_path.parent.mkdir()
    traces = Rotation(max_bytes=200_000, backups=2, max_age_s=86_400)
    logs = Rotation(max_bytes=150_000, backups=3, max_age_s=86_400)
    env = {**os.environ, "WORKER_CODE": WORKER, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    argv = [sys.executable, "-c", WORKER, str(trace_path), str(traces.max_bytes), str(traces.backups), str(rate)]
    supervisor = Supervisor([Proc("edge", argv, env, log_path)], echo=False, rotation=logs)
    supervisor.start_all()
    worst_trace: dict[str, int] = {}
    worst_log: dict[str, int] = {}
    worst_trace_total = worst_log_total = 0
    try:
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            supervisor.tick()  # as run_forever does (it also rotates the logs, once a second)
            for worst, path in ((worst_trace, trace_path), (worst_log, log_path)):
                for name, size in sizes(path).items():
                    worst[name] = max(worst.get(name, 0), size)
            worst_trace_total = max(worst_trace_total, sum(sizes(trace_path).values()))
            worst_log_total = max(worst_log_total, sum(sizes(log_path).values()))
            time.sleep(0.05)
        assert supervisor.procs[0].pid is not None, "the writers died: " + log_path.read_text()[-500:]
    finally:
        supervisor.stop()
    writers = 3
    written_per_s = writers * rate * 230  # bytes/s into each file, roughly (both lines are ~100–230 B)
    # traces: each writer rotates the shared file itself; a file may pass the bound by one flush
    # (50 ms of lines) per writer
    trace_slack = writers * rate * 0.05 * 260 + 20_000
    assert set(worst_trace) <= {"edge.jsonl", "edge.jsonl.1", "edge.jsonl.2"}
    assert backup(trace_path, 2).exists(), "traces never rotated twice: the test did not test"
    assert max(worst_trace.values()) <= traces.max_bytes + trace_slack
    assert worst_trace_total <= (traces.backups + 1) * (traces.max_bytes + trace_slack)
    # logs: copied and truncated by the supervisor once a second, so a file may pass the bound by
    # what is written in a second
    log_slack = written_per_s * (ROTATE_CHECK_S + 0.5)
    assert set(worst_log) <= {"edge.log", "edge.log.1", "edge.log.2", "edge.log.3"}
    assert backup(log_path, 3).exists(), "logs never rotated three times: the test did not test"
    assert max(worst_log.values()) <= logs.max_bytes + log_slack
    assert worst_log_total <= (logs.backups + 1) * (logs.max_bytes + log_slack)
    # what is kept is whole lines
    for path in [trace_path, *(backup(trace_path, i) for i in (1, 2))]:
        for line in path.read_bytes().splitlines():
            assert json.loads(line)["service"] == "bastion-edge"
    for path in [log_path, *(backup(log_path, i) for i in (1, 2, 3))]:
        assert b"\0" not in path.read_bytes()
