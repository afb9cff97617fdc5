"""Vault endpoints."""

from __future__ import annotations

from faststream.nats import NatsBroker

from libs.contracts import subjects
from libs.contracts.messages import Denied, Fault, ListModels, ModelList, Resolve, Resolved
from libs.svc.rpc import endpoint
from services.vault.resolver import Resolver

SERVICE = "vault"


def register(broker: NatsBroker, resolver: Resolver) -> None:
    """Attach the vault's endpoints to ``broker``."""

    @endpoint(broker, subjects.VAULT_RESOLVE, queue=SERVICE, request_type=Resolve)
    async def resolve(request: Resolve) -> Resolved | Denied | Fault:
        return await resolver.resolve(request)

    @endpoint(broker, subjects.VAULT_MODELS, queue=SERVICE, request_type=ListModels)
    async def models(request: ListModels) -> ModelList:
        return await resolver.models(request)
