"""Upstream providers and their keys (write-only: a key is never returned, only its mask)."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from functools import lru_cache
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, delete, get, post, put

from libs.contracts import subjects
from libs.contracts.codec import Codec
from libs.contracts.messages import (
    DeleteProvider,
    ListProviders,
    ProbeProvider,
    ProbeReply,
    ProbeResult,
    ProviderInfo,
    ProviderList,
    ProviderReply,
    RotateProviderKey,
    SetProviderPrice,
    StoreProvider,
    UnitPrice,
)
from libs.svc.egress import BadBaseUrl, EgressPolicy, check_base_url
from services.api import vault
from services.api.auditing import audited
from services.api.commands import request_id
from services.api.deps import Admin
from services.api.problems import Problem
from services.api.schemas import Body
from services.api.security import require
from services.api.settings import get_settings

_reply: Codec[ProviderReply] = Codec(ProviderReply)
_probe: Codec[ProbeReply] = Codec(ProbeReply)
# The vault bounds a test call at BASTION_PROBE_TIMEOUT_S (10 s); wait a little longer than that.
PROBE_WAIT_S = 13.0
Secret = Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
MAX_USD_PER_MILLION = 10_000
UsdPerMillion = Annotated[float, msgspec.Meta(ge=0, le=MAX_USD_PER_MILLION)]
"""USD per million tokens: finite, non-negative, at most $10,000 (NaN and infinities fail the bounds)."""


class PriceIn(Body):
    """A provider's default price in USD per million tokens: what a model the price table does not
    know costs through it (``cached_input`` defaults to ``input``)."""

    input: UsdPerMillion
    output: UsdPerMillion
    cached_input: UsdPerMillion | None = None

    def unit(self) -> UnitPrice:
        """As integer micro-dollars per million tokens, rounded up (never under-charge)."""
        cached = self.input if self.cached_input is None else self.cached_input
        return UnitPrice(input=_micros(self.input), output=_micros(self.output), cached_input=_micros(cached))


def _micros(usd: float) -> int:
    return int((Decimal(repr(usd)) * 1_000_000).to_integral_value(rounding=ROUND_CEILING))


def _usd(micros: int) -> float:
    return micros / 1_000_000


def provider_out(info: ProviderInfo) -> dict[str, Any]:
    """A provider as the API shows it; its default price in USD per million tokens (or null)."""
    out = msgspec.structs.asdict(info)
    price = info.default_price
    out["default_price"] = None if price is None else {
        "input": _usd(price.input), "output": _usd(price.output), "cached_input": _usd(price.cached_input)}  # fmt: skip
    return out


class ProviderIn(Body):
    """A provider: adapter, base URL, its key (write-only) and the model names it serves."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    adapter: Literal["openai", "anthropic", "gemini", "openai_compatible"]
    base_url: Annotated[str, msgspec.Meta(
        min_length=8, max_length=512,
        description="https URL including the API version; checked by libs/svc/egress.py:check_base_url "
        "(no query, fragment or user info; non-public hosts only where the operator allows)",
    )]  # fmt: skip
    api_key: Secret | None = None
    models: Annotated[
        list[Annotated[str, msgspec.Meta(min_length=1, max_length=128)]], msgspec.Meta(max_length=500)
    ] = []
    timeout_s: Annotated[float, msgspec.Meta(gt=0, le=600)] = 60.0
    default_price: PriceIn | None = None

    def __repr__(self) -> str:
        return f"ProviderIn(name={self.name!r}, api_key=<redacted>)"


class KeyIn(Body):
    """A replacement key."""

    api_key: Secret

    def __repr__(self) -> str:
        return "KeyIn(api_key=<redacted>)"


async def _vault(request: Request[Any, Any, Any], subject: str, message: Any) -> ProviderList:
    return await vault.ask(request, subject, message, ProviderList, _reply)


@lru_cache(maxsize=1)
def _policy() -> EgressPolicy:
    return EgressPolicy(get_settings().upstream_allow)


