"""Events of a publisher killed before JetStream took them are published by its successor.

The first publisher runs in its own process against a fresh nats-server whose streams do not
exist yet, so nothing it emits can be stored; it is SIGKILLed with everything still queued. A
second publisher on the same spool directory (after the streams appear) publishes every one.
Both are configured as services are (``BASTION_SPOOL_DIR``, ``BASTION_SPOOL_KEYS_FILE``), so the
journal in between is sealed: it holds none of the events' values in clear.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nats

from libs.stack.secrets_store import spool_keys_file
from libs.svc.events import EventPublisher, spool_for
from libs.svc.settings import BaseSettings, load
from libs.svc.spool import SUFFIX
from libs.svc.streams import AUDIT, USAGE, ensure
from tests.helpers import nats_server

CHILD = textwrap.dedent("""
    import asyncio, sys
    from pathlib import Path
    import nats
    from libs.contracts.messages import AuditEvent, UsageEvent
    from libs.svc.events import EventPublisher, spool_for
    from libs.svc.settings import BaseSettings, load

    async def main() -> None:
        nc = await nats.connect(sys.argv[1])
        events = EventPublisher(nc, spool=spool_for(load(BaseSettings), "edge"), concurrency=2)
        events.start()
        for i in range(40):
            events.usage(UsageEvent(request_id=f"req{i}", ts=1, org_id="org1", project_id="p", key_id="k",
                                    model="m", provider="x", status=200, prompt_tokens=i))
            events.audit(AuditEvent(event_id=f"evt{i}", ts=1, org_id="org1", actor_type="api_key", actor_id="k",
                                    action="chat.completion", resource="model:m", success=True,
                                    ip="198.51.100.23", user_agent="canary-agent/1.0"), source="edge")
        print("emitted", flush=True)
        await asyncio.sleep(3600)

    asyncio.run(main())
""")


async def _stored(url: str) -> dict[str, int]:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        return {spec.name: (await js.stream_info(spec.name)).state.messages for spec in (USAGE, AUDIT)}
    finally:
        await nc.close()


def test_a_killed_publishers_events_are_published_by_its_successor(tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    keys = spool_keys_file(tmp_path / "secrets", "edge")
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "BASTION_SPOOL_DIR": str(spool_dir),
           "BASTION_SPOOL_KEYS_FILE": str(keys)}  # fmt: skip
    with nats_server(tmp_path / "nats") as url:
        child = subprocess.Popen([sys.executable, "-c", CHILD, url], stdout=subprocess.PIPE, env=env)
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == b"emitted"
            time.sleep(0.3)  # let it try (and fail) to publish
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        journal = b"".join(p.read_bytes() for p in spool_dir.glob(f"*{SUFFIX}"))
        assert journal
        for clear in (b"198.51.100.23", b"canary-agent", b"org1", b"req1", b"gw.evt"):
            assert clear not in journal  # sealed: a copy off the machine reads as noise

        async def successor() -> dict[str, int]:
            nc = await nats.connect(url)
            js = nc.jetstream()
            for spec in (USAGE, AUDIT):
                await ensure(js, spec)
            spool = spool_for(load(BaseSettings, env), "edge")
            assert spool is not None
            events = EventPublisher(nc, spool=spool, concurrency=4)
            events.start()
            deadline = time.monotonic() + 20
            stored = await _stored(url)
            while time.monotonic() < deadline and stored != {"USAGE": 40, "AUDIT": 40}:
                await asyncio.sleep(0.1)
                stored = await _stored(url)
            await events.close()
            await nc.close()
            return stored

        assert asyncio.run(successor()) == {"USAGE": 40, "AUDIT": 40}
        assert list(spool_dir.glob(f"*{SUFFIX}")) == []  # replayed segments and the successor's own are gone
