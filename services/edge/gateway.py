"""The per-request pipeline: auth → (limits ∥ guardrails ∥ vault) → upstream → usage + audit events."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field

from libs.contracts import subjects
from libs.contracts.codec import Codec
from libs.contracts.messages import (
    AuditEvent,
    AuthReply,
    Denied,
    GuardCheck,
    GuardReply,
    GuardVerdict,
    LimitCheck,
    LimitDenied,
    LimitReply,
    ListModels,
    ModelInfo,
    ModelsReply,
    Principal,
    Resolve,
    Resolved,
    UsageEvent,
    VaultReply,
    VerifyKey,
)
from libs.svc.bus import Bus, Unavailable
from libs.svc.events import EventPublisher
from services.edge import errors
from services.edge.access import check_model
from services.edge.quota import Admission, Quotas
from services.edge.upstream.base import Usage

_auth_codec: Codec[AuthReply] = Codec(AuthReply)
_guard_codec: Codec[GuardReply] = Codec(GuardReply)
_vault_codec: Codec[VaultReply] = Codec(VaultReply)
_models_codec: Codec[ModelsReply] = Codec(ModelsReply)
_limit_codec: Codec[LimitReply] = Codec(LimitReply)


@dataclass
class Call:
    """One data-plane request as the pipeline tracks it."""

    request_id: str
    client_ip: str
    user_agent: str
    action: str
    started: float = field(default_factory=time.perf_counter)
    principal: Principal | None = None
    model: str = ""
    """The model asked for; after routing, the routed name (an alias's target)."""
    alias: str = ""
    """The project alias the client named, if the model was one."""
    lease_id: str = ""
    held_micros: int = 0
    """What the request holds of its key's quota lease (settled by its usage event)."""
    provider: str = ""
    stream: bool = False
    usage: Usage | None = None
    """Set once the upstream answered, so a later refusal (output guardrail) still meters tokens."""


def _now_ms() -> int:
    return int(time.time() * 1000)


class Gateway:
    """Talks to the bus services for one edge worker."""

    def __init__(self, bus: Bus, events: EventPublisher, quotas: Quotas | None = None) -> None:
        self.bus = bus
        self.events = events
        self.quotas = quotas or Quotas(bus)

    async def authenticate(self, call: Call, key: str) -> Principal:
        """Verify ``key`` with auth; 401 on a denial, 503 if auth cannot answer."""
        request = VerifyKey(request_id=call.request_id, key=key, client_ip=call.client_ip, sent_at=_now_ms())
        try:
            reply = await self.bus.request("auth", subjects.AUTH_VERIFY, request, _auth_codec)
        except Unavailable as exc:
            raise errors.unavailable(exc.service) from None
        if isinstance(reply, Denied):
            raise errors.from_denial(reply.code, reply.reason)
        assert isinstance(reply, Principal)
        call.principal = reply
        return reply

    async def top_up(self, call: Call, principal: Principal, prompt_chars: int, max_tokens: int | None) -> None:
        """Hold this request's worst case at ``call.model``'s price on top of its admission (one
        request's reservation, settled by its usage event); 429 if the budget cannot take it,
        503 if metering cannot answer."""
        lim = principal.limits
        if lim.usage_limit_usd is None:
            return
        request = LimitCheck(
            request_id=call.request_id, org_id=principal.org_id, key_id=principal.key_id, model=call.model,
            usd_limit_micros=round(lim.usage_limit_usd * 1_000_000), prompt_chars=prompt_chars,
            max_tokens=max_tokens, sent_at=_now_ms(),
        )  # fmt: skip
        try:
            reply = await self.bus.request("metering", subjects.METERING_LIMIT_CHECK, request, _limit_codec)
        except Unavailable as exc:
            raise errors.unavailable(exc.service) from None
        if isinstance(reply, LimitDenied):
            raise errors.limit_denied(reply)

    async def _admit(
        self, call: Call, principal: Principal, prompt_chars: int, max_tokens: int | None
    ) -> Admission | None:
        """The key's limits, from this process's quota lease; the hold is on ``call`` at once, so
        the usage event settles it however the request then ends."""
        admitted = await self.quotas.admit(call.request_id, principal, call.model, prompt_chars, max_tokens)
        if admitted is not None:
            call.lease_id, call.held_micros = admitted.lease_id, admitted.held_micros
        return admitted

    async def prepare(
        self, call: Call, principal: Principal, texts: list[str], max_tokens: int | None
    ) -> tuple[Resolved, GuardVerdict, Admission | None]:
        """Limit check, input guardrails and the vault lookup, concurrently; all must pass.

        A refusal is reported in a fixed order whatever finished first: the limit (429), then
        guardrails, then routing. A reservation made for a request refused by guardrails or
        routing is settled by that request's usage event (zero tokens), like any failed call.
        """
        guard = GuardCheck(
            request_id=call.request_id, tenant_id=principal.org_id, project_id=principal.project_id,
            key_id=principal.key_id, texts=texts, sent_at=_now_ms(),
        )  # fmt: skip
        resolve = Resolve(
            request_id=call.request_id, tenant_id=principal.org_id, project_id=principal.project_id,
            model=call.model, sent_at=_now_ms(),
        )  # fmt: skip
        limit_call = self._admit(call, principal, sum(len(t) for t in texts), max_tokens)
        guard_call = self.bus.request("guardrails", subjects.GUARD_CHECK, guard, _guard_codec)
        vault_call = self.bus.request("vault", subjects.VAULT_RESOLVE, resolve, _vault_codec)
        limited, verdict, target = await asyncio.gather(limit_call, guard_call, vault_call, return_exceptions=True)
        for outcome in (limited, verdict, target):
            if isinstance(outcome, Unavailable):
                raise errors.unavailable(outcome.service)
            if isinstance(outcome, BaseException):
                raise outcome
        if isinstance(verdict, Denied):
            raise errors.from_denial(verdict.code, verdict.reason)
        if isinstance(target, Denied):
            raise errors.from_denial(target.code, target.reason)
        assert isinstance(verdict, GuardVerdict)
        assert isinstance(target, Resolved)
        assert limited is None or isinstance(limited, Admission)
        call.provider = target.provider
        if target.model and target.model != call.model:
            await self._routed_as(call, principal, target.model, texts, max_tokens)
        return target, verdict, limited

    async def _routed_as(
        self, call: Call, principal: Principal, routed: str, texts: list[str], max_tokens: int | None
    ) -> None:
        """A project alias: the key must be allowed its target too, the request is metered under
        the target's name, and the USD hold — priced by the alias name — is topped up at the
        target's price (one more hop, only for aliases on keys with a USD limit)."""
        check_model(principal.limits, routed)
        call.alias, call.model = call.model, routed
        await self.top_up(call, principal, sum(len(t) for t in texts), max_tokens)

    async def check_output(self, call: Call, principal: Principal, texts: list[str]) -> GuardVerdict | Denied:
        """Guardrails on model output; raises ``Unavailable`` if guardrails cannot answer."""
        request = GuardCheck(
            request_id=call.request_id, tenant_id=principal.org_id, project_id=principal.project_id,
            key_id=principal.key_id, texts=texts, direction="output", sent_at=_now_ms(),
        )  # fmt: skip
        reply = await self.bus.request("guardrails", subjects.GUARD_CHECK, request, _guard_codec)
        assert isinstance(reply, (GuardVerdict, Denied))
        return reply

    async def models(self, call: Call, principal: Principal) -> list[ModelInfo]:
        """Every model the tenant's providers serve."""
        request = ListModels(request_id=call.request_id, tenant_id=principal.org_id,
                             project_id=principal.project_id, sent_at=_now_ms())  # fmt: skip
        try:
            reply = await self.bus.request("vault", subjects.VAULT_MODELS, request, _models_codec)
        except Unavailable as exc:
            raise errors.unavailable(exc.service) from None
        if isinstance(reply, Denied):
            raise errors.from_denial(reply.code, reply.reason)
        return list(getattr(reply, "models", []))

    def record(self, call: Call, status: int, usage: Usage | None) -> None:
        """Queue the request's usage event (if it got past auth) and its audit event."""
        principal = call.principal
        latency = int((time.perf_counter() - call.started) * 1000)
        if principal is not None and call.model:
            used = usage or Usage()
            self.events.usage(
                UsageEvent(
                    request_id=call.request_id, ts=_now_ms(), org_id=principal.org_id,
                    project_id=principal.project_id, key_id=principal.key_id, model=call.model,
                    provider=call.provider, status=status, prompt_tokens=used.prompt_tokens,
                    completion_tokens=used.completion_tokens, cached_tokens=used.cached_tokens,
                    estimated=used.estimated, latency_ms=latency, stream=call.stream,
                    lease_id=call.lease_id, held_micros=call.held_micros,
                )
            )  # fmt: skip
        self.events.audit(
            AuditEvent(
                event_id=f"evt_{secrets.token_hex(12)}", ts=_now_ms(),
                org_id=principal.org_id if principal else "",
                actor_type="api_key", actor_id=principal.key_id if principal else "unknown",
                action=call.action, resource=f"model:{call.model}" if call.model else "-",
                success=status < 400, request_id=call.request_id, ip=call.client_ip,
                user_agent=call.user_agent[:256], status=status,
                detail=_detail(call, latency),
            ),
            source="edge",
        )  # fmt: skip


def _detail(call: Call, latency_ms: int) -> dict[str, str]:
    if not call.provider:
        return {}
    detail = {"provider": call.provider, "latency_ms": str(latency_ms)}
    if call.alias:
        detail["alias"] = call.alias
    return detail
