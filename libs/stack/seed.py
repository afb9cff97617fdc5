"""Demo data on first start: an organisation, a project, an API key, a management token and the
built-in mock provider with its models. The key and token are shown once and written to
``var/demo.env``; the database keeps only their hashes."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from libs.crypto import apikeys
from libs.db.ids import new_id
from libs.mockllm.app import MODELS as MOCK_MODELS
from libs.stack.config import DEMO_SUBJECT, StackConfig, read_env


@dataclass(frozen=True)
class Demo:
    """What the stack prints once seeded."""

    api_key: str
    admin_token: str
    org_id: str
    project_id: str

    def __repr__(self) -> str:
        return f"Demo(org_id={self.org_id!r}, project_id={self.project_id!r})"


async def create_org(conn: asyncpg.Connection, name: str, plan: str = "free") -> str:
    """Insert an organisation."""
    org_id = new_id("org")
    await conn.execute("INSERT INTO auth.orgs (id, name, plan) VALUES ($1, $2, $3)", org_id, name, plan)
    return org_id


async def create_project(conn: asyncpg.Connection, org_id: str, name: str) -> str:
    """Insert a project."""
    project_id = new_id("prj")
    await conn.execute("INSERT INTO auth.projects (id, org_id, name) VALUES ($1, $2, $3)", project_id, org_id, name)
    return project_id


async def create_api_key(conn: asyncpg.Connection, pepper: bytes, org_id: str, project_id: str, name: str) -> str:
    """Insert a key (hash, digest, mask only) and return the full key, once."""
    key = apikeys.generate(project_id)
    await conn.execute(
        "INSERT INTO auth.api_keys (id, org_id, project_id, name, lookup, hash, masked)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        new_id("key"), org_id, project_id, name, apikeys.lookup_digest(pepper, key),
        apikeys.KeyHasher().hash(key), apikeys.mask(key),
    )  # fmt: skip
    return key


async def create_admin_token(conn: asyncpg.Connection, pepper: bytes, org_id: str, role: str, name: str) -> str:
    """Insert a management token and return it, once."""
    token = apikeys.generate_admin_token()
    await conn.execute(
        "INSERT INTO auth.admin_tokens (id, org_id, name, role, lookup, hash, masked)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        new_id("tok"), org_id, name, role, apikeys.lookup_digest(pepper, token),
        apikeys.KeyHasher().hash(token), apikeys.mask(token),
    )  # fmt: skip
    return token


async def add_openai_compatible(
    conn: asyncpg.Connection, org_id: str, name: str, base_url: str, models: tuple[str, ...]
) -> str:
    """A provider without a key (the mock) and its models."""
    provider_id = new_id("prv")
    await conn.execute(
        "INSERT INTO vault.providers (id, org_id, name, adapter, base_url) VALUES ($1, $2, $3, 'openai_compatible', $4)",
        provider_id, org_id, name, base_url,
    )  # fmt: skip
    for model in models:
        await conn.execute(
            "INSERT INTO vault.models (org_id, name, provider_id, upstream_model) VALUES ($1, $2, $3, $2)",
            org_id, model, provider_id,
        )  # fmt: skip
    return provider_id


async def add_demo_owner(conn: asyncpg.Connection, org_id: str) -> str:
    """The demo organisation's owner, a person whose GitHub (local) and Google (local) identities
    at the mock identity provider are linked to them (signing in lands them here)."""
    user_id = new_id("usr")
    await conn.execute("INSERT INTO auth.users (id, email, name) VALUES ($1, $2, 'Demo owner')",
                       user_id, f"demo+{user_id}@bastion.local")  # fmt: skip
    await conn.execute("INSERT INTO auth.memberships (org_id, user_id, role) VALUES ($1, $2, 'owner')", org_id, user_id)
    await conn.executemany("INSERT INTO auth.identities (provider, subject, user_id, email) VALUES ($1, $2, $3, $4)"
                           " ON CONFLICT DO NOTHING",
                           [(p, DEMO_SUBJECT, user_id, "demo@bastion.local") for p in ("github-enterprise", "google")])  # fmt: skip
    return user_id


def decode_pepper(pepper_b64: str) -> bytes:
    """The pepper's bytes from its base64url text."""
    return base64.urlsafe_b64decode(pepper_b64 + "=" * (-len(pepper_b64) % 4))


async def seed(dsn: str, pepper_b64: str, config: StackConfig) -> Demo:
    """Create the demo tenant in one transaction."""
    pepper = decode_pepper(pepper_b64)
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            org_id = await create_org(conn, "Demo Org", plan="pro")
            project_id = await create_project(conn, org_id, "demo")
            api_key = await create_api_key(conn, pepper, org_id, project_id, "demo key")
            admin = await create_admin_token(conn, pepper, org_id, "owner", "demo owner token")
            await add_openai_compatible(conn, org_id, "mock", config.mock_url, MOCK_MODELS)
            await add_demo_owner(conn, org_id)
    finally:
        await conn.close()
    return Demo(api_key=api_key, admin_token=admin, org_id=org_id, project_id=project_id)


def write_env(path: Path, config: StackConfig, demo: Demo) -> None:
    """``var/demo.env`` (mode 0600)."""
    path.write_text(
        f"BASTION_BASE_URL={config.edge_url}/v1\n"
        f"BASTION_API_KEY={demo.api_key}\n"
        f"BASTION_ADMIN_URL={config.api_url}\n"
        f"BASTION_ADMIN_TOKEN={demo.admin_token}\n"
        f"BASTION_DEMO_ORG={demo.org_id}\n"
        f"BASTION_DEMO_PROJECT={demo.project_id}\n"
        f"BASTION_DEMO_MODEL={MOCK_MODELS[0]}\n",
        encoding="utf-8",
    )
    path.chmod(0o600)


def refresh_urls(path: Path, config: StackConfig) -> None:
    """Keep the demo credentials but point the URLs at this run's ports."""
    env = read_env(path)
    env["BASTION_BASE_URL"] = f"{config.edge_url}/v1"
    env["BASTION_ADMIN_URL"] = config.api_url
    path.write_text("".join(f"{k}={v}\n" for k, v in env.items()), encoding="utf-8")
    path.chmod(0o600)
