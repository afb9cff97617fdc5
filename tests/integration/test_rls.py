"""Row-level security with the real service roles: unscoped SQL still sees one tenant only."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import asyncpg
import pytest

from libs.db.pool import tenant_tx
from libs.stack import pg, seed
from tests.helpers import service_dsn

PEPPER = b"p" * 32


@pytest.fixture
async def tenants(dsn: str) -> AsyncIterator[dict[str, dict[str, str]]]:
    conn = await asyncpg.connect(dsn)
    out: dict[str, dict[str, str]] = {}
    try:
        for name in ("a", "b"):
            org = await seed.create_org(conn, f"rls-{name}-{time.time_ns()}")
            project = await seed.create_project(conn, org, f"p-{name}")
            key = await seed.create_api_key(conn, PEPPER, org, project, "k")
            await seed.add_openai_compatible(conn, org, "mock", "http://127.0.0.1:1/v1", (f"m-{name}",))
            await conn.execute(
                "INSERT INTO metering.usage_events (request_id, ts, org_id, project_id, key_id, model, provider, status)"
                " VALUES ($1, now(), $2, $3, 'k', 'm', 'mock', 200)", f"rls-{org}", org, project,
            )  # fmt: skip
            out[name] = {"org": org, "project": project, "key": key}
        yield out
    finally:
        await conn.close()


async def test_unscoped_queries_return_only_the_current_tenant(cluster: pg.Cluster, tenants: dict) -> None:
    a, b = tenants["a"], tenants["b"]
    api = await asyncpg.create_pool(service_dsn(cluster, "api"), min_size=1, max_size=2)
    try:
        async with tenant_tx(api, a["org"]) as conn:
            # Deliberately no tenant filter in the SQL.
            projects = {r["org_id"] for r in await conn.fetch("SELECT org_id FROM auth.projects")}
            keys = {r["org_id"] for r in await conn.fetch("SELECT org_id FROM auth.api_keys")}
            usage = {r["org_id"] for r in await conn.fetch("SELECT org_id FROM metering.usage_events")}
            providers = {r["org_id"] for r in await conn.fetch("SELECT org_id FROM vault.providers")}
            orgs = {r["id"] for r in await conn.fetch("SELECT id FROM auth.orgs")}
        assert projects == keys == usage == providers == orgs == {a["org"]}
        # No tenant set: deny by default.
        async with api.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM auth.projects") == 0
            assert await conn.fetchval("SELECT count(*) FROM metering.usage_events") == 0
        # Writing into another tenant is refused, not silently redirected.
        async with tenant_tx(api, a["org"]) as conn:
            assert await conn.execute("UPDATE auth.projects SET name = 'x' WHERE id = $1", b["project"]) == "UPDATE 0"
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with tenant_tx(api, a["org"]) as conn:
                await conn.execute("INSERT INTO auth.projects (id, org_id, name) VALUES ('prjevil', $1, 'x')", b["org"])
        # The management API never sees credential hashes or lookup digests.
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with tenant_tx(api, a["org"]) as conn:
                await conn.fetch("SELECT hash FROM auth.api_keys")
    finally:
        await api.close()


async def test_auth_finds_keys_by_digest_only(cluster: pg.Cluster, tenants: dict) -> None:
    from libs.crypto import apikeys

    auth = await asyncpg.connect(service_dsn(cluster, "auth"))
    try:
        assert await auth.fetchval("SELECT count(*) FROM auth.api_keys") == 0  # cannot enumerate
        row = await auth.fetchrow("SELECT * FROM auth.find_key($1)", apikeys.lookup_digest(PEPPER, tenants["b"]["key"]))
        assert row is not None
        assert row["org_id"] == tenants["b"]["org"]
        assert await auth.fetchrow("SELECT * FROM auth.find_key($1)", "0" * 64) is None
    finally:
        await auth.close()


async def test_services_are_confined_to_their_schemas(cluster: pg.Cluster) -> None:
    metering = await asyncpg.connect(service_dsn(cluster, "metering"))
    vault = await asyncpg.connect(service_dsn(cluster, "vault"))
    try:
        for conn, table in ((metering, "auth.api_keys"), (metering, "vault.provider_keys"), (vault, "auth.api_keys"),
                            (vault, "audit.events")):  # fmt: skip
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetch(f"SELECT * FROM {table}")
        is_super = await metering.fetchval("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert is_super is False
    finally:
        await metering.close()
        await vault.close()
