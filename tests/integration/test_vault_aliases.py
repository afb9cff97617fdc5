"""Model aliases in the vault, on a real PostgreSQL as the vault's own role (RLS applies)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import asyncpg
import pytest

from libs.contracts.messages import (
    AliasList,
    DeleteAlias,
    Denied,
    ListAliases,
    ListModels,
    Resolve,
    Resolved,
    SetAlias,
)
from libs.crypto.keyring import generate_spec
from libs.db.pool import create_pool
from libs.stack import pg, seed
from services.vault.aliases import Aliases
from services.vault.keyring_watch import KeyringHolder
from services.vault.resolver import Resolver
from tests.helpers import service_dsn


@pytest.fixture
async def tenants(dsn: str) -> AsyncIterator[dict[str, dict[str, str]]]:
    conn = await asyncpg.connect(dsn)
    out: dict[str, dict[str, str]] = {}
    try:
        for name in ("a", "b"):
            org = await seed.create_org(conn, f"alias-{name}-{time.time_ns()}")
            project = await seed.create_project(conn, org, "p1")
            other = await seed.create_project(conn, org, "p2")
            await seed.add_openai_compatible(conn, org, "mock", "http://127.0.0.1:1/v1", (f"m-{name}", "shared"))
            out[name] = {"org": org, "project": project, "other": other}
        yield out
    finally:
        await conn.close()


@pytest.fixture
async def vault(cluster: pg.Cluster) -> AsyncIterator[tuple[Resolver, Aliases]]:
    pool = await create_pool(service_dsn(cluster, "vault"), max_size=2)
    resolver = Resolver(pool, KeyringHolder({"BASTION_MASTER_KEYS": generate_spec("mk1")}), cache_ttl_s=60)
    try:
        yield resolver, Aliases(pool, resolver)
    finally:
        await pool.close()


def _resolve(org: str, project: str, model: str) -> Resolve:
    return Resolve(request_id="r", tenant_id=org, project_id=project, model=model)


async def test_alias_resolves_to_its_target_for_its_project_only(
    vault: tuple[Resolver, Aliases], tenants: dict
) -> None:
    resolver, aliases = vault
    a, b = tenants["a"], tenants["b"]
    first = await aliases.set(SetAlias(request_id="r", org_id=a["org"], project_id=a["project"], alias="fast",
                                       target="m-a"))  # fmt: skip
    assert isinstance(first, AliasList)
    assert first.created
    assert [(x.alias, x.target, x.provider) for x in first.aliases] == [("fast", "m-a", "mock")]

    hit = await resolver.resolve(_resolve(a["org"], a["project"], "fast"))
    assert isinstance(hit, Resolved)
    assert hit.upstream_model == "m-a"
    # another project of the same tenant, and another tenant, do not see it
    assert isinstance(await resolver.resolve(_resolve(a["org"], a["other"], "fast")), Denied)
    assert isinstance(await resolver.resolve(_resolve(b["org"], b["project"], "fast")), Denied)

    # repointing is an update (not a new alias), applies at once on this replica; provider/model works
    again = await aliases.set(SetAlias(request_id="r", org_id=a["org"], project_id=a["project"], alias="fast",
                                       target="mock/anything"))  # fmt: skip
    assert isinstance(again, AliasList)
    assert not again.created
    hit = await resolver.resolve(_resolve(a["org"], a["project"], "fast"))
    assert isinstance(hit, Resolved)
    assert hit.upstream_model == "anything"

    models = await resolver.models(ListModels(request_id="r", tenant_id=a["org"], project_id=a["project"]))
    assert ("fast", "mock") in [(m.id, m.provider) for m in models.models]
    other = await resolver.models(ListModels(request_id="r", tenant_id=a["org"], project_id=a["other"]))
    assert "fast" not in [m.id for m in other.models]

    gone = await aliases.delete(DeleteAlias(request_id="r", org_id=a["org"], project_id=a["project"], alias="fast"))
    assert isinstance(gone, AliasList)
    assert isinstance(await resolver.resolve(_resolve(a["org"], a["project"], "fast")), Denied)
    again_gone = await aliases.delete(DeleteAlias(request_id="r", org_id=a["org"], project_id=a["project"],
                                                  alias="fast"))  # fmt: skip
    assert isinstance(again_gone, Denied)
    assert again_gone.code == "vault.not_found"


async def test_targets_must_route_and_are_not_followed_as_aliases(
    vault: tuple[Resolver, Aliases], tenants: dict
) -> None:
    resolver, aliases = vault
    a, b = tenants["a"], tenants["b"]
    org, project = a["org"], a["project"]
    # another tenant's model is not routable here (RLS), nor is an unknown provider
    for target in ("m-b", "nope/x", "mock/", "no-such-model"):
        refused = await aliases.set(SetAlias(request_id="r", org_id=org, project_id=project, alias="x", target=target))
        assert isinstance(refused, Denied), target
        assert refused.code == "bad_request"
    assert isinstance(await aliases.set(SetAlias(request_id="r", org_id=org, project_id=project, alias="one",
                                                 target="m-a")), AliasList)  # fmt: skip
    # "one" is an alias, not a model: it cannot be a target (no chains)
    chained = await aliases.set(SetAlias(request_id="r", org_id=org, project_id=project, alias="two", target="one"))
    assert isinstance(chained, Denied)
    # an alias shadows a model of the same name within its project only
    assert isinstance(await aliases.set(SetAlias(request_id="r", org_id=org, project_id=project, alias="shared",
                                                 target="m-a")), AliasList)  # fmt: skip
    shadowed = await resolver.resolve(_resolve(org, project, "shared"))
    assert isinstance(shadowed, Resolved)
    assert shadowed.upstream_model == "m-a"
    plain = await resolver.resolve(_resolve(org, a["other"], "shared"))
    assert isinstance(plain, Resolved)
    assert plain.upstream_model == "shared"
    # a tenant cannot list or delete another tenant's aliases by naming its project
    listing = await aliases.list(ListAliases(request_id="r", org_id=b["org"], project_id=project))
    assert listing.aliases == []
    assert isinstance(await aliases.delete(DeleteAlias(request_id="r", org_id=b["org"], project_id=project,
                                                       alias="one")), Denied)  # fmt: skip
    names = [x.alias for x in (await aliases.list(ListAliases(request_id="r", org_id=org, project_id=project))).aliases]
    assert names == ["one", "shared"]


@pytest.mark.parametrize(
    ("alias", "target"),
    [("", "m-a"), ("a b", "m-a"), ("a\tb", "m-a"), ("a\x00b", "m-a"), ("zero\u200bwidth", "m-a"),
     ("bidi\u202e", "m-a"), ("a/b", "m-a"), ("x" * 129, "m-a"), ("ok", "m a"), ("ok", "m-a\n"), ("ok", "")],
)  # fmt: skip
async def test_bad_names_are_refused(vault: tuple[Resolver, Aliases], tenants: dict, alias: str, target: str) -> None:
    _, aliases = vault
    a = tenants["a"]
    reply = await aliases.set(SetAlias(request_id="r", org_id=a["org"], project_id=a["project"], alias=alias,
                                       target=target))  # fmt: skip
    assert isinstance(reply, Denied)
    assert reply.code == "bad_request"


async def test_only_the_vault_role_touches_aliases(cluster: pg.Cluster) -> None:
    for service in ("api", "metering", "auth"):
        conn = await asyncpg.connect(service_dsn(cluster, service))
        try:
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetch("SELECT * FROM vault.aliases")
        finally:
            await conn.close()
