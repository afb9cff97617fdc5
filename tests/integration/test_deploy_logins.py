"""The compose path to per-service database logins: ``db-auth`` writes the password and DSN
files, the migrate job (``python -m libs.db.migrate`` with ``BASTION_DB_LOGINS_DIR``) gives each
service role LOGIN, and each DSN then connects as a role that is neither superuser nor BYPASSRLS."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import yaml

from libs.db import roles
from libs.stack import pg
from libs.stack.commands import db_auth

ROOT = Path(__file__).resolve().parents[2]


def test_migrate_job_enables_each_service_login(cluster: pg.Cluster) -> None:
    secrets = cluster.data.parent / "secrets"  # the fixture's db_<service>.password files (db-auth's naming)
    assert db_auth(secrets, "127.0.0.1", cluster.port, "bastion") == 0
    done = subprocess.run([sys.executable, "-m", "libs.db.migrate"], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "BASTION_DB_DSN": cluster.dsn(), "BASTION_DB_LOGINS_DIR": str(secrets)},
                          check=True)  # fmt: skip
    assert "service logins enabled: api, audit, auth, guardrails, metering, vault" in done.stdout
    assert cluster.password not in done.stdout + done.stderr

    async def who(dsn: str) -> tuple[str, bool, bool]:
        conn = await asyncpg.connect(dsn)
        try:
            row = await conn.fetchrow(
                "SELECT current_user AS u, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
            )
            assert row is not None
            return str(row["u"]), bool(row["rolsuper"]), bool(row["rolbypassrls"])
        finally:
            await conn.close()

    for service, role in roles.SERVICE_ROLES.items():
        dsn_file = secrets / f"db_{service}.dsn"
        assert oct(dsn_file.stat().st_mode & 0o777) == "0o600"
        dsn = dsn_file.read_text().strip()
        assert urlsplit(dsn).password == (secrets / f"db_{service}.password").read_text().strip()
        assert asyncio.run(who(dsn)) == (role, False, False)


def test_compose_gives_each_service_its_own_database_role() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert "postgres:5432" not in str({k: v for k, v in services.items() if k != "migrate"})  # no inline DSN
    for service in roles.SERVICE_ROLES:
        mounted = [s for s in services[service]["secrets"] if isinstance(s, dict) and s["target"] == "db_dsn"]
        assert mounted == [{"source": f"db_{service}_dsn", "target": "db_dsn"}], service
        assert compose["secrets"][f"db_{service}_dsn"]["file"] == f"./deploy/secrets/db_{service}.dsn"
    assert services["edge"]["environment"]["BASTION_DB_DSN_FILE"] == ""
    migrate_targets = {s["target"] for s in services["migrate"]["secrets"] if isinstance(s, dict)}
    assert migrate_targets == {f"db_{s}.password" for s in roles.SERVICE_ROLES}
    assert "pg_ca" in services["migrate"]["secrets"]  # plus the CA its TLS connection verifies against
