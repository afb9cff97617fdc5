"""Run each service as its own OS process; restart crashed ones with backoff; stop all on exit.

Each process writes its stdout and stderr to its own log file (``O_APPEND``); the supervisor
keeps those files within their bounds by copy-and-truncate (``libs/svc/rotation.py``), checked
once a second, so every writer (an edge's several workers too) goes on at the new end.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from libs.svc.rotation import Rotation, copy_truncate, started_at

STOP_GRACE_S = 10.0
_MAX_BACKOFF_S = 5.0
_HEALTHY_AFTER_S = 30.0
ROTATE_CHECK_S = 1.0


@dataclass
class Proc:
    """One supervised process."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = 0.2
    next_start: float = 0.0
    infrastructure: bool = False
    """Stopped after everything else (the bus)."""
    listen: socket.socket | None = None
    """Started on demand: the supervisor holds this listening socket and spawns the process on
    its first connection, handing the socket over (the child gets it as an inherited fd and the
    connection waits in the backlog meanwhile). Until then the process costs no memory."""

    @property
    def on_demand(self) -> bool:
        """Waits for its first connection instead of starting with the stack."""
        return self.listen is not None

    def start(self) -> None:
        """Spawn (output appended to the log file)."""
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.argv,
                env=self.env,
                pass_fds=(self.listen.fileno(),) if self.listen is not None else (),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - only async-signal-safe work inside
            )
        self.started_at = time.monotonic()

    @property
    def pid(self) -> int | None:
        """The running child's pid."""
        return self.popen.pid if self.popen and self.popen.poll() is None else None


class Supervisor:
    """Keeps a set of processes alive until :meth:`stop`."""

    def __init__(
        self,
        procs: list[Proc],
        *,
        echo: bool = True,
        rotation: Rotation | None = None,
        other_logs: tuple[Path, ...] = (),
    ) -> None:
        self.procs = procs
        self._echo = echo
        self.stopping = False
        self._rotation = rotation
        self._logs = list(dict.fromkeys([p.log for p in procs] + list(other_logs)))  # others: e.g. postgres
        self._log_begun: dict[Path, float] = {}
        self._next_rotate_check = 0.0

    def start_all(self) -> None:
        """Start every process (the on-demand ones when their first connection comes)."""
        for proc in self.procs:
            if not proc.on_demand:
                proc.start()

    def tick(self) -> None:
        """Restart whatever exited (with exponential backoff, reset after a healthy run); rotate logs."""
        self.rotate_logs()
        now = time.monotonic()
        for proc in self.procs:
            if not self.stopping and proc.popen is None and proc.listen is not None and _readable(proc.listen):
                self._say(f"[supervisor] {proc.name}: first connection; starting it")
                proc.start()
                continue
            if self.stopping or proc.popen is None:
                continue
            code = proc.popen.poll()
            if code is None:
                if now - proc.started_at > _HEALTHY_AFTER_S:
                    proc.backoff = 0.2
                continue
            if proc.next_start == 0.0:
                proc.next_start = now + proc.backoff
                self._say(f"[supervisor] {proc.name} exited with {code}; restarting in {proc.backoff:.1f}s")
                proc.backoff = min(proc.backoff * 2, _MAX_BACKOFF_S)
            elif now >= proc.next_start:
                proc.next_start = 0.0
                proc.restarts += 1
                proc.start()

    def rotate_logs(self) -> None:
        """Rotate the log files that are due (at most once a second)."""
        now = time.time()
        if self._rotation is None or now < self._next_rotate_check:
            return
        self._next_rotate_check = now + ROTATE_CHECK_S
        for path in self._logs:
            begun = self._log_begun.setdefault(path, started_at(path, now))
            try:
                if copy_truncate(path, self._rotation, now, begun):
                    self._log_begun[path] = now
            except OSError as exc:  # a full disk must not stop supervision
                self._say(f"[supervisor] could not rotate {path.name}: {type(exc).__name__}")

    def run_forever(self, poll_s: float = 0.1, on_restart: Callable[[], None] | None = None) -> None:
        """Supervise until SIGINT/SIGTERM; ``on_restart`` runs after any process was restarted."""

        def on_signal(signum: int, _frame: object) -> None:
            self.stopping = True

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        while not self.stopping:
            before = sum(p.restarts for p in self.procs)
            self.tick()
            if on_restart is not None and sum(p.restarts for p in self.procs) != before:
                on_restart()
            time.sleep(poll_s)

    def stop(self) -> None:
        """Stop the services first (so they can drain over the bus), then the infrastructure."""
        self.stopping = True
        self._stop([p for p in self.procs if not p.infrastructure])
        self._stop([p for p in self.procs if p.infrastructure])
        for proc in self.procs:
            if proc.listen is not None:
                proc.listen.close()

    def _stop(self, procs: list[Proc]) -> None:
        """SIGTERM ``procs``, wait, then SIGKILL stragglers."""
        alive = [p for p in reversed(procs) if p.popen and p.popen.poll() is None]
        for proc in alive:
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for proc in alive:
            assert proc.popen is not None
            try:
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._say(f"[supervisor] {proc.name} did not stop in time; killing")
                _signal_group(proc, signal.SIGKILL)
                proc.popen.wait(timeout=5)

    def _say(self, text: str) -> None:
        if self._echo:
            print(text, file=sys.stderr, flush=True)


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket for an on-demand :class:`Proc`."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def _readable(sock: socket.socket) -> bool:
    """A connection is waiting (poll, no wait); a closed socket never is."""
    if sock.fileno() < 0:
        return False
    return bool(select.select([sock], [], [], 0)[0])


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the supervisor dies, even by SIGKILL (Linux), so nothing is orphaned."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _signal_group(proc: Proc, sig: int) -> None:
    assert proc.popen is not None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.popen.pid, sig)
