"""Import nats-py without aiohttp: imported first by the bus services' mains (issue 11).

nats-py's transport module imports aiohttp, when it is installed, for one purpose: ``ws://``
connections, which Bastion never makes (``nats://`` only). aiohttp is installed for the edge's
upstream client, so without this every bus service would carry it: ~8 MB of PSS per process.
Importing this module first lets nats-py see aiohttp as absent (a ``ws://`` URL would then fail
with nats-py's own "could not import aiohttp transport" error); aiohttp itself stays importable
for any code that really uses it.
"""

from __future__ import annotations

import sys

from libs.svc.absent import absent

if "nats.aio.transport" not in sys.modules:
    with absent("aiohttp"):
        import nats.aio.transport  # noqa: F401
