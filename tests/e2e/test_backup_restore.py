"""Backup and restore (issue 16): an archive of the session stack restored into a NEW stack
directory, started on its own ports: keys still authenticate, provider keys still decrypt, usage
totals match (also after the restored streams are consumed again), the audit chain verifies. The
archive holds no canary in clear, and a flipped byte, a cut or a wrong key restore nothing."""

from __future__ import annotations

import asyncio
import io
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import nats
import pytest

from libs.audit import stored
from libs.audit.chain import Report
from libs.audit.signing import TrustedKeys
from libs.backup import archive, cipher
from libs.contracts import subjects
from libs.contracts.codec import encode
from libs.contracts.messages import AuditEvent
from libs.crypto.keyring import Keyring
from libs.db.pool import create_pool
from libs.stack import operator, pg
from libs.svc import streams
from libs.svc.bus import credentials
from tests.helpers import free_port
from tests.leakscan import Needle, needles_for, scan_bytes, secret_part
from tests.stack import Stack

pytestmark = pytest.mark.e2e

PASSPHRASE = "restore drill " + "x" * 12
CLIENT_IP = "127.0.0.1"  # the edge records the peer address; the local stack's clients are local


def _cli(env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "libs.stack", "backup", *args], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)  # fmt: skip


def _env(ports: dict[str, int], **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
    return {**env, **{f"BASTION_{k}_PORT": str(v) for k, v in ports.items()}, **extra}


async def _fetch(dsn: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def _usage(dsn: str, org: str) -> tuple[object, ...]:
    events = asyncio.run(_fetch(dsn, "SELECT count(*), coalesce(sum(prompt_tokens + completion_tokens), 0)"
                                " FROM metering.usage_events WHERE org_id = $1", org))[0]  # fmt: skip
    daily = asyncio.run(_fetch(dsn, "SELECT coalesce(sum(requests), 0), coalesce(sum(cost_micros), 0)"
                               " FROM metering.daily WHERE org_id = $1", org))[0]  # fmt: skip
    return (*events, *daily)


def audit_chain_verifies(dsn: str, public_keys: list[str]) -> int | None:
    """The first bad sequence number of any organisation's audit chain, or None: the audit
    service's own per-organisation verifier (``libs/audit/stored.py``), trusting ``public_keys``
    (the source stack's published key signed the restored checkpoints)."""

    async def check() -> int | None:
        trusted = TrustedKeys.parse(public_keys)
        pool = await create_pool(dsn, max_size=2)  # with the service's jsonb codec
        try:
            orgs = [r["org_id"] for r in await pool.fetch("SELECT org_id FROM audit.chains ORDER BY org_id")]
            assert orgs, "no audit chains at all"
            for org in orgs:
                async for step in stored.verify(pool, org, trusted):
                    if isinstance(step, Report) and not step.ok:
                        return step.first_bad_seq or -1
        finally:
            await pool.close()
        return None

    return asyncio.run(check())


def _settled(read: object, timeout: float = 30) -> object:
    """``read()`` once it gives the same answer twice, a second apart."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        now = read()  # type: ignore[operator]
        if now == last:
            return now
        last = now
        time.sleep(1.0)
    raise AssertionError("never settled")


def _superuser_dsn(var: Path, port: int) -> str:
    return f"postgresql://postgres:{(var / 'pg' / 'superuser.password').read_text().strip()}@127.0.0.1:{port}/bastion"


def _dead_letters(url: str, var: Path) -> list[dict[str, object]]:
    async def read() -> list[dict[str, object]]:
        nc = await nats.connect(url, **credentials(operator.with_certificate(url, var)))
        try:
            return await operator.list_dead_letters(nc, limit=10000)
        finally:
            await nc.close()

    return asyncio.run(read())


def _forge_a_dead_letter(stack: Stack, org: str) -> None:
    """The edge claims a management action (as tests/e2e/test_audit_stream_integrity.py does):
    the audit service files it as a dead letter (``claims``)."""
    subject = subjects.audit_event("edge", "api_key", "revoked")
    before = sum(1 for e in _dead_letters(stack.bus_url, stack.var) if e.get("subject") == subject)
    forged = AuditEvent(event_id=f"evt_{secrets.token_hex(12)}", ts=int(time.time() * 1000), org_id=org, actor_type="admin_token",
                        actor_id="tok_owner", action="api_key.revoked", resource="key:victim", success=True,
                        request_id=f"req_forged_{secrets.token_hex(4)}")  # fmt: skip

    async def send() -> None:
        nc = await nats.connect(stack.bus_url, **stack.bus_options("edge"), allow_reconnect=False)
        try:
            await nc.jetstream().publish(subject, encode(forged), timeout=5)
        finally:
            await nc.close()

    asyncio.run(send())
    deadline = time.monotonic() + 30
    while sum(1 for e in _dead_letters(stack.bus_url, stack.var) if e.get("subject") == subject) == before:
        assert time.monotonic() < deadline, "the forged event was never dead-lettered"
        time.sleep(0.3)


def _pending(url: str, var: Path) -> int:
    async def read() -> int:
        nc = await nats.connect(url, **credentials(operator.with_certificate(url, var)))
        try:
            js = nc.jetstream()
            total = 0
            for spec in streams.CONSUMERS:
                info = await js.consumer_info(spec.stream.name, spec.durable)
                total += info.num_pending + info.num_ack_pending
            return total
        finally:
            await nc.close()

    return asyncio.run(read())


@pytest.fixture(scope="module")
def source(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """An organisation with a key, a provider key and requests through the edge, then one archive."""
    made = stack.new_org("Backup")
    provider_key = "bkup." + secrets.token_urlsafe(24)
    email = f"restore-{secrets.token_hex(4)}@example.test"
    stack.created_secrets.append(provider_key)
    model = f"bkup-{time.time_ns() % 10**9}"
    with stack.admin(made["token"]) as http:
        added = http.post("/v1/providers/", json={"name": model, "adapter": "openai_compatible",
                                                  "base_url": f"{stack.mock}/v1", "api_key": provider_key,
                                                  "models": [model]})  # fmt: skip
        assert added.status_code == 201, added.text
    headers = {"authorization": f"Bearer {made['key']}"}
    for i in range(3):
        body = {"model": model, "messages": [{"role": "user", "content": f"mail {email} please ({i})"}]}
        answer = httpx.post(f"{stack.base_url}/chat/completions", json=body, headers=headers, timeout=15)
        assert answer.status_code == 200, answer.text
    usage = _settled(lambda: _usage(stack.superuser_dsn, made["org"]))
    assert usage[0] == 3, usage  # type: ignore[index]
    _forge_a_dead_letter(stack, str(made["org"]))
    letters = [(e["subject"], e["reason"], e["consumer"]) for e in _dead_letters(stack.bus_url, stack.var)]
    out = tmp_path_factory.mktemp("backups")
    env = _env(stack.ports, BASTION_BACKUP_PASSPHRASE=PASSPHRASE)
    created = _cli(env, "create", "--var", str(stack.var), "--out", str(out), "--include-secrets", "--keep", "2")
    assert created.returncode == 0, created.stderr
    path = Path(created.stdout.strip().splitlines()[-1])
    assert path.parent == out
    assert path.stat().st_mode & 0o777 == 0o600
    assert "database dump" in created.stderr  # the progress lines
    return {**made, "provider_key": provider_key, "email": email, "model": model, "usage": usage, "archive": path,
            "create_stderr": created.stderr, "dead_letters": letters}  # fmt: skip


def test_the_archive_holds_no_canary_in_clear(stack: Stack, source: dict[str, object]) -> None:
    blob = Path(str(source["archive"])).read_bytes()
    needles: list[Needle] = []
    for label in ("key", "provider_key", "token"):
        needles += needles_for(f"backup {label}", secret_part(str(source[label])))
    needles += needles_for("prompt email", str(source["email"]))
    needles += needles_for("key pepper", stack.pepper)
    for key in Keyring.from_spec((stack.var / "secrets" / "master.keys").read_text()):
        needles += needles_for(f"master key {key.kid}", key.material)
    needles.append(Needle("client ip", "raw", CLIENT_IP.encode()))
    assert scan_bytes("archive", blob, needles) == []
    # ... and the check can fail: opened, the dump does hold the client address (audit rows) in clear
    ring = Keyring.from_spec((stack.var / "secrets" / "backup.keys").read_text())
    dump = b"".join(archive.part_blocks(cipher.open_chunks(io.BytesIO(blob), ring), archive.DB))
    sql = subprocess.run([str(pg.bin_dir() / "pg_restore"), "--file=-"], input=dump, capture_output=True,
                         check=True, timeout=60).stdout  # fmt: skip
    assert b"CREATE TABLE audit.events" in sql
    assert scan_bytes("dump", sql, [Needle("client ip", "raw", CLIENT_IP.encode())])
    for label in ("provider_key", "email"):
        assert str(source[label]).encode() not in source["create_stderr"].encode()  # type: ignore[attr-defined]


def _fresh(tmp: Path, stack: Stack, backup_keys: str | None = None) -> Path:
    var = tmp / "var"
    (var / "secrets").mkdir(parents=True)
    keys = backup_keys or (stack.var / "secrets" / "backup.keys").read_text()
    (var / "secrets" / "backup.keys").write_text(keys)
    return var


def _tampered(blob: bytes, how: str) -> bytes:
    if how == "flipped byte":
        flipped = bytearray(blob)
        flipped[len(cipher.MAGIC) + 1 + 3 + 32 + 4 + 10] ^= 0x20  # inside the first chunk's ciphertext
        return bytes(flipped)
    return blob[: len(blob) - 100]


REFUSALS = {"flipped byte": "fails authentication", "truncated": "truncated", "wrong key": "wrong key",
            "wrong passphrase": "wrong passphrase", "other master keys": "lacks key 'mk"}  # fmt: skip


@pytest.mark.parametrize("how", sorted(REFUSALS))
def test_a_damaged_archive_or_wrong_key_restores_nothing(stack: Stack, source: dict[str, object], tmp_path: Path,
                                                         how: str) -> None:  # fmt: skip
    from libs.crypto.keyring import generate_spec

    blob = Path(str(source["archive"])).read_bytes()
    bad = tmp_path / "bad.bkp"
    bad.write_bytes(_tampered(blob, how) if how in ("flipped byte", "truncated") else blob)
    var = _fresh(tmp_path, stack, generate_spec("bk1") if how == "wrong key" else None)
    if how == "other master keys":  # the operator copied in the wrong keyring (and the right pepper)
        (var / "secrets" / "master.keys").write_text(generate_spec("mk1") + "\n")
        (var / "secrets" / "key_pepper").write_text((stack.var / "secrets" / "key_pepper").read_text())
    before = sorted(p.relative_to(var) for p in var.rglob("*"))
    ports = {name: free_port() for name in ("EDGE", "API", "NATS", "PG", "MOCK")}
    phrase = PASSPHRASE + "?" if how == "wrong passphrase" else PASSPHRASE
    done = _cli(_env(ports, BASTION_BACKUP_PASSPHRASE=phrase), "restore", str(bad), "--var", str(var))
    assert done.returncode == 1, done.stdout + done.stderr
    assert REFUSALS[how] in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.relative_to(var) for p in var.rglob("*")) == before  # nothing restored


def test_restore_into_a_new_stack(stack: Stack, source: dict[str, object], tmp_path: Path) -> None:
    source_key = [(stack.var / "secrets" / "audit_signing.pub").read_text().strip()]
    assert audit_chain_verifies(stack.superuser_dsn, source_key) is None  # the check can tell: it holds before
    var = _fresh(tmp_path, stack)
    ports = {name: free_port() for name in ("EDGE", "API", "NATS", "PG", "MOCK")}
    env = _env(ports, BASTION_BACKUP_PASSPHRASE=PASSPHRASE)
    restored = _cli(env, "restore", str(source["archive"]), "--var", str(var))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "republished" in restored.stdout
    assert (var / "secrets" / "master.keys").read_text() == (stack.var / "secrets" / "master.keys").read_text()
    assert (var / "secrets" / "master.keys").stat().st_mode & 0o777 == 0o600
    out = (var / "stack.out").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "libs.stack", "run", "--var", str(var)], env=env, stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (var / "run" / "ready").exists():
            assert proc.poll() is None, (var / "stack.out").read_text()[-3000:]
            assert time.monotonic() < deadline, (var / "stack.out").read_text()[-3000:]
            time.sleep(0.2)
        dsn = _superuser_dsn(var, ports["PG"])
        # the republished events are consumed again, and stored at most once
        deadline = time.monotonic() + 60
        while _pending(f"tls://127.0.0.1:{ports['NATS']}", var):
            assert time.monotonic() < deadline, "restored events never consumed"
            time.sleep(0.5)
        assert _settled(lambda: _usage(dsn, str(source["org"]))) == source["usage"]
        # the dead letters are back, for `deadletters list` and `replay` on the new stack
        restored_letters = _dead_letters(f"tls://127.0.0.1:{ports['NATS']}", var)
        assert [(e["subject"], e["reason"], e["consumer"]) for e in restored_letters] == source["dead_letters"]
        edge = f"http://127.0.0.1:{ports['EDGE']}/v1"
        headers = {"authorization": f"Bearer {source['key']}"}
        assert httpx.get(f"{edge}/models", headers=headers, timeout=10).status_code == 200
        body = {"model": source["model"], "messages": [{"role": "user", "content": "after restore"}]}
        answer = httpx.post(f"{edge}/chat/completions", json=body, headers=headers, timeout=15)
        assert answer.status_code == 200, answer.text
        seen = httpx.get(f"{stack.mock}/_mock/requests", timeout=10).json()
        assert seen[-1]["auth"] == f"Bearer {source['provider_key']}"
        published = [(d / "secrets" / "audit_signing.pub").read_text().strip() for d in (stack.var, var)]
        assert audit_chain_verifies(dsn, published) is None
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        out.close()
    # a second restore into the now non-empty database is refused
    again = _cli(env, "restore", str(source["archive"]), "--var", str(var))
    assert again.returncode == 1, again.stderr
    assert "not empty" in again.stderr, again.stderr
    forced = _cli(env, "restore", str(source["archive"]), "--var", str(var), "--force")
    assert forced.returncode == 0, forced.stderr  # the old database replaced (else pg_restore meets every table)
    shutil.rmtree(var / "pg", ignore_errors=True)
