"""Compose's PostgreSQL is TLS only: the server runs with the settings of ``pg.TLS_OPTIONS`` and
an hba file of hostssl lines, and every client (migrate, each service) verifies its certificate."""

from __future__ import annotations

from pathlib import Path

import yaml

from libs.stack import pg

ROOT = Path(__file__).resolve().parents[3]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_the_hba_file_accepts_tcp_over_tls_only() -> None:
    lines = [line.split() for line in (ROOT / "deploy" / "postgres" / "pg_hba.conf").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]  # fmt: skip
    tcp = [fields for fields in lines if fields[0] != "local"]
    assert tcp
    assert {fields[0] for fields in tcp} == {"hostssl"}
    assert all(fields[-1] == "scram-sha-256" for fields in tcp)


def test_postgres_runs_with_the_tls_options_and_that_hba_file() -> None:
    service = _compose()["services"]["postgres"]
    command = " ".join(service["command"])
    for option in pg.TLS_OPTIONS.split(" -c "):
        assert option.removeprefix("-c ").strip() in command
    assert "hba_file=/etc/postgresql/pg_hba.conf" in command
    assert "./deploy/postgres/pg_hba.conf:/etc/postgresql/pg_hba.conf:ro" in service["volumes"]
    assert {"pg_cert", "pg_key"} <= set(service["secrets"])


def test_every_database_client_verifies_the_server() -> None:
    services = _compose()["services"]
    assert "sslmode=verify-full&sslrootcert=/run/secrets/pg_ca" in services["migrate"]["environment"]["BASTION_DB_DSN"]
    with_dsn = [name for name, svc in services.items()
                if any(isinstance(s, dict) and s.get("target") == "db_dsn" for s in svc.get("secrets", []))]  # fmt: skip
    assert sorted(with_dsn) == ["api", "audit", "auth", "backup", "guardrails", "metering", "vault"]
    for name in [*with_dsn, "migrate"]:
        assert "pg_ca" in services[name]["secrets"], name
    assert "--ca-file /run/secrets/pg_ca" in (ROOT / "compose.yaml").read_text()  # db-auth writes verify-full DSNs
