"""Upstream HTTP clients side by side: requests/s and CPU µs per request of the client process.

    PYTHONPATH=$PWD .venv/bin/python bench/upstream_client_bench.py [--duration 5] [--concurrency 16 64]

Starts ``bench/fastmock.py`` (framework-less upstream, in its own process, so its CPU is not
counted), then for each client, body kind (JSON answer, SSE stream read chunk by chunk) and
concurrency runs N tasks that each send one request after another over the client's pool, on
uvloop as the edge runs. The clients are the ones the edge could use, each held to the egress
policy the way the edge holds it (``guarded``), plus the same libraries bare, to show what the
guard costs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import httpx
import uvloop

from libs.svc.egress import EgressPolicy
from libs.svc.egress_http import GuardedClient, Request, timeout
from libs.svc.egress_httpx import guarded_client

PORT = 9187
URL = f"http://127.0.0.1:{PORT}/v1/chat/completions"
JSON_BODY = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
SSE_BODY = json.dumps({"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}).encode()
HEADERS = {"content-type": "application/json", "accept": "application/json", "authorization": "Bearer sk-bench"}
POLICY = EgressPolicy(["127.0.0.0/8"])

Call = Callable[[bytes, bool], Awaitable[int]]


@asynccontextmanager
async def httpx_client(guarded: bool) -> AsyncIterator[Call]:
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=128, keepalive_expiry=4.0)
    client = guarded_client(POLICY, limits=limits) if guarded else httpx.AsyncClient(limits=limits, trust_env=False)
    tmo = httpx.Timeout(30.0, connect=5.0)

    async def call(body: bytes, stream: bool) -> int:
        request = client.build_request("POST", URL, content=body, headers=HEADERS, timeout=tmo)
        response = await client.send(request, stream=stream)
        if stream:
            n = 0
            async for chunk in response.aiter_bytes():
                n += len(chunk)
            await response.aclose()
            return n
        return len(response.content)

    async with client:
        yield call


@asynccontextmanager
async def aiohttp_guarded() -> AsyncIterator[Call]:
    client = GuardedClient(POLICY)
    tmo = timeout(30.0, 5.0)

    async def call(body: bytes, stream: bool) -> int:
        response = await client.open(Request(URL, body, HEADERS, tmo))
        if stream:
            n = 0
            async for chunk in response.aiter_bytes():
                n += len(chunk)
            await response.aclose()
            return n
        return len(await response.aread())

    try:
        yield call
    finally:
        await client.aclose()


@asynccontextmanager
async def aiohttp_bare() -> AsyncIterator[Call]:
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512, keepalive_timeout=4.0))

    async def call(body: bytes, stream: bool) -> int:
        async with session.post(URL, data=body, headers=HEADERS, allow_redirects=False) as response:
            if stream:
                n = 0
                async for chunk in response.content.iter_any():
                    n += len(chunk)
                return n
            return len(await response.read())

    async with session:
        yield call


CLIENTS = {
    "httpx (guarded, current)": lambda: httpx_client(True),
    "httpx (bare)": lambda: httpx_client(False),
    "aiohttp (guarded)": aiohttp_guarded,
    "aiohttp (bare)": aiohttp_bare,
}


async def measure(name: str, stream: bool, concurrency: int, duration: float) -> tuple[float, float]:
    body = SSE_BODY if stream else JSON_BODY
    async with CLIENTS[name]() as call:
        await asyncio.gather(*(call(body, stream) for _ in range(concurrency)))  # warm the pool
        done = 0
        stop = time.monotonic() + duration

        async def worker() -> None:
            nonlocal done
            while time.monotonic() < stop:
                if await call(body, stream) <= 0:
                    raise RuntimeError("empty answer")
                done += 1

        cpu0, wall0 = time.process_time(), time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    return done / wall, cpu / done * 1e6


async def run(args: argparse.Namespace) -> None:
    for _ in range(50):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", PORT)
            writer.close()
            break
        except OSError:
            await asyncio.sleep(0.1)
    print(f"{'client':<26} {'body':<5} {'conc':>4} {'req/s':>8} {'CPU µs/req':>11}")
    for concurrency in args.concurrency:
        for stream in (False, True):
            for name in CLIENTS:
                rps, us = await measure(name, stream, concurrency, args.duration)
                kind = "SSE" if stream else "JSON"
                print(f"{name:<26} {kind:<5} {concurrency:>4} {rps:>8.0f} {us:>11.0f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    args = parser.parse_args()
    mock = subprocess.Popen([sys.executable, str(Path(__file__).with_name("fastmock.py")), "--port", str(PORT)])
    try:
        uvloop.run(run(args))
    finally:
        mock.terminate()
        mock.wait()


if __name__ == "__main__":
    main()
