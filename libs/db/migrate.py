"""Versioned SQL migrations: ``migrations/NNNN_<slug>.sql``, applied in order, once each.

Run ``python -m libs.db.migrate`` (uses ``BASTION_DB_DSN``); the local stack and the test
fixtures apply them at start. Concurrent runners serialize on an advisory lock.
"""

from __future__ import annotations

import asyncio
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import asyncpg

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK_ID = 0x62617374  # "bast"


@dataclass(frozen=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    sql: str


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """All migrations in version order; duplicate versions are an error."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise ValueError(f"bad migration file name: {path.name}")
        version = int(match.group(1))
        if version in found:
            raise ValueError(f"duplicate migration version {version}")
        found[version] = Migration(version, match.group(2), path.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


async def apply(dsn: str, migrations: list[Migration] | None = None) -> list[int]:
    """Apply pending migrations; returns the versions applied now."""
    todo = discover() if migrations is None else migrations
    conn = await asyncpg.connect(dsn)
    applied_now: list[int] = []
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS public.bastion_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM public.bastion_migrations")}
        for migration in todo:
            if migration.version in done:
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO public.bastion_migrations (version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.name,
                )
            applied_now.append(migration.version)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
        await conn.close()
    return applied_now


def main() -> int:
    """CLI: apply migrations to ``BASTION_DB_DSN`` (a superuser); with ``BASTION_DB_LOGINS_DIR``,
    then give every service role LOGIN with the password in ``<dir>/db_<service>.password``."""
    import os
    from urllib.parse import urlsplit

    from libs.db import roles

    dsn = os.environ.get("BASTION_DB_DSN", "")
    if not dsn and os.environ.get("BASTION_DB_DSN_FILE"):
        dsn = Path(os.environ["BASTION_DB_DSN_FILE"]).read_text(encoding="utf-8").strip()
    if not dsn:
        print("BASTION_DB_DSN is not set", file=sys.stderr)  # noqa: T201
        return 2
    versions = asyncio.run(apply(dsn))
    print(f"applied {len(versions)} migration(s): {versions}")  # noqa: T201
    logins = os.environ.get("BASTION_DB_LOGINS_DIR", "")
    if logins:
        creds = {
            service: (Path(logins) / f"db_{service}.password").read_text(encoding="utf-8").strip()
            for service in roles.SERVICE_ROLES
            if (Path(logins) / f"db_{service}.password").exists()
        }
        database = urlsplit(dsn).path.lstrip("/") or "bastion"
        asyncio.run(roles.enable_logins(dsn, database, creds))
        print(f"service logins enabled: {', '.join(sorted(creds))}")  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
