"""Audit events for management actions, successful or refused."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Request

from libs.contracts.messages import AdminPrincipal, AuditEvent
from libs.contracts.normalise import split_resource
from libs.svc.events import EventPublisher
from services.api.problems import Problem


def client_ip(request: Request[Any, Any, Any]) -> str:
    """The client address (the socket peer unless a configured trusted proxy named another;
    resolved once, by :mod:`libs.svc.clientaddr`)."""
    return request.client.host if request.client else ""


def record(
    request: Request[Any, Any, Any], admin: AdminPrincipal | None, action: str, resource: str, *,
    success: bool, status: int, detail: dict[str, Any] | None = None,
) -> None:  # fmt: skip
    """Queue one audit event for a management action; ``resource`` is ``"type:id"``."""
    events: EventPublisher = request.app.state.events
    state = request.scope.get("state", {})
    metadata: dict[str, Any] = {**(detail or {}), "status": status}
    actor_type, actor_id = admin.actor if admin else ("management_token", "unknown")
    if state.get("correlation_id"):
        metadata["correlation_id"] = state["correlation_id"]
    resource_type, resource_id = split_resource(resource)
    events.audit(
        AuditEvent(
            event_id=f"evt_{secrets.token_hex(12)}", ts=int(time.time() * 1000),
            org_id=admin.org_id if admin else "", actor_type=actor_type,
            actor_id=actor_id, action=action, resource_type=resource_type,
            resource_id=resource_id, success=success, request_id=state.get("request_id", ""), ip=client_ip(request),
            user_agent=request.headers.get("user-agent", "")[:256], metadata=metadata,
        ),
        source="api",
    )  # fmt: skip


@asynccontextmanager
async def audited(
    request: Request[Any, Any, Any], admin: AdminPrincipal, action: str, resource: str
) -> AsyncIterator[dict[str, str]]:
    """Record ``action`` once: success when the block completes, failure (with status) if it raises.

    The yielded dict lets the block add details or a resource id it only learns inside.
    """
    detail: dict[str, str] = {}
    try:
        yield detail
    except Problem as exc:
        record(request, admin, action, detail.pop("resource", resource), success=False, status=exc.status,
               detail=detail)  # fmt: skip
        raise
    except Exception:
        record(request, admin, action, detail.pop("resource", resource), success=False, status=500, detail=detail)
        raise
    record(request, admin, action, detail.pop("resource", resource), success=True, status=200, detail=detail)
