"""Per-project model aliases: set, list, delete (commands from the management API only — the bus
permissions refuse them from anyone else; the API has checked that the project is the caller's).

An alias names a target that must route when it is set (an exact model of a provider, or
``provider/model``); resolving follows one level only. A change drops this replica's cached
routes of the tenant at once; other replicas pick it up when their cached entries expire
(``BASTION_ROUTE_CACHE_TTL_S``, 5 s), exactly as for provider changes.
"""

from __future__ import annotations

import unicodedata

import asyncpg

from libs.contracts.errors import Code
from libs.contracts.messages import AliasInfo, AliasList, DeleteAlias, Denied, ListAliases, SetAlias
from libs.db.pool import tenant_tx
from services.vault import store
from services.vault.resolver import Resolver

MAX_ALIAS_CHARS = 128
MAX_TARGET_CHARS = 256
MAX_PER_PROJECT = 500
NOT_FOUND = "vault.not_found"


def name_problem(value: str, what: str, max_chars: int, *, slash_ok: bool) -> str | None:
    """Why ``value`` is not an acceptable alias or target name, or None.

    Whitespace, control, format (zero-width, bidi overrides), surrogate, private-use and
    unassigned characters are refused: a name must read the same everywhere it is shown.
    """
    if not 1 <= len(value) <= max_chars:
        return f"{what} must be 1 to {max_chars} characters long."
    for char in value:
        if char.isspace() or unicodedata.category(char)[0] in "CZ":
            return f"{what} must not contain whitespace or control characters."
        if char == "/" and not slash_ok:
            return f"{what} must not contain '/' (reserved for provider/model names)."
    return None


def _info(row: asyncpg.Record) -> AliasInfo:
    return AliasInfo(alias=row["alias"], target=row["target"], provider=row["provider"], created=row["created"])


class Aliases:
    """Alias commands for one vault replica."""

    def __init__(self, pool: asyncpg.Pool, resolver: Resolver) -> None:
        self._pool = pool
        self._resolver = resolver

    async def set(self, cmd: SetAlias) -> AliasList | Denied:
        """Create the alias, or point it at a new target."""
        problem = name_problem(cmd.alias, "alias", MAX_ALIAS_CHARS, slash_ok=False) or name_problem(
            cmd.target, "target", MAX_TARGET_CHARS, slash_ok=True
        )
        if problem:
            return Denied(code=Code.BAD_REQUEST, reason=problem)
        async with tenant_tx(self._pool, cmd.org_id) as conn:
            if await store.route_in(conn, cmd.org_id, cmd.target) is None:
                return Denied(
                    code=Code.BAD_REQUEST,
                    reason=f"The target `{cmd.target}` is not a model (or provider/model) of this organisation.",
                )
            others = await conn.fetchval(
                "SELECT count(*) FROM vault.aliases WHERE org_id = $1 AND project_id = $2 AND alias <> $3",
                cmd.org_id, cmd.project_id, cmd.alias,
            )  # fmt: skip
            if others >= MAX_PER_PROJECT:
                return Denied(code=Code.BAD_REQUEST, reason=f"A project may have at most {MAX_PER_PROJECT} aliases.")
            # xmax is 0 only on a row this statement inserted (not on one it updated).
            created = await conn.fetchval(
                "INSERT INTO vault.aliases (org_id, project_id, alias, target) VALUES ($1, $2, $3, $4)"
                " ON CONFLICT (org_id, project_id, alias) DO UPDATE SET target = excluded.target"
                " RETURNING xmax = 0",
                cmd.org_id, cmd.project_id, cmd.alias, cmd.target,
            )  # fmt: skip
            rows = await store.aliases_in(conn, cmd.org_id, cmd.project_id, cmd.alias)
        await self._resolver.changed(cmd.org_id)
        return AliasList(aliases=[_info(r) for r in rows], created=bool(created))

    async def list(self, cmd: ListAliases) -> AliasList:
        """Every alias of the project, with the provider each target routes to now."""
        async with tenant_tx(self._pool, cmd.org_id) as conn:
            rows = await store.aliases_in(conn, cmd.org_id, cmd.project_id)
        return AliasList(aliases=[_info(r) for r in rows])

    async def delete(self, cmd: DeleteAlias) -> AliasList | Denied:
        """Remove an alias; requests for it get ``model_not_found`` (or the model of that name)."""
        async with tenant_tx(self._pool, cmd.org_id) as conn:
            done = await conn.execute(
                "DELETE FROM vault.aliases WHERE org_id = $1 AND project_id = $2 AND alias = $3",
                cmd.org_id, cmd.project_id, cmd.alias,
            )  # fmt: skip
        if not done.endswith(" 1"):
            return Denied(code=NOT_FOUND, reason="No such alias in this project.")
        await self._resolver.changed(cmd.org_id)
        return AliasList(aliases=[])
