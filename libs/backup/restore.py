"""``backup restore``: a fresh local stack directory brought back from an archive.

Nothing is written until the whole archive has been read and checked once (every chunk
authenticated, the final chunk present, every part's size and sha256 as the manifest says, the
target's keys matching the archive's keyring metadata). Then: the master keyring and pepper
(installed from the sealed part, or checked), the cluster, the roles, the dump; the stack's own
``prepare`` step (logins, bus users); and, on a temporary nats-server, the streams and their
events republished with their original ``Nats-Msg-Id``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from libs.backup import archive, keys
from libs.backup.cipher import file_id, open_chunks
from libs.backup.errors import BackupError
from libs.backup.progress import Progress
from libs.crypto.keyring import Keyring
from libs.stack.config import StackConfig


def _chunks(path: Path, ring: Keyring, fid: bytes | None = None) -> Iterator[bytes]:
    with path.open("rb") as f:
        yield from open_chunks(f, ring, expect_file_id=fid)


def check(path: Path, ring: Keyring) -> tuple[archive.Verified, bytes]:
    """Read and verify the whole archive; its contents' summary and file id."""
    try:
        with path.open("rb") as f:
            fid = file_id(f)
        return archive.verify(_chunks(path, ring, fid)), fid
    except OSError as exc:
        raise BackupError(f"cannot read the archive: {exc.strerror}") from None


def ensure_free(host: str, port: int, what: str) -> None:
    """Refuse if something already listens on ``host:port`` (a restore must not talk to, or stop,
    another stack's server)."""
    import socket

    with socket.socket() as probe:
        probe.settimeout(0.5)
        if probe.connect_ex((host, port)) == 0:
            raise BackupError(
                f"the {what} port {host}:{port} is already in use; stop what listens there or pick another"
            )


def _secrets(config: StackConfig, verified: archive.Verified, fid: bytes, passphrase: bytes | None) -> None:
    """Install or check the master keyring and pepper, before anything else is written."""
    meta = json.loads(verified.small.get(archive.KEYRING, b"{}"))
    secrets_dir = config.var / "secrets"
    master, pepper = secrets_dir / "master.keys", secrets_dir / "key_pepper"
    if master.exists() and pepper.exists():
        keys.check_match(meta, master.read_text(encoding="utf-8"), pepper.read_text(encoding="utf-8"))
        return
    if master.exists() or pepper.exists():
        raise BackupError(f"{secrets_dir} holds only one of master.keys and key_pepper; give both or neither")
    if archive.SECRETS not in verified.small:
        raise BackupError(f"{secrets_dir} has no master keyring and pepper and the archive holds none"
                          " (copy them there, or restore an archive made with --include-secrets)")  # fmt: skip
    if passphrase is None:
        raise BackupError("the archive's secrets are sealed: give --passphrase-file or $BASTION_BACKUP_PASSPHRASE")
    spec, pep = keys.open_secrets(verified.small[archive.SECRETS], passphrase, fid)
    keys.check_match(meta, spec, pep)
    secrets_dir.mkdir(parents=True, exist_ok=True)
    secrets_dir.chmod(0o700)
    for target, value in ((master, spec), (pepper, pep)):
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(value.strip() + "\n")


async def _empty_or_reset(dsn: str, admin_dsn: str, *, force: bool) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        tables = await conn.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        )
    finally:
        await conn.close()
    if not tables:
        return
    if not force:
        raise BackupError(f"the target database is not empty ({tables} tables); refusing (--force replaces it)")
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute('DROP DATABASE "bastion" WITH (FORCE)')
        await conn.execute('CREATE DATABASE "bastion"')
    finally:
        await conn.close()


async def _roles(dsn: str, roles: list[Any]) -> None:
    import re

    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        for role in roles:
            if not isinstance(role, str) or not re.fullmatch(r"bastion_[a-z0-9_]{1,48}", role):
                raise BackupError("the manifest lists an invalid role name")
            if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
                await conn.execute(f'CREATE ROLE "{role}" NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS')
    finally:
        await conn.close()


