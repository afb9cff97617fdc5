"""Vault endpoints."""

from __future__ import annotations

from libs.contracts import subjects
from libs.contracts.codec import Codec
from libs.contracts.messages import (
    AliasList,
    DeleteAlias,
    DeleteProvider,
    Denied,
    Fault,
    ListAliases,
    ListModels,
    ListProviders,
    ModelList,
    ProbeProvider,
    ProbeResult,
    ProviderList,
    Resolve,
    Resolved,
    RotateProviderKey,
    RoutesChanged,
    SetAlias,
    SetProviderPrice,
    StoreProvider,
)
from libs.svc.micro import Service
from services.vault.aliases import Aliases
from services.vault.keys import ProviderKeys
from services.vault.probe import Prober
from services.vault.resolver import Resolver

SERVICE = "vault"
_changed: Codec[RoutesChanged] = Codec(RoutesChanged)


def register(
    svc: Service,
    resolver: Resolver,
    keys: ProviderKeys | None = None,
    aliases: Aliases | None = None,
    prober: Prober | None = None,
) -> None:
    """Attach the vault's endpoints."""

    @svc.endpoint(subjects.VAULT_RESOLVE, Resolve)
    async def resolve(request: Resolve) -> Resolved | Denied | Fault:
        return await resolver.resolve(request)

    @svc.endpoint(subjects.VAULT_MODELS, ListModels)
    async def models(request: ListModels) -> ModelList:
        return await resolver.models(request)

    @svc.listen(subjects.VAULT_ROUTES_CHANGED)
    async def on_routes_changed(data: bytes) -> None:
        resolver.forget(_changed.decode(data).org_id)

    if keys is None:
        return

    @svc.endpoint(subjects.VAULT_KEY_STORE, StoreProvider)
    async def store(cmd: StoreProvider) -> ProviderList | Denied:
        return await keys.store(cmd)

    @svc.endpoint(subjects.VAULT_KEY_ROTATE, RotateProviderKey)
    async def rotate(cmd: RotateProviderKey) -> ProviderList | Denied:
        return await keys.rotate(cmd)

    @svc.endpoint(subjects.VAULT_KEY_LIST, ListProviders)
    async def list_providers(cmd: ListProviders) -> ProviderList:
        return await keys.list(cmd)

    @svc.endpoint(subjects.VAULT_PROVIDER_PRICE, SetProviderPrice)
    async def set_price(cmd: SetProviderPrice) -> ProviderList | Denied:
        return await keys.set_price(cmd)

    @svc.endpoint(subjects.VAULT_KEY_DELETE, DeleteProvider)
    async def delete(cmd: DeleteProvider) -> ProviderList | Denied:
        return await keys.delete(cmd)

    if prober is not None:

        @svc.endpoint(subjects.VAULT_PROVIDER_TEST, ProbeProvider)
        async def test_provider(cmd: ProbeProvider) -> ProbeResult | Denied | Fault:
            return await prober.probe(cmd)

    if aliases is None:
        return

    @svc.endpoint(subjects.VAULT_ALIAS_SET, SetAlias)
    async def set_alias(cmd: SetAlias) -> AliasList | Denied:
        return await aliases.set(cmd)

    @svc.endpoint(subjects.VAULT_ALIAS_LIST, ListAliases)
    async def list_aliases(cmd: ListAliases) -> AliasList:
        return await aliases.list(cmd)

    @svc.endpoint(subjects.VAULT_ALIAS_DELETE, DeleteAlias)
    async def delete_alias(cmd: DeleteAlias) -> AliasList | Denied:
        return await aliases.delete(cmd)
