"""Vault service wiring."""

from __future__ import annotations

import httpx
from nats.aio.client import Client

from libs.contracts import subjects
from libs.contracts.codec import encode
from libs.contracts.messages import RoutesChanged
from libs.db.pool import create_pool, ready_check
from libs.svc import periodic, runner
from libs.svc.egress import EgressPolicy
from libs.svc.egress_httpx import guarded_client
from libs.svc.micro import Service
from services.vault import handlers
from services.vault.aliases import Aliases
from services.vault.keyring_watch import POLL_S, KeyringHolder
from services.vault.keys import ProviderKeys
from services.vault.probe import Prober
from services.vault.resolver import Resolver
from services.vault.settings import get_settings


async def run() -> None:
    """Load the keyring, connect, serve until SIGTERM."""
    settings = get_settings()
    keys = KeyringHolder()
    pool = await create_pool(settings.db_dsn, max_size=settings.pool_size)
    svc = Service(handlers.SERVICE)
    resolver = Resolver(pool, keys, settings.route_cache_ttl_s)
    # Only for provider tests: no redirects (an auth header would follow), small pool, and every
    # connection checked against the egress policy (a provider test is an SSRF probe otherwise).
    policy = EgressPolicy(settings.upstream_allow)
    client = guarded_client(policy, limits=httpx.Limits(max_connections=16), timeout=settings.probe_timeout_s)
    prober = Prober(pool, resolver, client, settings.probe_timeout_s)
    handlers.register(svc, resolver, ProviderKeys(pool, keys, resolver, policy), Aliases(pool, resolver), prober)

    async def on_connect(nc: Client) -> None:
        async def announce(org_id: str) -> None:
            await nc.publish(subjects.VAULT_ROUTES_CHANGED, encode(RoutesChanged(org_id=org_id)))

        resolver.announce = announce

    try:
        await runner.serve(svc, settings, ready=ready_check(pool), on_connect=on_connect,
                           resources=[periodic.every(POLL_S, keys.reload), client])  # fmt: skip
    finally:
        await pool.close()
