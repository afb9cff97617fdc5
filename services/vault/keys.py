"""Provider keys: store, rotate, list, delete (commands from the management API only — the bus
permissions refuse them from anyone else). Keys are sealed before they touch the database; the
clear key exists only in this process's memory and in resolve replies to the edge."""

from __future__ import annotations

import asyncpg

from libs.contracts.errors import Code
from libs.contracts.messages import (
    DeleteProvider,
    Denied,
    ListProviders,
    ProviderInfo,
    ProviderList,
    RotateProviderKey,
    SetProviderPrice,
    StoreProvider,
    UnitPrice,
)
from libs.db.ids import new_id
from libs.db.pool import tenant_tx
from libs.pricing import MAX_PRICE_MICROS
from libs.svc.egress import BadBaseUrl, EgressPolicy, check_base_url
from services.vault import envelope
from services.vault.keyring_watch import KeyringHolder
from services.vault.resolver import Resolver

ADAPTERS = frozenset({"openai", "anthropic", "gemini", "openai_compatible"})
_NOT_FOUND = Denied(code="vault.not_found", reason="No such provider in this organisation.")
_BAD_PRICE = Denied(
    code=str(Code.BAD_REQUEST), reason="A default price must be between 0 and $10,000 per million tokens."
)


def mask(secret: str) -> str:
    """A provider key as it may be listed."""
    return f"{secret[:4]}…{secret[-4:]}" if len(secret) >= 12 else "…"


