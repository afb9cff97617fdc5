"""The organisation, its projects and its members."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import asyncpg
import msgspec
from litestar import Controller, Request, delete, get, patch, post

from libs.db.ids import new_id
from libs.db.pool import tenant_tx
from services.api.auditing import audited
from services.api.deps import Admin, Db
from services.api.pagination import Limit, page
from services.api.problems import Problem
from services.api.schemas import MemberIn, MemberPatch, OrgPatch, ProjectIn
from services.api.security import may_act_on, may_grant, require


class OrgController(Controller):
    """``/v1/org``: the caller's organisation."""

    path = "/v1/org"
    tags = ["organisation"]

    @get("/", operation_id="getOrg")
    async def get_org(self, admin: Admin, db: Db) -> dict[str, Any]:
        """The organisation and the caller's role."""
        async with tenant_tx(db, admin.org_id) as conn:
            row = await conn.fetchrow(
                "SELECT id, name, plan, created_at, CASE plan WHEN 'pro' THEN 90 WHEN 'enterprise'"
                " THEN coalesce(audit_retention_days, 365) ELSE 30 END AS audit_retention_days FROM auth.orgs"
            )
        if row is None:
            raise Problem(404, "No such organisation.")
        return {**dict(row), "role": admin.role, "token_id": admin.token_id}

    @patch("/", operation_id="updateOrg")
    async def update_org(self, request: Request[Any, Any, Any], admin: Admin, db: Db, data: OrgPatch) -> dict[str, Any]:
        """Rename the organisation, set an enterprise organisation's audit retention (owner)."""
        async with audited(request, admin, "org.updated", f"org:{admin.org_id}") as detail:
            require(admin, "owner")
            async with tenant_tx(db, admin.org_id) as conn:
                if data.name is not msgspec.UNSET:
                    await conn.execute("UPDATE auth.orgs SET name = $1", data.name)
                if data.audit_retention_days is not msgspec.UNSET:
                    detail["audit_retention_days"] = str(data.audit_retention_days)
                    if await conn.fetchval("SELECT plan FROM auth.orgs") != "enterprise":
                        raise Problem(400, "Only an enterprise organisation chooses its audit retention.")
                    await conn.execute("UPDATE auth.orgs SET audit_retention_days = $1", data.audit_retention_days)
        return await self.get_org.fn(self, admin, db)  # type: ignore[no-any-return]


class ProjectController(Controller):
    """``/v1/projects``."""

    path = "/v1/projects"
    tags = ["projects"]

    @get("/", operation_id="listProjects")
    async def list_projects(self, admin: Admin, db: Db, limit: Limit = 50, cursor: str | None = None) -> dict[str, Any]:
        """Projects of the organisation."""
        async with tenant_tx(db, admin.org_id) as conn:
            rows = await conn.fetch(
                "SELECT id, name, created_at FROM auth.projects WHERE ($1::text IS NULL OR id > $1) ORDER BY id LIMIT $2",
                cursor, limit + 1,
            )  # fmt: skip
        return page(rows, limit)

    @get("/{project_id:str}", operation_id="getProject")
    async def get_project(self, admin: Admin, db: Db, project_id: str) -> dict[str, Any]:
        """One project."""
        async with tenant_tx(db, admin.org_id) as conn:
            row = await conn.fetchrow("SELECT id, name, created_at FROM auth.projects WHERE id = $1", project_id)
        if row is None:
            raise Problem(404, "No such project.")
        return dict(row)

    @post("/", operation_id="createProject", status_code=201)
    async def create_project(self, request: Request[Any, Any, Any], admin: Admin, db: Db,
                             data: ProjectIn) -> dict[str, Any]:  # fmt: skip
        """A new project."""
        project_id = new_id("prj")
        async with audited(request, admin, "project.created", f"project:{project_id}"):
            require(admin, "admin")
            try:
                async with tenant_tx(db, admin.org_id) as conn:
                    row = await conn.fetchrow(
                        "INSERT INTO auth.projects (id, org_id, name) VALUES ($1, $2, $3) RETURNING id, name, created_at",
                        project_id, admin.org_id, data.name,
                    )  # fmt: skip
            except asyncpg.UniqueViolationError:
                raise Problem(409, f"A project named {data.name!r} already exists.") from None
        return dict(row)

    @patch("/{project_id:str}", operation_id="updateProject")
    async def update_project(self, request: Request[Any, Any, Any], admin: Admin, db: Db, project_id: str,
                             data: ProjectIn) -> dict[str, Any]:  # fmt: skip
        """Rename a project."""
        async with audited(request, admin, "project.updated", f"project:{project_id}"):
            require(admin, "admin")
            async with tenant_tx(db, admin.org_id) as conn:
                row = await conn.fetchrow(
                    "UPDATE auth.projects SET name = $2 WHERE id = $1 RETURNING id, name, created_at",
                    project_id, data.name,
                )  # fmt: skip
            if row is None:
                raise Problem(404, "No such project.")
        return dict(row)


