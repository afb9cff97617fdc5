"""A route change on one vault replica reaches the others at once (core fan-out on real NATS)."""

from __future__ import annotations

import asyncio
import time

import nats

from libs.contracts import subjects
from libs.contracts.codec import encode
from libs.contracts.messages import RoutesChanged
from libs.svc.micro import Service
from services.vault import handlers
from services.vault.resolver import Resolver


def test_a_route_change_is_dropped_from_every_replicas_cache(nats_url: str) -> None:
    async def run() -> bool:
        replicas = []
        for _ in range(2):
            nc = await nats.connect(nats_url)
            resolver = Resolver(pool=None, keys=None, cache_ttl_s=300)  # type: ignore[arg-type]
            svc = Service(handlers.SERVICE)
            handlers.register(svc, resolver)
            await svc.start(nc)

            async def announce(org_id: str, nc: nats.NATS = nc) -> None:
                await nc.publish(subjects.VAULT_ROUTES_CHANGED, encode(RoutesChanged(org_id=org_id)))

            resolver.announce = announce
            replicas.append((nc, svc, resolver))
        (_, _, changer), (_, _, other) = replicas
        far = time.monotonic() + 300
        for resolver in (changer, other):
            resolver._routes[("org-a", "p", "m")] = (far, None)
            resolver._routes[("org-b", "p", "m")] = (far, None)
        await changer.changed("org-a")
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and ("org-a", "p", "m") in other._routes:
            await asyncio.sleep(0.01)
        gone = ("org-a", "p", "m") not in other._routes and ("org-a", "p", "m") not in changer._routes
        kept = ("org-b", "p", "m") in other._routes
        for nc, svc, _ in replicas:
            await svc.drain()
            await nc.close()
        return gone and kept

    assert asyncio.run(run())
