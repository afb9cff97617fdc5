"""Resolve a model to its upstream and the decrypted provider key."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

import asyncpg

from libs.contracts.errors import Code
from libs.contracts.messages import Denied, Fault, ListModels, ModelInfo, ModelList, Resolve, Resolved, UnitPrice
from libs.crypto import aead
from libs.crypto.keyring import UnknownKeyError
from services.vault import envelope, store
from services.vault.keyring_watch import KeyringHolder

log = logging.getLogger("bastion.vault")


class Resolver:
    """Answers resolve and model-list requests."""

    def __init__(self, pool: asyncpg.Pool, keys: KeyringHolder, cache_ttl_s: float = 5.0) -> None:
        self._pool = pool
        self._keys = keys
        self._deks: dict[str, bytes] = {}
        # Routes (not secrets) are cached briefly per (tenant, project, requested name): a resolve is
        # otherwise a multi-round-trip transaction. A change drops the tenant's entries on this
        # replica at once and, through ``announce`` (a core fan-out), on every other replica; the
        # expiry (``cache_ttl_s``) bounds staleness should that message be lost.
        self._routes: dict[tuple[str, str, str], tuple[float, tuple[store.Route, store.SealedKey | None] | None]] = {}
        self._ttl = cache_ttl_s
        self.announce: Callable[[str], Awaitable[None]] | None = None

    def forget(self, org_id: str) -> None:
        """Drop cached routes of ``org_id``."""
        for key in [k for k in self._routes if k[0] == org_id]:
            del self._routes[key]

    async def changed(self, org_id: str) -> None:
        """A provider, key or alias of ``org_id`` changed here: forget, and tell the other replicas."""
        self.forget(org_id)
        if self.announce is not None:
            try:
                await self.announce(org_id)
            except Exception as exc:  # noqa: BLE001 - the cache expiry still bounds staleness
                log.warning("route change not announced", extra={"error_type": type(exc).__name__})

    async def _find(
        self, org_id: str, project_id: str, model: str
    ) -> tuple[store.Route, store.SealedKey | None] | None:
        key = (org_id, project_id, model)
        now = time.monotonic()
        hit = self._routes.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = await store.find_route(self._pool, org_id, model, project_id)
        if len(self._routes) > 10_000:
            self._routes.clear()
        self._routes[key] = (now + self._ttl, found)
        return found

    async def resolve(self, request: Resolve) -> Resolved | Denied | Fault:
        """The upstream for ``request.model`` (or for its target, if it is an alias of the project),
        with its key opened."""
        found = await self._find(request.tenant_id, request.project_id, request.model)
        if found is None:
            return Denied(
                code=Code.MODEL_NOT_FOUND,
                reason=f"The model `{request.model}` does not exist or you do not have access to it.",
            )
        route, sealed = found
        api_key = await self.open_key(request.tenant_id, route.provider_id, sealed)
        if api_key is None:
            return Fault(code=Code.INTERNAL, message="provider key could not be opened")
        return Resolved(
            provider_id=route.provider_id,
            provider=route.provider,
            adapter=route.adapter,
            base_url=route.base_url,
            upstream_model=route.upstream_model,
            api_key=api_key,
            timeout_s=route.timeout_s,
            model=route.model,
            default_price=default_price(route),
        )

    async def models(self, request: ListModels) -> ModelList:
        """Every model routed for the tenant, and the project's aliases."""
        rows = await store.list_models(self._pool, request.tenant_id, request.project_id)
        return ModelList(models=[ModelInfo(id=n, provider=p, created=c) for n, p, c in rows])

    async def open_key(self, org_id: str, provider_id: str, sealed: store.SealedKey | None) -> str | None:
        """The clear provider key ("" if the provider has none), or None if it cannot be opened
        (logged by error type only)."""
        if sealed is None:
            return ""
        try:
            dek = await self._dek(org_id)
            return envelope.open_secret(dek, sealed.sealed, org_id, provider_id, sealed.id, sealed.version)
        except (aead.DecryptError, UnknownKeyError) as exc:
            log.error("provider key could not be opened", extra={"error_type": type(exc).__name__})
            return None

    async def _dek(self, org_id: str) -> bytes:
        dek = self._deks.get(org_id)
        if dek is None:
            wrapped = await store.wrapped_dek(self._pool, org_id)
            if wrapped is None:
                raise UnknownKeyError("tenant has no data key")
            dek = envelope.unwrap_dek(self._keys.ring, org_id, *wrapped)
            self._deks[org_id] = dek
        return dek


def default_price(route: store.Route) -> UnitPrice | None:
    """The route's provider default price, if an admin set one."""
    if route.price_input_micros is None or route.price_output_micros is None:
        return None
    cached = route.price_input_micros if route.price_cached_micros is None else route.price_cached_micros
    return UnitPrice(input=route.price_input_micros, output=route.price_output_micros, cached_input=cached)