class MemberController(Controller):
    """``/v1/members``: users and their roles in the organisation."""

    path = "/v1/members"
    tags = ["members"]

    @get("/", operation_id="listMembers")
    async def list_members(self, admin: Admin, db: Db, limit: Limit = 50, cursor: str | None = None) -> dict[str, Any]:
        """Members of the organisation."""
        async with tenant_tx(db, admin.org_id) as conn:
            rows = await conn.fetch(
                "SELECT u.id, u.email, u.name, m.role, m.created_at FROM auth.memberships m"
                " JOIN auth.users u ON u.id = m.user_id WHERE ($1::text IS NULL OR u.id > $1) ORDER BY u.id LIMIT $2",
                cursor, limit + 1,
            )  # fmt: skip
        return page(rows, limit)

    @post("/", operation_id="addMember", status_code=201)
    async def add_member(self, request: Request[Any, Any, Any], admin: Admin, db: Db, data: MemberIn) -> dict[str, Any]:
        """Add a user (created if new) with a role (login comes with the sessions issue)."""
        async with audited(request, admin, "membership.created", f"user:{data.email}") as detail:
            require(admin, "admin")
            may_grant(admin, data.role)
            async with tenant_tx(db, admin.org_id) as conn:
                user_id = await conn.fetchval(
                    "SELECT auth.ensure_user($1, $2, $3)", new_id("usr"), data.email, data.name
                )
                try:
                    await conn.execute("INSERT INTO auth.memberships (org_id, user_id, role) VALUES ($1, $2, $3)",
                                       admin.org_id, user_id, data.role)  # fmt: skip
                except asyncpg.UniqueViolationError:
                    raise Problem(409, "That user is already a member.") from None
            detail["resource"] = f"user:{user_id}"
        return {"id": user_id, "email": data.email.lower(), "role": data.role}

    @patch("/{user_id:str}", operation_id="updateMember")
    async def update_member(self, request: Request[Any, Any, Any], admin: Admin, db: Db, user_id: str,
                            data: MemberPatch) -> dict[str, Any]:  # fmt: skip
        """Change a member's role (both the old and the new role at or below the caller's)."""
        async with audited(request, admin, "membership.updated", f"user:{user_id}"):
            require(admin, "admin")
            may_grant(admin, data.role)
            with last_owner_kept():
                async with tenant_tx(db, admin.org_id) as conn:
                    may_act_on(admin, await _role_of(conn, user_id))
                    await conn.execute("UPDATE auth.memberships SET role = $2 WHERE user_id = $1", user_id, data.role)
        return {"id": user_id, "role": data.role}

    @delete("/{user_id:str}", operation_id="removeMember", status_code=204)
    async def remove_member(self, request: Request[Any, Any, Any], admin: Admin, db: Db, user_id: str) -> None:
        """Remove a member (whose role is at or below the caller's) from the organisation."""
        async with audited(request, admin, "membership.deleted", f"user:{user_id}"):
            require(admin, "admin")
            with last_owner_kept():
                async with tenant_tx(db, admin.org_id) as conn:
                    may_act_on(admin, await _role_of(conn, user_id))
                    await conn.execute("DELETE FROM auth.memberships WHERE user_id = $1", user_id)


async def _role_of(conn: asyncpg.Connection, user_id: str) -> str:
    """The member's role, locked for this transaction (404 if not a member)."""
    role = await conn.fetchval("SELECT role FROM auth.memberships WHERE user_id = $1 FOR UPDATE", user_id)
    if role is None:
        raise Problem(404, "No such member.")
    return str(role)


@contextmanager
def last_owner_kept() -> Iterator[None]:
    """409 when the database refuses to lose an organisation's last owner."""
    try:
        yield
    except asyncpg.CheckViolationError as exc:
        if exc.constraint_name != "last_owner":
            raise
        raise Problem(409, "This is the last owner of the organisation; make another member an owner first.") from None
