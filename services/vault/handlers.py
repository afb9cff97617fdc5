"""Vault endpoints."""

from __future__ import annotations

from libs.contracts import subjects
from libs.contracts.messages import Denied, Fault, ListModels, ModelList, Resolve, Resolved
from libs.svc.micro import Service
from services.vault.resolver import Resolver

SERVICE = "vault"


def register(svc: Service, resolver: Resolver) -> None:
    """Attach the vault's endpoints to ``broker``."""

    @svc.endpoint(subjects.VAULT_RESOLVE, Resolve)
    async def resolve(request: Resolve) -> Resolved | Denied | Fault:
        return await resolver.resolve(request)

    @svc.endpoint(subjects.VAULT_MODELS, ListModels)
    async def models(request: ListModels) -> ModelList:
        return await resolver.models(request)
