"""Test helpers: free ports, a real nats-server, a real PostgreSQL, durable consumers running."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import nats

from libs.audit.chain import Checkpoint, Report, Verifier
from libs.audit.record import COLUMNS, AuditRecord, from_row
from libs.audit.signing import TrustedKeys
from libs.stack import natsd, pg, secrets_store
from libs.svc.consumers import DurableConsumer


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def nats_server(directory: Path, port: int | None = None, extra: str = "") -> Iterator[str]:
    """A real nats-server with JetStream on a free port; yields its URL."""
    port = port or free_port()
    conf = natsd.write_config(directory, "127.0.0.1", port, extra)
    proc = natsd.start(conf, directory / "nats.log")
    try:
        natsd.wait_port("127.0.0.1", port)
        yield f"nats://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def postgres(directory: Path) -> Iterator[pg.Cluster]:
    """A real PostgreSQL on a free port with the ``bastion`` database migrated."""
    from libs.db import migrate, roles

    cluster = pg.init(directory, free_port())
    pg.start(cluster, directory / "postgres.log")
    try:
        asyncio.run(pg.ensure_database(cluster))
        asyncio.run(migrate.apply(cluster.dsn()))
        creds = secrets_store.password_files(directory / "secrets", "db", roles.SERVICE_ROLES)
        asyncio.run(roles.enable_logins(cluster.dsn(), "bastion", creds))
        yield cluster
    finally:
        pg.stop(cluster)


def wait_until(predicate: object, timeout: float = 10.0, interval: float = 0.05) -> bool:
    """Poll ``predicate()`` until true or ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(interval)
    return False


def service_dsn(cluster: pg.Cluster, service: str) -> str:
    """The DSN a service uses: its own role, no superuser, row-level security applies."""
    from libs.db import roles

    password = secrets_store.password_files(cluster.data.parent / "secrets", "db", roles.SERVICE_ROLES)[service]
    return cluster.dsn(user=roles.SERVICE_ROLES[service], password=password)


async def org_with_key(dsn: str, org_id: str) -> str:
    """Insert organisation ``org_id`` with one project and one API key row (superuser); the key's id."""
    import asyncpg

    key_id = f"key-{org_id}"
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("INSERT INTO auth.orgs (id, name) VALUES ($1, $1)", org_id)
        await conn.execute("INSERT INTO auth.projects (id, org_id, name) VALUES ($1, $2, 'p')", f"prj-{org_id}", org_id)
        await conn.execute(
            "INSERT INTO auth.api_keys (id, org_id, project_id, lookup, hash, masked) VALUES ($1, $2, $3, $1, '-', '-')",
            key_id, org_id, f"prj-{org_id}",
        )  # fmt: skip
    finally:
        await conn.close()
    return key_id


class Consumers:
    """Durable consumers run on one connection to ``url``, as a service runs them."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._consumers: list[DurableConsumer] = []
        self._nc: nats.NATS | None = None

    def add(self, consumer: DurableConsumer) -> DurableConsumer:
        self._consumers.append(consumer)
        return consumer

    async def start(self) -> None:
        self._nc = await nats.connect(self._url)
        for consumer in self._consumers:
            await consumer.start(self._nc)

    async def stop(self) -> None:
        for consumer in self._consumers:
            await consumer.stop()
        if self._nc is not None:
            await self._nc.close()


async def audit_chains(dsn: str, trusted: TrustedKeys | None = None) -> dict[str, Report]:
    """Every audit chain verified from its stored rows as the superuser sees them (checkpoints
    too when ``trusted`` is given; without it, links only)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
        rows = await conn.fetch(f"SELECT {', '.join(COLUMNS)} FROM audit.events ORDER BY org_id, chain_seq")
        cps = await conn.fetch("SELECT * FROM audit.checkpoints") if trusted is not None else []
    finally:
        await conn.close()
    by_org: dict[str, list[AuditRecord]] = {}
    for row in rows:
        by_org.setdefault(row["org_id"], []).append(from_row(row))
    reports: dict[str, Report] = {}
    for org, records in by_org.items():
        checkpoints = [Checkpoint(kind=c["kind"], org_id=c["org_id"], chain_seq=c["chain_seq"], hash=bytes(c["hash"]),
                                  signed_at=c["signed_at"], key_id=c["key_id"], signature=bytes(c["signature"]))
                       for c in cps if c["org_id"] == org]  # fmt: skip
        verifier = Verifier(org, checkpoints, trusted or TrustedKeys({}))
        for record in records:
            verifier.feed(record)
        reports[org] = verifier.finish()
    return reports


async def broken_audit_chains(dsn: str, orgs: list[str]) -> dict[str, tuple[int | None, str]]:
    """Which of these organisations' chains do not verify (links only): org → (first bad chain_seq, why)."""
    reports = await audit_chains(dsn)
    return {org: (reports[org].first_bad_seq, reports[org].reason) for org in orgs
            if org in reports and not reports[org].ok}  # fmt: skip


@contextlib.contextmanager
def mock_identity_provider() -> Iterator[str]:
    """The local mock OAuth / OIDC provider (libs/mockoidc) on a free port, in a thread; its URL."""
    import threading

    import uvicorn

    from libs.mockoidc.app import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=10)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)
