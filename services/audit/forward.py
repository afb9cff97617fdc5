"""``python -m services.audit.forward --out FILE``: the reference forwarder of the ``AUDIT`` stream.

Reads its own durable (``audit_forward``) as the read-only bus user ``audit_reader``
(``BASTION_NATS_USER`` / ``BASTION_NATS_PASSWORD[_FILE]`` or its client certificate): the server
pushes that durable into the user's own inbox (``libs/svc/push.py``); the user can ack it and
nothing else — make no pull request, publish no event, touch no stream. Each batch is appended to
``FILE`` as JSON lines — ``{"subject", "stream_seq", "event"}``, the event normalised as the audit service stores
it; an event the audit service would refuse on its claims (``services/audit/claims.py``: the
source its subject names may not claim that actor or action) as ``"refused": why``, and an
undecodable one as ``"undecodable": true``, both with the payload masked as a dead letter's
(``libs/svc/consumers.py:masked``) in base64 and no ``event`` — flushed and ``fsync``ed, and only then
acked: at least once, so after a crash a line may repeat (``stream_seq`` tells copies apart).
Stops on SIGTERM/SIGINT after writing and acking what it holds. A template for a SIEM shipper.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import logging
import os
import signal
from pathlib import Path
from typing import Any

import msgspec

import libs.svc.natsimport  # noqa: F401  # first: nats-py without aiohttp
from libs.contracts import normalise, subjects
from libs.contracts.messages import AuditEvent
from libs.svc import logs
from libs.svc.bus import close_quietly, connect
from libs.svc.consumers import masked
from libs.svc.push import PushSource
from libs.svc.settings import BaseSettings, load
from services.audit import claims

log = logging.getLogger("bastion.audit.forward")
_decode = msgspec.json.Decoder(AuditEvent).decode
_encode = msgspec.json.Encoder().encode


def line(msg: Any) -> bytes:
    """The JSON line of one stream message."""
    entry: dict[str, Any] = {"subject": msg.subject, "stream_seq": msg.metadata.sequence.stream}
    try:
        event = _decode(msg.data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        entry |= {"undecodable": True, "payload_b64": base64.b64encode(masked(bytes(msg.data))).decode()}
        return _encode(entry) + b"\n"
    refused = claims.check(msg.subject, event)
    if refused is not None:
        entry |= {"refused": refused, "payload_b64": base64.b64encode(masked(bytes(msg.data))).decode()}
    else:
        entry["event"] = normalise.audit(event)
    return _encode(entry) + b"\n"


async def forward(source: PushSource, out: Path) -> int:
    """Write and ack every batch until the source is stopped; the number of messages forwarded."""
    forwarded = 0
    with out.open("ab") as sink:
        while batch := await source.next_batch():
            sink.write(b"".join(line(m) for m in batch))
            sink.flush()
            os.fsync(sink.fileno())
            for msg in batch:
                await msg.ack()
            forwarded += len(batch)
    return forwarded


async def main(out: Path) -> None:
    settings = load(BaseSettings)
    nc = await connect(settings, "bastion-audit-forward")
    source = PushSource(nc, subjects.AUDIT_FORWARD_DELIVER, batch=256, wait_s=0.05)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, source.stop)
    await source.start()
    try:
        count = await forward(source, out)
        log.info("audit forwarder stopped", extra={"forwarded": count})
    finally:
        await source.close()
        await nc.flush()
        await close_quietly(nc)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m services.audit.forward", description=__doc__)
    parser.add_argument("--out", required=True, type=Path, help="the JSON-lines file to append to")
    args = parser.parse_args()
    logs.setup("audit-forward", load(BaseSettings).log_level)
    asyncio.run(main(args.out))
