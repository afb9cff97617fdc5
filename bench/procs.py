"""CPU time and memory of a set of processes, read from /proc (Linux)."""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")
_SERVICE = re.compile(r"-m (services\.\w+|libs\.\w+)")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of ``pid``; None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK


def _rss(pid: int) -> int:
    """Proportional set size (shared pages split among their users, so PostgreSQL's shared buffers
    count once over all its backends, not once per backend); RSS where smaps are unreadable."""
    return _pss(pid)[0]


def _pss(pid: int) -> tuple[int, int]:
    """(PSS, its file-backed part) in bytes. The file-backed part (the interpreter, extension
    modules) is split among *every* process on the machine mapping those files, so it shrinks
    when other Python processes run; the rest (anonymous, shared memory) does not."""
    try:
        total = file = 0
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                total = int(line.split()[1]) * 1024
            elif line.startswith("Pss_File:"):
                file = int(line.split()[1]) * 1024
        if total:
            return total, file
    except OSError:
        pass
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE, 0
    except OSError:
        return 0, 0


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def label(pid: int) -> str:
    """A short name: the service module, ``nats-server``, ``postgres`` or the program."""
    cmd = cmdline(pid)
    if match := _SERVICE.search(cmd):
        return match.group(1).split(".")[-1]
    if "nats-server" in cmd:
        return "nats-server"
    if "postgres" in cmd:
        return "postgres"
    return Path(cmd.split(" ", 1)[0]).name or str(pid)


def tree(root: int, also: str = "", exclude: tuple[str, ...] = ()) -> list[int]:
    """``root`` and all its descendants, plus every process whose command line contains ``also``
    (PostgreSQL daemonizes away from the tree), minus those whose command line contains any of
    ``exclude``."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None:
            parents[int(entry)] = stat[0]
    found = {root}
    if also:  # before the walk, so their children (PostgreSQL's backends) come too
        found |= {pid for pid in parents if also in cmdline(pid)}
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if parent in found and pid not in found:
                found.add(pid)
                changed = True
    return sorted(p for p in found if not any(x in cmdline(p) for x in exclude))


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    return {pid: stat[1] for pid in pids if (stat := _stat(pid)) is not None}


@dataclass
class Sampler:
    """Peak summed memory (PSS) of a process set, sampled every ``interval`` seconds in a thread."""

    pids: list[int]
    interval: float = 0.2
    peak: int = 0
    peak_file: int = 0
    """The file-backed part of :attr:`peak`."""
    by_label: dict[str, int] = field(default_factory=dict)
    """Each label's (summed over its processes) PSS at the moment the whole set peaked."""
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()

    def _run(self) -> None:
        labels = {pid: label(pid) for pid in self.pids}
        while not self._stop.is_set():
            now: dict[str, int] = {}
            file = 0
            for pid in self.pids:
                pss, pss_file = _pss(pid)
                now[labels[pid]] = now.get(labels[pid], 0) + pss
                file += pss_file
            if (total := sum(now.values())) > self.peak:
                self.peak, self.peak_file, self.by_label = total, file, now
            self._stop.wait(self.interval)
