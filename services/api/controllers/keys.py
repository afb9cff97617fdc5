"""API keys: create (secret shown once), list (masked), get, update limits, rotate, revoke."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, get, patch, post

from libs.contracts import subjects
from libs.contracts.messages import Actor, AdminPrincipal, IssueKey, KeyLimits, RevokeKey, RotateKey, UpdateKey
from libs.db.pool import tenant_tx
from services.api import commands
from services.api.auditing import audited, client_ip
from services.api.deps import Admin, Db
from services.api.pagination import Limit, page
from services.api.problems import Problem
from services.api.schemas import KeyIn, KeyPatch, RotateIn, bad_cidrs
from services.api.security import require

_COLUMNS = (
    "id, project_id, name, masked, status, usage_limit_usd::float8 AS usage_limit_usd, rate_limit_rpm,"
    " allowed_models, allowed_ips, created_at, updated_at, expires_at, revoked_at, grace_until"
)


def actor(request: Request[Any, Any, Any], admin: AdminPrincipal) -> Actor:
    """The caller, for auth's records."""
    actor_type, actor_id = admin.actor
    return Actor(type=actor_type, id=actor_id, ip=client_ip(request),
                 user_agent=request.headers.get("user-agent", "")[:256])  # fmt: skip


def _ts(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def _check_cidrs(cidrs: list[str]) -> None:
    bad = bad_cidrs(cidrs)
    if bad:
        raise Problem(400, f"allowed_ips has entries that are not IPv4/IPv6 networks: {', '.join(bad[:5])}")


async def _load(db: Db, org_id: str, key_id: str) -> dict[str, Any]:
    async with tenant_tx(db, org_id) as conn:
        row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM auth.api_keys WHERE id = $1", key_id)  # noqa: S608
    if row is None:
        raise Problem(404, "No such API key.")
    return dict(row)


class KeyController(Controller):
    """``/v1/keys``."""

    path = "/v1/keys"
    tags = ["api keys"]

    @get("/", operation_id="listKeys")
    async def list_keys(
        self, admin: Admin, db: Db, limit: Limit = 50, cursor: str | None = None, project_id: str | None = None
    ) -> dict[str, Any]:
        """Keys of the organisation (masked)."""
        async with tenant_tx(db, admin.org_id) as conn:
            rows = await conn.fetch(
                f"SELECT {_COLUMNS} FROM auth.api_keys WHERE ($1::text IS NULL OR id > $1)"  # noqa: S608
                " AND ($2::text IS NULL OR project_id = $2) ORDER BY id LIMIT $3",
                cursor, project_id, limit + 1,
            )  # fmt: skip
        return page(rows, limit)

    @get("/{key_id:str}", operation_id="getKey")
    async def get_key(self, admin: Admin, db: Db, key_id: str) -> dict[str, Any]:
        """One key (masked)."""
        return await _load(db, admin.org_id, key_id)

    @post("/", operation_id="createKey", status_code=201)
    async def create_key(self, request: Request[Any, Any, Any], admin: Admin, data: KeyIn) -> dict[str, Any]:
        """Create a key. The full key is in this response only; store it now."""
        async with audited(request, admin, "api_key.created", f"project:{data.project_id}") as detail:
            require(admin, "developer", fresh=True)
            _check_cidrs(data.allowed_ips)
            limits = KeyLimits(usage_limit_usd=data.usage_limit_usd, rate_limit_rpm=data.rate_limit_rpm,
                               allowed_models=data.allowed_models, allowed_ips=data.allowed_ips)  # fmt: skip
            issued = await commands.issue(request, subjects.AUTH_KEY_ISSUE, IssueKey(
                request_id=commands.request_id(), org_id=admin.org_id, project_id=data.project_id, name=data.name,
                limits=limits, expires_at=_ts(data.expires_at), actor=actor(request, admin)))  # fmt: skip
            detail["resource"] = f"api_key:{issued.id}"
        return {"id": issued.id, "key": issued.secret, "masked": issued.masked, "project_id": data.project_id}

    @patch("/{key_id:str}", operation_id="updateKey")
    async def update_key(self, request: Request[Any, Any, Any], admin: Admin, db: Db, key_id: str,
                         data: KeyPatch) -> dict[str, Any]:  # fmt: skip
        """Change name, limits or expiry; takes effect on the next request."""
        async with audited(request, admin, "api_key.updated", f"api_key:{key_id}"):
            require(admin, "developer", fresh=True)
            current = await _load(db, admin.org_id, key_id)
            merged = {**current, **{k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}}
            _check_cidrs(merged["allowed_ips"])
            limits = KeyLimits(usage_limit_usd=merged["usage_limit_usd"], rate_limit_rpm=merged["rate_limit_rpm"],
                               allowed_models=merged["allowed_models"], allowed_ips=merged["allowed_ips"])  # fmt: skip
            await commands.change(request, subjects.AUTH_KEY_UPDATE, UpdateKey(
                request_id=commands.request_id(), org_id=admin.org_id, key_id=key_id, name=merged["name"],
                limits=limits, expires_at=_ts(merged["expires_at"]), actor=actor(request, admin)))  # fmt: skip
        return await _load(db, admin.org_id, key_id)

    @post("/{key_id:str}/rotate", operation_id="rotateKey", status_code=200)
    async def rotate_key(self, request: Request[Any, Any, Any], admin: Admin, key_id: str,
                         data: RotateIn | None = None) -> dict[str, Any]:  # fmt: skip
        """New secret; the old one is rejected as soon as this returns (unless a grace period is asked)."""
        grace = data.grace_seconds if data else 0
        async with audited(request, admin, "api_key.rotated", f"api_key:{key_id}") as detail:
            detail["grace_seconds"] = str(grace)
            require(admin, "developer", fresh=True)
            issued = await commands.issue(request, subjects.AUTH_KEY_ROTATE, RotateKey(
                request_id=commands.request_id(), org_id=admin.org_id, key_id=key_id, grace_s=grace,
                actor=actor(request, admin)))  # fmt: skip
        return {"id": issued.id, "key": issued.secret, "masked": issued.masked, "grace_seconds": grace}

    @post("/{key_id:str}/revoke", operation_id="revokeKey", status_code=200)
    async def revoke_key(self, request: Request[Any, Any, Any], admin: Admin, key_id: str) -> dict[str, Any]:
        """Revoke for good; rejected everywhere as soon as this returns."""
        async with audited(request, admin, "api_key.revoked", f"api_key:{key_id}"):
            require(admin, "developer", fresh=True)
            changed = await commands.change(request, subjects.AUTH_KEY_REVOKE, RevokeKey(
                request_id=commands.request_id(), org_id=admin.org_id, key_id=key_id, actor=actor(request, admin)))  # fmt: skip
        return {"id": changed.id, "status": changed.status}