def _load_dump(dsn: str, path: Path, ring: Keyring, fid: bytes) -> None:
    from libs.backup.create import pg_client
    from libs.stack import pg

    bare, env = pg_client(dsn)
    progress = Progress("database restore")
    proc = subprocess.Popen([str(pg.bin_dir() / "pg_restore"), "--exit-on-error", "--single-transaction",  # noqa: S603 (our own binary, no shell)
                             "--dbname", bare], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env)  # fmt: skip
    assert proc.stdin is not None
    try:
        for block in archive.part_blocks(_chunks(path, ring, fid), archive.DB):
            proc.stdin.write(block)
            progress.add(len(block))
        proc.stdin.close()
    except BrokenPipeError:
        pass
    err = proc.stderr.read() if proc.stderr else b""
    if proc.wait() != 0:
        raise BackupError(f"pg_restore failed: {err.decode(errors='replace').strip()[-400:]}")
    progress.done()


def _republish(config: StackConfig, path: Path, ring: Keyring, fid: bytes) -> dict[str, int]:
    """Start nats-server on the stack's config (written by ``prepare``), provision, republish, stop."""
    from libs.backup import streams
    from libs.stack import natsd, operator, secrets_store

    stack_keys = secrets_store.ensure(config.var)
    ensure_free(config.host, config.nats_port, "NATS")
    log = (config.logs / "nats-restore.log").open("ab")
    env = {**natsd.env(), natsd.JETSTREAM_KEY_ENV: stack_keys.jetstream_key}
    proc = subprocess.Popen([str(natsd.binary()), "-c", str(natsd.config_path(config.var / "nats"))],  # noqa: S603
                            env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        natsd.wait_port(config.host, config.nats_port)
        bus = operator.with_certificate(config.nats_url, config.var)

        async def go() -> dict[str, int]:
            await operator.provision_streams(bus)
            progress = Progress("jetstream republish", unit="messages")
            async with operator.connected(bus) as nc:

                def messages() -> Iterator[dict[str, object]]:
                    return streams.lines(archive.part_blocks(_chunks(path, ring, fid), archive.STREAMS))

                # two passes: the advisories (last in the archive) name events republished before them
                targets = streams.advisory_targets(messages())
                counts = await streams.republish(nc, messages(), progress.add, targets)
            progress.done()
            return counts

        return asyncio.run(go())
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def restore(config: StackConfig, path: Path, *, passphrase: bytes | None = None, force: bool = False) -> dict[str, int]:
    """Bring ``config.var`` back from ``path``; the republish counts."""
    from libs.stack import pg

    if (config.var / "run" / "ready").exists():
        raise BackupError(f"the stack in {config.var} is running; stop it first")
    ring = keys.backup_ring(config.var)
    sys.stderr.write(f"checking {path.name} ...\n")
    verified, fid = check(path, ring)
    ensure_free(config.host, config.pg_port, "PostgreSQL")
    ensure_free(config.host, config.nats_port, "NATS")
    _secrets(config, verified, fid, passphrase)
    for sub in ("logs", "traces", "run"):
        (config.var / sub).mkdir(parents=True, exist_ok=True)
    cluster = pg.init(config.var / "pg", config.pg_port)
    pg.start(cluster, config.logs / "postgres.log")
    try:
        asyncio.run(pg.ensure_database(cluster))
        asyncio.run(_empty_or_reset(cluster.dsn(), cluster.dsn("postgres"), force=force))
        asyncio.run(_roles(cluster.dsn(), list(verified.manifest.get("roles", []))))
        _load_dump(cluster.dsn(), path, ring, fid)
        prepared = subprocess.run([sys.executable, "-m", "libs.stack", "prepare", "--var", str(config.var)],  # noqa: S603
                                  stdout=subprocess.DEVNULL, check=False)  # fmt: skip
        if prepared.returncode != 0:
            raise BackupError("the restored database was loaded but the stack's prepare step failed; see above")
        return _republish(config, path, ring, fid)
    finally:
        pg.stop(cluster)
