"""Vault: resolve a model to an upstream provider and its decrypted key."""

from __future__ import annotations

import msgspec

from libs.contracts.messages.common import Denied, Fault, UnitPrice


class Resolve(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Which upstream serves ``model`` for this tenant/project."""

    request_id: str
    tenant_id: str
    project_id: str
    model: str
    sent_at: int = 0


class Resolved(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="ok", tag_field="kind"):
    """Upstream coordinates. ``api_key`` is a decrypted provider secret: never log it."""

    provider_id: str
    provider: str
    adapter: str
    base_url: str
    upstream_model: str
    api_key: str = ""
    timeout_s: float = 60.0
    model: str = ""
    """The routed model name: a project alias's target, else the name asked for. The edge checks
    the key's model allow-list and prices the request by this name, so an alias cannot widen either."""
    default_price: UnitPrice | None = None
    """The provider's default price, set by an admin: what a model the price table does not know
    costs through this provider (None: such a model is unpriced)."""

    def __repr__(self) -> str:
        return (
            f"Resolved(provider_id={self.provider_id!r}, adapter={self.adapter!r}, "
            f"upstream_model={self.upstream_model!r}, api_key=<redacted>)"
        )


VaultReply = Resolved | Denied | Fault


class ListModels(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Models a tenant's providers serve."""

    request_id: str
    tenant_id: str
    project_id: str = ""
    sent_at: int = 0


class ModelInfo(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One routable model name and its provider."""

    id: str
    provider: str
    created: int = 0


class ModelList(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="ok", tag_field="kind"):
    """Answer to :class:`ListModels`."""

    models: list[ModelInfo]


ModelsReply = ModelList | Denied | Fault


class StoreProvider(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Add a provider with its key (management API → vault). ``api_key`` is secret: never log."""

    request_id: str
    org_id: str
    name: str
    adapter: str
    base_url: str
    api_key: str = ""
    models: list[str] = []
    timeout_s: float = 60.0
    default_price: UnitPrice | None = None

    def __repr__(self) -> str:
        return f"StoreProvider(org_id={self.org_id!r}, name={self.name!r}, api_key=<redacted>)"


class RotateProviderKey(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Replace a provider's key; requests already holding the old one finish with it."""

    request_id: str
    org_id: str
    provider_id: str
    api_key: str

    def __repr__(self) -> str:
        return f"RotateProviderKey(provider_id={self.provider_id!r}, api_key=<redacted>)"


class ListProviders(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A tenant's providers with masked keys."""

    request_id: str
    org_id: str


class DeleteProvider(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Remove a provider, its keys and its model routes."""

    request_id: str
    org_id: str
    provider_id: str


class ProviderInfo(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What may be shown of a provider: never the key, only its mask and version."""

    id: str
    name: str
    adapter: str
    base_url: str
    masked_key: str = ""
    key_version: int = 0
    models: list[str] = []
    default_price: UnitPrice | None = None


class SetProviderPrice(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Set (or, with ``price`` None, clear) a provider's default price (management API → vault)."""

    request_id: str
    org_id: str
    provider_id: str
    price: UnitPrice | None = None


class ProviderList(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="ok", tag_field="kind"):
    """Answer to store/rotate/list/delete: the affected (or all) providers."""

    providers: list[ProviderInfo]


ProviderReply = ProviderList | Denied | Fault


class SetAlias(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Create or repoint a project's model alias (management API → vault). ``target`` must route now."""

    request_id: str
    org_id: str
    project_id: str
    alias: str
    target: str


class ListAliases(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A project's model aliases."""

    request_id: str
    org_id: str
    project_id: str


class DeleteAlias(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Remove a project's model alias."""

    request_id: str
    org_id: str
    project_id: str
    alias: str


class AliasInfo(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One alias; ``provider`` names the target's provider ("" if the target no longer routes)."""

    alias: str
    target: str
    provider: str = ""
    created: int = 0


class AliasList(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="ok", tag_field="kind"):
    """Answer to set/list/delete: the affected (or all) aliases; ``created`` when a set made a new one."""

    aliases: list[AliasInfo]
    created: bool = False


AliasReply = AliasList | Denied | Fault


class ProbeProvider(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Make one cheap upstream call with a provider's stored key (management API → vault)."""

    request_id: str
    org_id: str
    provider_id: str


class ProbeResult(msgspec.Struct, frozen=True, kw_only=True, tag="ok", tag_field="kind"):
    """How the call went: ``status`` is the upstream's HTTP status (0 if none came), ``detail`` a short
    text of our own (never the upstream's body, never the key)."""

    ok: bool
    status: int
    latency_ms: int
    detail: str


ProbeReply = ProbeResult | Denied | Fault


class RoutesChanged(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A tenant's providers, keys or aliases changed: drop cached routes (core fan-out to every
    vault replica)."""

    org_id: str