class ProviderController(Controller):
    """``/v1/providers``."""

    path = "/v1/providers"
    tags = ["providers"]

    @get("/", operation_id="listProviders")
    async def list_providers(self, request: Request[Any, Any, Any], admin: Admin) -> dict[str, Any]:
        """Providers with masked keys."""
        listing = await _vault(
            request, subjects.VAULT_KEY_LIST, ListProviders(request_id=request_id(), org_id=admin.org_id)
        )
        return {"data": [provider_out(p) for p in listing.providers]}

    @post("/", operation_id="addProvider", status_code=201)
    async def add(self, request: Request[Any, Any, Any], admin: Admin, data: ProviderIn) -> dict[str, Any]:
        """Add a provider; its key is sealed by the vault and never shown again."""
        async with audited(request, admin, "provider.created", f"provider:{data.name}") as detail:
            require(admin, "admin", fresh=True)
            try:
                base_url = check_base_url(data.base_url, _policy())
            except BadBaseUrl as exc:
                raise Problem(400, str(exc)) from None
            listing = await _vault(request, subjects.VAULT_KEY_STORE, StoreProvider(
                request_id=request_id(), org_id=admin.org_id, name=data.name, adapter=data.adapter,
                base_url=base_url, api_key=data.api_key or "", models=data.models, timeout_s=data.timeout_s,
                default_price=data.default_price.unit() if data.default_price else None))  # fmt: skip
            detail["resource"] = f"provider:{listing.providers[0].id}"
        return provider_out(listing.providers[0])

    @post("/{provider_id:str}/rotate", operation_id="rotateProviderKey", status_code=200)
    async def rotate(
        self, request: Request[Any, Any, Any], admin: Admin, provider_id: str, data: KeyIn
    ) -> dict[str, Any]:
        """Replace the key (a new sealed version; in-flight requests finish with the old one)."""
        async with audited(request, admin, "provider_key.rotated", f"provider:{provider_id}"):
            require(admin, "admin", fresh=True)
            listing = await _vault(request, subjects.VAULT_KEY_ROTATE, RotateProviderKey(
                request_id=request_id(), org_id=admin.org_id, provider_id=provider_id, api_key=data.api_key))  # fmt: skip
        return provider_out(listing.providers[0])

    @put("/{provider_id:str}/price", operation_id="setProviderPrice", status_code=200)
    async def set_price(
        self, request: Request[Any, Any, Any], admin: Admin, provider_id: str, data: PriceIn
    ) -> dict[str, Any]:
        """Set the provider's default price: models the price table does not know (a catch-all
        provider, ``provider/model``) are held and billed at it, and keys with a USD limit may use them."""
        async with audited(request, admin, "provider.price_set", f"provider:{provider_id}") as detail:
            require(admin, "admin")
            unit = data.unit()
            detail.update(input_micros=str(unit.input), output_micros=str(unit.output),
                          cached_micros=str(unit.cached_input))  # fmt: skip
            listing = await _vault(request, subjects.VAULT_PROVIDER_PRICE, SetProviderPrice(
                request_id=request_id(), org_id=admin.org_id, provider_id=provider_id, price=unit))  # fmt: skip
        return provider_out(listing.providers[0])

    @delete("/{provider_id:str}/price", operation_id="clearProviderPrice", status_code=200)
    async def clear_price(self, request: Request[Any, Any, Any], admin: Admin, provider_id: str) -> dict[str, Any]:
        """Remove the provider's default price: its unknown models are unpriced again (recorded at
        $0, flagged; refused to keys with a USD limit)."""
        async with audited(request, admin, "provider.price_cleared", f"provider:{provider_id}"):
            require(admin, "admin")
            listing = await _vault(request, subjects.VAULT_PROVIDER_PRICE, SetProviderPrice(
                request_id=request_id(), org_id=admin.org_id, provider_id=provider_id))  # fmt: skip
        return provider_out(listing.providers[0])

    @post("/{provider_id:str}/test", operation_id="testProvider", status_code=200)
    async def probe(self, request: Request[Any, Any, Any], admin: Admin, provider_id: str) -> dict[str, Any]:
        """One cheap upstream call (``GET {base_url}/models``) with the stored key, made by the vault.
        200 whenever the test ran: ``ok`` says whether the upstream accepted it."""
        async with audited(request, admin, "provider.tested", f"provider:{provider_id}") as detail:
            require(admin, "admin")
            result = await vault.ask(request, subjects.VAULT_PROVIDER_TEST, ProbeProvider(
                request_id=request_id(), org_id=admin.org_id, provider_id=provider_id), ProbeResult, _probe,
                timeout_s=PROBE_WAIT_S)  # fmt: skip
            detail.update(ok=str(result.ok).lower(), upstream_status=str(result.status), detail=result.detail)
        return msgspec.structs.asdict(result)

    @delete("/{provider_id:str}", operation_id="deleteProvider", status_code=204)
    async def remove(self, request: Request[Any, Any, Any], admin: Admin, provider_id: str) -> None:
        """Delete a provider with its keys and routes."""
        async with audited(request, admin, "provider.deleted", f"provider:{provider_id}"):
            require(admin, "admin", fresh=True)
            await _vault(request, subjects.VAULT_KEY_DELETE,
                         DeleteProvider(request_id=request_id(), org_id=admin.org_id, provider_id=provider_id))  # fmt: skip
