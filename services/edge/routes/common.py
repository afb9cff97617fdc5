"""Helpers shared by the data-plane routes."""

from __future__ import annotations

from typing import Any

from litestar import Request

from libs.contracts.messages import Principal
from libs.crypto import apikeys
from libs.telemetry import spans
from services.edge.access import presented_key
from services.edge.ahead import PendingAuth
from services.edge.errors import ApiError
from services.edge.gateway import Call, Gateway


def gateway(request: Request[Any, Any, Any]) -> Gateway:
    """This worker's gateway."""
    gw: Gateway = request.app.state.gateway
    return gw


def start_call(request: Request[Any, Any, Any], action: str) -> Call:
    """A :class:`Call` for this HTTP request, with its server span: the parent of every bus
    request and event it causes (a new trace: a client's ``traceparent`` is not trusted)."""
    span = spans.recorder().server_span(f"edge {action}", None)
    spans.set_current(span)
    return Call(
        request_id=request.scope["state"]["request_id"],
        correlation_id=request.scope["state"].get("correlation_id", ""),
        client_ip=request.client.host if request.client else "",  # resolved by libs.svc.clientaddr
        user_agent=request.headers.get("user-agent", ""),
        action=action,
        span=span,
    )


def begin_auth(request: Request[Any, Any, Any], call: Call) -> PendingAuth:
    """Key from the headers (401 at once if missing or malformed) → auth over the bus and the
    key's IP allow-list, started now and awaited by the checks (:meth:`Gateway.prepare`)."""
    try:
        key = presented_key(request.headers)
    except ApiError:
        has_any = request.headers.get("authorization") or request.headers.get("x-api-key")
        call.auth_failure = "auth.key_malformed" if has_any else "auth.key_missing"
        raise
    call.key_prefix = apikeys.prefix_hint(key)
    return gateway(request).begin_auth(call, key)


async def begin_checked(request: Request[Any, Any, Any], call: Call) -> PendingAuth:
    """:func:`begin_auth`; for a key this process has not seen verified, wait for auth before
    anything else (its body is read, and its checks are sent, only once auth admitted it)."""
    auth = begin_auth(request, call)
    if auth.hint is None:
        await auth.principal()
    return auth


async def authenticate(request: Request[Any, Any, Any], call: Call) -> Principal:
    """Key from the headers → auth over the bus → IP allow-list, awaited."""
    return await begin_auth(request, call).principal()