class ProviderKeys:
    """Provider-key commands for one vault replica."""

    def __init__(self, pool: asyncpg.Pool, keys: KeyringHolder, resolver: Resolver,
                 policy: EgressPolicy | None = None) -> None:  # fmt: skip
        self._pool = pool
        self._keys = keys
        self._resolver = resolver
        self._policy = policy or EgressPolicy()

    async def _dek(self, conn: asyncpg.Connection, org_id: str) -> bytes:
        row = await conn.fetchrow("SELECT kid, wrapped FROM vault.data_keys WHERE org_id = $1", org_id)
        if row is None:
            _, wrapped = envelope.new_wrapped_dek(self._keys.ring, org_id)
            await conn.execute(
                "INSERT INTO vault.data_keys (org_id, kid, wrapped) VALUES ($1, $2, $3) ON CONFLICT (org_id) DO NOTHING",
                org_id, wrapped.kid, wrapped.blob,
            )  # fmt: skip
            row = await conn.fetchrow("SELECT kid, wrapped FROM vault.data_keys WHERE org_id = $1", org_id)
        return envelope.unwrap_dek(self._keys.ring, org_id, row["kid"], bytes(row["wrapped"]))

    async def _seal_into(
        self, conn: asyncpg.Connection, org_id: str, provider_id: str, secret: str, version: int
    ) -> None:
        key_id = new_id("pk")
        sealed = envelope.seal_secret(await self._dek(conn, org_id), secret, org_id, provider_id, key_id, version)
        await conn.execute(
            "INSERT INTO vault.provider_keys (id, org_id, provider_id, version, sealed, masked) VALUES ($1,$2,$3,$4,$5,$6)",
            key_id, org_id, provider_id, version, sealed, mask(secret),
        )  # fmt: skip

    async def store(self, cmd: StoreProvider) -> ProviderList | Denied:
        """Add a provider, its sealed key and its model routes."""
        if cmd.adapter not in ADAPTERS:
            return Denied(code=str(Code.BAD_REQUEST), reason=f"adapter must be one of {', '.join(sorted(ADAPTERS))}")
        try:  # the management API checked it too; the vault stores only what it would connect to
            base_url = check_base_url(cmd.base_url, self._policy)
        except BadBaseUrl as exc:
            return Denied(code=str(Code.BAD_REQUEST), reason=str(exc))
        if not _valid(cmd.default_price):
            return _BAD_PRICE
        provider_id = new_id("prv")
        price = cmd.default_price
        try:
            async with tenant_tx(self._pool, cmd.org_id) as conn:
                await conn.execute(
                    "INSERT INTO vault.providers (id, org_id, name, adapter, base_url, timeout_s, price_input_micros,"
                    " price_output_micros, price_cached_micros) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
                    provider_id, cmd.org_id, cmd.name, cmd.adapter, base_url, cmd.timeout_s,
                    *(_columns(price)),
                )  # fmt: skip
                if cmd.api_key:
                    await self._seal_into(conn, cmd.org_id, provider_id, cmd.api_key, 1)
                for model in cmd.models:
                    await conn.execute(
                        "INSERT INTO vault.models (org_id, name, provider_id, upstream_model) VALUES ($1, $2, $3, $2)",
                        cmd.org_id, model, provider_id,
                    )  # fmt: skip
        except asyncpg.UniqueViolationError:
            return Denied(
                code="vault.conflict", reason="A provider with that name, or one of those model names, exists."
            )
        await self._resolver.changed(cmd.org_id)
        return await self._listing(cmd.org_id, provider_id)

    async def rotate(self, cmd: RotateProviderKey) -> ProviderList | Denied:
        """Seal a new version; older versions are retired (in-flight requests already hold theirs)."""
        async with tenant_tx(self._pool, cmd.org_id) as conn:
            if not await conn.fetchval("SELECT 1 FROM vault.providers WHERE id = $1 FOR UPDATE", cmd.provider_id):
                return _NOT_FOUND
            version = await conn.fetchval(
                "SELECT coalesce(max(version), 0) + 1 FROM vault.provider_keys WHERE provider_id = $1", cmd.provider_id
            )
            await conn.execute(
                "UPDATE vault.provider_keys SET status = 'retired' WHERE provider_id = $1", cmd.provider_id
            )
            await self._seal_into(conn, cmd.org_id, cmd.provider_id, cmd.api_key, int(version))
        await self._resolver.changed(cmd.org_id)
        return await self._listing(cmd.org_id, cmd.provider_id)

    async def set_price(self, cmd: SetProviderPrice) -> ProviderList | Denied:
        """Set or clear a provider's default price; routes cached anywhere are dropped at once."""
        if not _valid(cmd.price):
            return _BAD_PRICE
        async with tenant_tx(self._pool, cmd.org_id) as conn:
            done = await conn.execute(
                "UPDATE vault.providers SET price_input_micros = $2, price_output_micros = $3,"
                " price_cached_micros = $4 WHERE id = $1",
                cmd.provider_id, *_columns(cmd.price),
            )  # fmt: skip
        if not done.endswith(" 1"):
            return _NOT_FOUND
        await self._resolver.changed(cmd.org_id)
        return await self._listing(cmd.org_id, cmd.provider_id)

    async def delete(self, cmd: DeleteProvider) -> ProviderList | Denied:
        """Remove a provider with its keys and routes."""
        async with tenant_tx(self._pool, cmd.org_id) as conn:
            done = await conn.execute("DELETE FROM vault.providers WHERE id = $1", cmd.provider_id)
        if not done.endswith(" 1"):
            return _NOT_FOUND
        await self._resolver.changed(cmd.org_id)
        return ProviderList(providers=[])

    async def list(self, cmd: ListProviders) -> ProviderList:
        """Every provider of the tenant, keys masked."""
        return await self._listing(cmd.org_id, None)

    async def _listing(self, org_id: str, provider_id: str | None) -> ProviderList:
        async with tenant_tx(self._pool, org_id) as conn:
            rows = await conn.fetch(
                "SELECT p.id, p.name, p.adapter, p.base_url,"
                " (SELECT masked FROM vault.provider_keys k WHERE k.provider_id = p.id AND k.status = 'active'"
                "   ORDER BY version DESC LIMIT 1) AS masked_key,"
                " (SELECT max(version) FROM vault.provider_keys k WHERE k.provider_id = p.id) AS key_version,"
                " coalesce((SELECT array_agg(name ORDER BY name) FROM vault.models m WHERE m.provider_id = p.id),"
                "   '{}') AS models, p.price_input_micros, p.price_output_micros, p.price_cached_micros"
                " FROM vault.providers p WHERE ($1::text IS NULL OR p.id = $1) ORDER BY p.name",
                provider_id,
            )  # fmt: skip
        return ProviderList(providers=[
            ProviderInfo(id=r["id"], name=r["name"], adapter=r["adapter"], base_url=r["base_url"],
                         masked_key=r["masked_key"] or "", key_version=r["key_version"] or 0, models=list(r["models"]),
                         default_price=_price_of(r))
            for r in rows
        ])  # fmt: skip


def _valid(price: UnitPrice | None) -> bool:
    """Prices are checked by the management API; this is the vault's own backstop."""
    if price is None:
        return True
    return all(0 <= v <= MAX_PRICE_MICROS for v in (price.input, price.output, price.cached_input))


def _columns(price: UnitPrice | None) -> tuple[int | None, int | None, int | None]:
    if price is None:
        return None, None, None
    return price.input, price.output, price.cached_input


def _price_of(row: asyncpg.Record) -> UnitPrice | None:
    if row["price_input_micros"] is None:
        return None
    return UnitPrice(input=row["price_input_micros"], output=row["price_output_micros"],
                     cached_input=row["price_cached_micros"])  # fmt: skip
