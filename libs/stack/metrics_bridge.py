"""``python -m libs.stack metrics-bridge``: every process's metrics at one ``/metrics`` for Prometheus.

The services open no HTTP port for metrics. On each HTTP scrape the bridge publishes one
broadcast request on ``gw.metrics.scrape.v1`` (as the bus user ``metrics``, which may do nothing else), collects the answers that
arrive within a short window — every edge worker, every replica of every bus service, the
management API, each labelled with its ``service`` and ``instance`` — and merges them into one
exposition: each metric family's ``HELP`` and ``TYPE`` once, then the samples of every process.
``bastion_scrape_answers{service}`` says how many processes of each service answered this scrape,
so a replica that stopped answering shows as a drop, not as silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import Counter
from collections.abc import Iterable

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg

from libs.contracts import subjects
from libs.contracts.codec import Codec, encode
from libs.contracts.messages import MetricsText, Ping

log = logging.getLogger("bastion.metrics_bridge")
_answer: Codec[MetricsText] = Codec(MetricsText)

WINDOW_S = 0.5
"""How long one scrape waits for answers (a process answers in a few ms unless it is stuck)."""
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_MAX_HEAD = 8192


async def collect(nc: Client, window_s: float = WINDOW_S) -> list[MetricsText]:
    """One broadcast scrape: every answer that arrives within ``window_s``."""
    answers: list[MetricsText] = []

    async def on_answer(msg: Msg) -> None:
        try:
            answers.append(_answer.decode(msg.data))
        except (msgspec.DecodeError, msgspec.ValidationError):
            log.warning("malformed scrape answer dropped")

    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox, cb=on_answer)
    try:
        await nc.publish(subjects.METRICS_SCRAPE, encode(Ping(request_id="metrics-bridge")), reply=inbox)
        await asyncio.sleep(window_s)
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
    return answers


def merge(answers: Iterable[MetricsText]) -> str:
    """One exposition from many processes' texts: families in first-seen order, each with its
    ``HELP``/``TYPE`` once and then the samples of every process (the text format wants a
    family's samples together), then ``bastion_scrape_answers``."""
    ordered = sorted(answers, key=lambda a: (a.service, a.instance))
    heads: dict[str, list[str]] = {}
    samples: dict[str, list[str]] = {}
    for answer in ordered:
        family = ""
        for line in answer.text.splitlines():
            if line.startswith(("# HELP ", "# TYPE ")):
                family = line.split(" ", 3)[2]
                heads.setdefault(family, [])
                samples.setdefault(family, [])
                if len(heads[family]) < 2 and not any(h[:6] == line[:6] for h in heads[family]):
                    heads[family].append(line)
            elif line and not line.startswith("#") and family:
                samples[family].append(line)
    out: list[str] = []
    for family, head in heads.items():
        out.extend(head)
        out.extend(samples[family])
    counts = Counter(a.service for a in ordered)
    out.append("# HELP bastion_scrape_answers Processes of each service that answered this scrape")
    out.append("# TYPE bastion_scrape_answers gauge")
    out.extend(f'bastion_scrape_answers{{service="{service}"}} {n}' for service, n in sorted(counts.items()))
    return "".join(line + "\n" for line in out)


def _response(status: str, body: bytes, content_type: str = "text/plain; charset=utf-8") -> bytes:
    head = (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n")  # fmt: skip
    return head.encode() + body


async def _handle(nc: Client, window_s: float, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
        writer.close()
        return
    method, _, rest = head.partition(b" ")
    path = rest.split(b" ", 1)[0].split(b"?", 1)[0]
    if method != b"GET" or path != b"/metrics":
        writer.write(_response("404 Not Found", b"only GET /metrics\n"))
    else:
        body = merge(await collect(nc, window_s)).encode()
        writer.write(_response("200 OK", body, CONTENT_TYPE))
    with contextlib.suppress(ConnectionError):
        await writer.drain()
    writer.close()


async def serve(nc: Client, host: str, port: int, window_s: float = WINDOW_S, fd: int | None = None) -> None:
    """Serve ``GET /metrics`` on ``host:port`` (or on the inherited listening socket ``fd``) until
    cancelled."""

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _handle(nc, window_s, reader, writer)

    if fd is not None:
        sock = socket.socket(fileno=fd)
        host, port = sock.getsockname()[:2]
        server = await asyncio.start_server(on_client, sock=sock, limit=_MAX_HEAD)
    else:
        server = await asyncio.start_server(on_client, host, port, limit=_MAX_HEAD)
    async with server:
        log.info("metrics bridge listening", extra={"host": host, "port": port})
        await server.serve_forever()
