"""A cheap HTTP/1.1 load generator for the flood tests and ``bench/auth_flood.py``.

Raw asyncio streams with keep-alive, so the client spends far less CPU per request than httpx
would (the machine is shared with the stack under test). Each connection binds a chosen local
address: Linux routes all of 127.0.0.0/8 to loopback, so connections from 127.0.1.1, 127.0.1.2, …
are distinct client addresses to the edge without any proxy header. Only ``Content-Length``
answers are read (what the edge sends for JSON and errors).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from libs.crypto import apikeys


@dataclass
class Tally:
    """What one stream of requests got back."""

    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    """Requests without an HTTP answer (connection refused or reset, timeout)."""
    latencies: list[float] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0

    @property
    def sent(self) -> int:
        return sum(self.statuses.values()) + self.errors

    @property
    def rate(self) -> float:
        """Answered requests per second."""
        return sum(self.statuses.values()) / max(1e-9, self.ended - self.started)

    def ok_share(self, ok: int = 200) -> float:
        return self.statuses[ok] / max(1, self.sent)

    def p(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


class Conn:
    """One keep-alive HTTP/1.1 connection from ``local_ip``."""

    def __init__(self, host: str, port: int, local_ip: str, timeout: float = 10.0) -> None:
        self._host, self._port, self._local, self._timeout = host, port, local_ip, timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> int:
        """Send one request; the answer's status (the body is read and dropped)."""
        try:
            return await asyncio.wait_for(self._exchange(method, path, headers, body), self._timeout)
        except BaseException:
            self.close()
            raise

    async def _exchange(self, method: str, path: str, headers: dict[str, str], body: bytes) -> int:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(
                self._host, self._port, local_addr=(self._local, 0)
            )
        assert self._reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"host: {self._host}:{self._port}", f"content-length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        fields = dict(h.split(":", 1) for h in header_lines if ":" in h)
        fields = {k.strip().lower(): v.strip() for k, v in fields.items()}
        await self._reader.readexactly(int(fields.get("content-length", "0")))
        if fields.get("connection", "").lower() == "close":
            self.close()
        return int(status_line.split(" ", 2)[1])

    def close(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
        self._reader = self._writer = None


async def paced(
    conn: Conn, rate: float, until: float, tally: Tally, make: Callable[[], tuple[str, str, dict[str, str], bytes]]
) -> None:
    """Send ``rate`` requests per second on ``conn`` until ``until`` (monotonic); a slow answer
    delays the next send (the achieved rate is what the tally reports, not what was asked)."""
    interval = 1.0 / rate
    next_at = time.monotonic()
    while True:
        now = time.monotonic()
        if now >= until:
            return
        if next_at > now:
            await asyncio.sleep(next_at - now)
        next_at = max(next_at + interval, time.monotonic() - interval)
        method, path, headers, body = make()
        sent = time.monotonic()
        try:
            status = await conn.request(method, path, headers, body)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError):
            tally.errors += 1
            continue
        tally.statuses[status] += 1
        tally.latencies.append(time.monotonic() - sent)


def random_key_request(project: str = "prjflood01") -> tuple[str, str, dict[str, str], bytes]:
    """A well-formed (checksum-valid) key nobody issued: what an attacker mints for free."""
    return "GET", "/v1/models", {"authorization": f"Bearer {apikeys.generate(project)}"}, b""


async def flood(
    host: str, port: int, sources: list[str], rate: float, seconds: float, *, conns_per_source: int = 4
) -> Tally:
    """``rate`` random well-formed keys per second in all, spread over ``sources``."""
    tally = Tally(started=time.monotonic())
    until = tally.started + seconds
    conns = [Conn(host, port, ip) for ip in sources for _ in range(conns_per_source)]
    per_conn = rate / len(conns)
    try:
        await asyncio.gather(*(paced(c, per_conn, until, tally, random_key_request) for c in conns))
    finally:
        for c in conns:
            c.close()
    tally.ended = time.monotonic()
    return tally


def sources(count: int, base: str = "127.0.1.") -> list[str]:
    """``count`` loopback client addresses ``127.0.1.1`` … (distinct sources to the edge)."""
    return [f"{base}{i}" for i in range(1, count + 1)]
