"""Answer the broadcast scrape (``gw.metrics.scrape.v1``): this process's metrics, labelled.

No queue group, so every process subscribed answers each scrape, and the bridge
(``libs/stack/metrics_bridge.py``) sees every replica, not one of them.
"""

from __future__ import annotations

import logging
import os
import socket
import time

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from libs.contracts import subjects
from libs.contracts.codec import encode
from libs.contracts.messages import MetricsText
from libs.svc import metrics

log = logging.getLogger("bastion.scrape")


def worker_instance(configured: str, service: str) -> str:
    """The name of one worker process of an HTTP server (the edge's uvicorn workers share the
    configured instance name; their pid tells them apart)."""
    base = configured or f"{service}-{socket.gethostname()}"
    return f"{base}-w{os.getpid()}"


async def answer_scrapes(nc: Client, service: str, instance: str) -> Subscription:
    """Subscribe ``nc`` to the scrape subject; each scrape gets this process's :func:`metrics.render`."""

    async def on_scrape(msg: Msg) -> None:
        if not msg.reply:
            return
        text = metrics.render(service=service, instance=instance)
        try:
            await msg.respond(encode(MetricsText(service=service, instance=instance, text=text)))
        except Exception as exc:  # noqa: BLE001 - connection gone: this scrape misses us
            log.warning("scrape not answered", extra={"error_type": type(exc).__name__})

    metrics.STARTED.set(time.time())
    return await nc.subscribe(subjects.METRICS_SCRAPE, cb=on_scrape)
