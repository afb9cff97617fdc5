"""``backup create``: one sealed archive of a stack — the database (``pg_dump``), every JetStream
stream's messages, keyring metadata and, only with ``--include-secrets``, the master keyring and
pepper sealed under a passphrase."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from libs.backup import archive, keys
from libs.backup.cipher import SealedWriter
from libs.backup.errors import BackupError
from libs.backup.progress import Progress

PREFIX = "bastion-"
SUFFIX = ".bkp"


@dataclass(frozen=True)
class Source:
    """Where the data and secrets of the stack being backed up are."""

    var: Path
    db_dsn: str
    bus: Any
    """The operator's bus settings (``libs.stack.operator.with_certificate`` / ``with_password``)."""
    master_keys_file: Path
    pepper: str


def _dump(dsn: str, progress: Progress) -> Iterator[bytes]:
    from libs.stack import pg

    # custom format: compressed, restorable selectively; the password goes in the environment, not argv
    bare, env = pg_client(dsn)
    proc = subprocess.Popen([str(pg.bin_dir() / "pg_dump"), "--format=custom", "--dbname", bare],  # noqa: S603 (our own binary, no shell)
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)  # fmt: skip
    assert proc.stdout is not None
    while block := proc.stdout.read(archive.BLOCK):
        progress.add(len(block))
        yield block
    _, err = proc.communicate()
    if proc.returncode != 0:
        # pg_dump's message names the database, never the password (it is not on its command line)
        raise BackupError(f"pg_dump failed: {err.decode(errors='replace').strip()[-400:]}")
    progress.done()


def pg_client(dsn: str) -> tuple[str, dict[str, str]]:
    """``dsn`` without its password, and an environment with ``PGPASSWORD`` set: a client
    binary's argv is world-readable (``/proc/<pid>/cmdline``)."""
    from urllib.parse import unquote, urlsplit, urlunsplit

    parts = urlsplit(dsn)
    env = dict(os.environ)
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
        host = parts.hostname or ""
        netloc = f"{parts.username or ''}@{host}" + (f":{parts.port}" if parts.port else "")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts), env


def _streams(source: Source) -> Iterator[bytes]:
    """The stream export, driven from a private event loop block by block (the archive writer is
    synchronous; messages are small, so they are batched into ~1 MiB blocks)."""
    from libs.backup import streams
    from libs.stack import operator

    progress = Progress("jetstream messages", unit="messages")
    loop = asyncio.new_event_loop()
    try:
        ctx = operator.connected(source.bus)
        try:
            nc = loop.run_until_complete(ctx.__aenter__())
        except Exception as exc:  # noqa: BLE001 - any failure to connect is one refusal, named by type
            raise BackupError(
                f"cannot reach the bus at {source.bus.nats_url} as the operator ({type(exc).__name__})"
            ) from None
        try:
            gen = streams.export(nc, progress.add)
            buf = bytearray()
            while True:
                try:
                    buf += loop.run_until_complete(gen.__anext__())
                except StopAsyncIteration:
                    break
                if len(buf) >= archive.BLOCK:
                    yield bytes(buf)
                    buf.clear()
            if buf:
                yield bytes(buf)
        finally:
            loop.run_until_complete(ctx.__aexit__(None, None, None))
    finally:
        loop.close()
    progress.done()


def create(source: Source, out_dir: Path, ring_var: Path, *, passphrase: bytes | None = None,
           keep: int | None = None) -> Path:  # fmt: skip
    """Write ``out_dir/bastion-<UTC time>.bkp`` (0600; written as ``.partial`` then renamed, so a
    failed run leaves no archive that looks complete); prune to the newest ``keep``."""
    ring = keys.backup_ring(ring_var)
    master_spec = source.master_keys_file.read_text(encoding="utf-8")
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    final = out_dir / f"{PREFIX}{stamp}{SUFFIX}"
    n = 1
    while final.exists():
        final, n = out_dir / f"{PREFIX}{stamp}-{n}{SUFFIX}", n + 1
    partial = final.with_name(final.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            sealed = SealedWriter(f, ring)
            parts = archive.PartWriter(sealed)
            parts.part(archive.DB, _dump(source.db_dsn, Progress("database dump")))
            parts.part(archive.STREAMS, _streams(source))
            meta = keys.metadata(master_spec, source.pepper)
            parts.part(archive.KEYRING, [_json(meta)])
            if passphrase is not None:
                parts.part(archive.SECRETS, [keys.seal_secrets(master_spec, source.pepper, passphrase, sealed.file_id)])
            parts.finish({"created_at": stamp, "backup_key": sealed.kid, "roles": _roles(source.db_dsn)})
            sealed.close()
            f.flush()
            os.fsync(f.fileno())
        partial.rename(final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if keep is not None:
        prune(out_dir, keep)
    return final


def _json(value: object) -> bytes:
    import json

    return json.dumps(value, sort_keys=True).encode()


def _roles(dsn: str) -> list[str]:
    """The database's own roles (``bastion_*``): cluster-wide, so not in the dump; restore makes
    them (NOLOGIN) before it loads the dump's grants and row-level policies."""
    import asyncpg

    async def read() -> list[str]:
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch(r"SELECT rolname FROM pg_roles WHERE rolname LIKE 'bastion\_%' ORDER BY 1")
        finally:
            await conn.close()
        return [r["rolname"] for r in rows]

    return asyncio.run(read())


def prune(out_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` archives (by name, which is the UTC time) in ``out_dir``."""
    if keep < 1:
        raise BackupError("--keep must be at least 1")
    found = [p for p in out_dir.glob(f"{PREFIX}*{SUFFIX}") if p.is_file() and not p.is_symlink()]
    archives = sorted(found, key=lambda p: (p.stat().st_mtime, p.name))
    gone = archives[:-keep]
    for old in gone:
        old.unlink()
    return gone
