"""Per-project model aliases (``fast`` → ``mock-gpt-4o-mini``), kept by the vault, which resolves them."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, put

from libs.contracts import subjects
from libs.contracts.codec import Codec
from libs.contracts.messages import AliasList, AliasReply, DeleteAlias, ListAliases, SetAlias
from libs.db.pool import tenant_tx
from services.api import vault
from services.api.auditing import audited
from services.api.commands import request_id
from services.api.deps import Admin, Db
from services.api.problems import Problem
from services.api.schemas import Body
from services.api.security import require

_reply: Codec[AliasReply] = Codec(AliasReply)


class AliasIn(Body):
    """Where the alias points: a model of a provider, or ``provider/model`` (checked by the vault)."""

    target: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


async def _own_project(db: Db, org_id: str, project_id: str) -> None:
    """404 unless the project is the caller's (row-level security hides other tenants' projects)."""
    async with tenant_tx(db, org_id) as conn:
        if not await conn.fetchval("SELECT 1 FROM auth.projects WHERE id = $1", project_id):
            raise Problem(404, "No such project.")


class AliasController(Controller):
    """``/v1/projects/{project_id}/aliases``."""

    path = "/v1/projects/{project_id:str}/aliases"
    tags = ["model aliases"]

    @get("/", operation_id="listAliases")
    async def list_aliases(self, request: Request[Any, Any, Any], admin: Admin, db: Db,
                           project_id: str) -> dict[str, Any]:  # fmt: skip
        """The project's aliases, with the provider each target routes to now ("" if it no longer routes)."""
        await _own_project(db, admin.org_id, project_id)
        listing = await vault.ask(request, subjects.VAULT_ALIAS_LIST, ListAliases(
            request_id=request_id(), org_id=admin.org_id, project_id=project_id), AliasList, _reply)  # fmt: skip
        return {"data": [msgspec.structs.asdict(a) for a in listing.aliases]}

    @put("/{alias:str}", operation_id="setAlias", status_code=200)
    async def set_alias(self, request: Request[Any, Any, Any], admin: Admin, db: Db, project_id: str, alias: str,
                        data: AliasIn) -> Response[dict[str, Any]]:  # fmt: skip
        """Create (201) or repoint (200) an alias; other vault replicas follow within the route-cache TTL."""
        async with audited(request, admin, "model_alias.set", f"model_alias:{project_id}/{alias}") as detail:
            detail["target"] = data.target
            require(admin, "admin")
            await _own_project(db, admin.org_id, project_id)
            listing = await vault.ask(request, subjects.VAULT_ALIAS_SET, SetAlias(
                request_id=request_id(), org_id=admin.org_id, project_id=project_id, alias=alias,
                target=data.target), AliasList, _reply)  # fmt: skip
            detail["created"] = str(listing.created).lower()
        return Response(msgspec.structs.asdict(listing.aliases[0]), status_code=201 if listing.created else 200)

    @delete("/{alias:str}", operation_id="deleteAlias", status_code=204)
    async def delete_alias(self, request: Request[Any, Any, Any], admin: Admin, db: Db, project_id: str,
                           alias: str) -> None:  # fmt: skip
        """Remove an alias (404 if there is none)."""
        async with audited(request, admin, "model_alias.deleted", f"model_alias:{project_id}/{alias}"):
            require(admin, "admin")
            await _own_project(db, admin.org_id, project_id)
            await vault.ask(request, subjects.VAULT_ALIAS_DELETE, DeleteAlias(
                request_id=request_id(), org_id=admin.org_id, project_id=project_id, alias=alias), AliasList, _reply)  # fmt: skip
