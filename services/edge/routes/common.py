"""Helpers shared by the data-plane routes."""

from __future__ import annotations

from typing import Any

from litestar import Request

from libs.crypto import apikeys
from services.edge.access import check_ip, presented_key
from services.edge.errors import ApiError
from services.edge.gateway import Call, Gateway


def gateway(request: Request[Any, Any, Any]) -> Gateway:
    """This worker's gateway."""
    gw: Gateway = request.app.state.gateway
    return gw


def start_call(request: Request[Any, Any, Any], action: str) -> Call:
    """A :class:`Call` for this HTTP request."""
    return Call(
        request_id=request.scope["state"]["request_id"],
        correlation_id=request.scope["state"].get("correlation_id", ""),
        client_ip=request.client.host if request.client else "",  # resolved by libs.svc.clientaddr
        user_agent=request.headers.get("user-agent", ""),
        action=action,
    )


async def authenticate(request: Request[Any, Any, Any], call: Call) -> Any:
    """Key from the headers → auth over the bus → IP allow-list."""
    try:
        key = presented_key(request.headers)
    except ApiError:
        has_any = request.headers.get("authorization") or request.headers.get("x-api-key")
        call.auth_failure = "auth.key_malformed" if has_any else "auth.key_missing"
        raise
    call.key_prefix = apikeys.prefix_hint(key)
    principal = await gateway(request).authenticate(call, key)
    check_ip(principal.limits, call.client_ip)
    return principal
