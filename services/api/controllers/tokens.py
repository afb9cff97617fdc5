"""Management tokens: create (secret shown once), list (masked), revoke."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post

from libs.contracts import subjects
from libs.contracts.messages import IssueToken, RevokeToken
from libs.db.pool import tenant_tx
from services.api import commands
from services.api.auditing import audited
from services.api.controllers.keys import _ts, actor
from services.api.deps import Admin, Db
from services.api.pagination import Limit, page
from services.api.schemas import TokenIn
from services.api.security import may_grant, require

_COLUMNS = "id, name, role, masked, status, created_at, expires_at, revoked_at"


class TokenController(Controller):
    """``/v1/tokens``."""

    path = "/v1/tokens"
    tags = ["management tokens"]

    @get("/", operation_id="listTokens")
    async def list_tokens(self, admin: Admin, db: Db, limit: Limit = 50, cursor: str | None = None) -> dict[str, Any]:
        """Tokens of the organisation (masked)."""
        require(admin, "admin")
        async with tenant_tx(db, admin.org_id) as conn:
            rows = await conn.fetch(
                f"SELECT {_COLUMNS} FROM auth.admin_tokens WHERE ($1::text IS NULL OR id > $1) ORDER BY id LIMIT $2",  # noqa: S608
                cursor, limit + 1,
            )  # fmt: skip
        return page(rows, limit)

    @post("/", operation_id="createToken", status_code=201)
    async def create_token(self, request: Request[Any, Any, Any], admin: Admin, data: TokenIn) -> dict[str, Any]:
        """A token bearing ``role`` (never above the caller's own role)."""
        async with audited(request, admin, "admin_token.created", "admin_token:new") as detail:
            require(admin, "admin")
            may_grant(admin, data.role)
            issued = await commands.issue(request, subjects.AUTH_TOKEN_ISSUE, IssueToken(
                request_id=commands.request_id(), org_id=admin.org_id, role=data.role, name=data.name,
                expires_at=_ts(data.expires_at), actor=actor(request, admin)))  # fmt: skip
            detail["resource"] = f"admin_token:{issued.id}"
        return {"id": issued.id, "token": issued.secret, "masked": issued.masked, "role": data.role}

    @post("/{token_id:str}/revoke", operation_id="revokeToken", status_code=200)
    async def revoke_token(self, request: Request[Any, Any, Any], admin: Admin, token_id: str) -> dict[str, Any]:
        """Revoke a token."""
        async with audited(request, admin, "admin_token.revoked", f"admin_token:{token_id}"):
            require(admin, "admin")
            changed = await commands.change(request, subjects.AUTH_TOKEN_REVOKE, RevokeToken(
                request_id=commands.request_id(), org_id=admin.org_id, token_id=token_id,
                actor=actor(request, admin), max_role=admin.role))  # fmt: skip
        return {"id": changed.id, "status": changed.status}
