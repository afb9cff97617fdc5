"""The canary test: runs after every other test of the session (tests/conftest.py sorts it last).

tests/canary.py planted a canary API key, management token, provider keys and read the master
keys when the session stack came up, and pushed them through every path it could think of. Now
nothing the whole suite left behind may contain any of them, nor the bus's TLS private keys, nor any secret a test created
(``stack.created_secrets``), in any encoding (tests/leakscan.py): not the logs, the traces, the
event spools, the stack's own output, the JetStream store, nor a dump of the whole database.
(This replaces tests/e2e/test_zz_no_leaks.py, which looked for raw created secrets only.)
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from libs.audit.signing import unb64
from libs.crypto.keyring import Keyring
from libs.crypto.sealed import decode_secret
from libs.stack import pg, pki
from services.vault import envelope
from tests.canary import Canaries, read_master_keys
from tests.leakscan import Hit, Needle, mask, needles_for, scan_bytes, scan_files, secret_part
from tests.stack import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def canaries(stack: Stack) -> Canaries:
    assert stack.canaries is not None
    return stack.canaries


def _canary_data_key(stack: Stack, canaries: Canaries) -> bytes:
    """The canary organisation's data key, unwrapped: it exists in clear only in vault memory."""

    async def read() -> tuple[str, bytes]:
        conn = await asyncpg.connect(stack.superuser_dsn)
        try:
            row = await conn.fetchrow("SELECT kid, wrapped FROM vault.data_keys WHERE org_id = $1", canaries.org)
        finally:
            await conn.close()
        assert row is not None
        return row["kid"], bytes(row["wrapped"])

    kid, wrapped = asyncio.run(read())
    ring = Keyring.from_spec((stack.var / "secrets" / "master.keys").read_text(encoding="utf-8"))
    return envelope.unwrap_dek(ring, canaries.org, kid, wrapped)


def _needles(stack: Stack, canaries: Canaries) -> list[Needle]:
    canaries.refresh_master_keys(stack)
    needles = [n for label, s in canaries.text_secrets().items() for n in needles_for(label, secret_part(s))]
    for kid, material in canaries.master_keys.items():
        needles += needles_for(f"master key {kid}", material)
    needles += needles_for("canary data key", _canary_data_key(stack, canaries))
    needles += needles_for("key pepper", canaries.pepper)
    for key in sorted(pki.directory(stack.var).glob("*.key")):  # the bus's CA and certificates' keys
        needles += needles_for(f"TLS key {key.stem}", _private_scalar(key))
    seed = (stack.var / "secrets" / "audit_signing.key").read_text(encoding="utf-8").strip()
    needles += needles_for("audit signing key", seed) + needles_for("audit signing key (raw)", unb64(seed))
    auth_secret = (stack.var / "secrets" / "auth_secret").read_text(encoding="utf-8").strip()
    oauth_secret = (stack.var / "secrets" / "oauth_client_secret").read_text(encoding="utf-8").strip()
    needles += needles_for("OAuth client secret", oauth_secret)
    needles += needles_for("AUTH_SECRET", auth_secret) + needles_for("AUTH_SECRET bytes", decode_secret(auth_secret))
    planted = set(canaries.text_secrets().values())
    for secret in dict.fromkeys(stack.created_secrets):
        if secret not in planted:
            needles += needles_for(f"created secret {mask(secret)}", secret_part(secret))
    return needles


def _private_scalar(path: Path) -> bytes:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key.private_numbers().private_value.to_bytes(32, "big")


def _files(stack: Stack) -> Iterator[Path]:
    for folder in ("logs", "traces", "spool", "nats", "run"):
        yield from (p for p in sorted((stack.var / folder).rglob("*")) if p.is_file())
    yield stack.var / "stack.out"


def _pg_dump(stack: Stack, to: Path) -> bytes:
    subprocess.run([str(pg.bin_dir() / "pg_dump"), "--format=plain", f"--file={to}", stack.superuser_dsn],
                   check=True, capture_output=True, timeout=60)  # fmt: skip
    return to.read_bytes()


def _rotate_if_the_suite_did_not(stack: Stack, canaries: Canaries) -> None:
    """A master-key rotation with the canaries present (the suite's own rotation test does one;
    when this file runs alone, do it here)."""
    if set(read_master_keys(stack)) != set(canaries.master_keys):
        return
    env = {**os.environ, **{f"BASTION_{k}_PORT": str(v) for k, v in stack.ports.items()}}
    done = subprocess.run([sys.executable, "-m", "libs.stack", "rotate-master-key", "--var", str(stack.var)],
                          env=env, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def test_every_canary_path_was_exercised(stack: Stack, canaries: Canaries) -> None:
    wrong = [f"{step}: {status} (expected {sorted(expect)})" for step, status, expect in canaries.statuses
             if status not in expect]  # fmt: skip
    assert not wrong, "\n".join(wrong)
    assert len(canaries.statuses) > 50
    # Each provider key is what the upstream received (the first, its rotation, the anthropic one
    # in x-api-key, the gemini one in x-goog-api-key); checked without printing a key on failure.
    keys = canaries.provider_keys
    expected = {"first": f"Bearer {keys[0]}", "rotated": f"Bearer {keys[1]}", "anthropic": keys[2], "gemini": keys[3]}
    not_received = [name for name, value in expected.items() if value not in canaries.upstream_auth]
    assert not_received == []
    # Nothing returned to a data-plane client holds a provider key or a master key.
    server_side = [n for n in _needles(stack, canaries)
                   if n.label.startswith(("canary provider key", "master key", "key pepper", "canary data key",
                                           "audit signing key"))]  # fmt: skip
    hits = [h for step, body in canaries.responses for h in scan_bytes(step, body, server_side)]
    assert not hits, "\n".join(map(str, hits))
    _rotate_if_the_suite_did_not(stack, canaries)


def test_no_secret_in_logs_traces_spools_jetstream_or_database(stack: Stack, canaries: Canaries,
                                                                tmp_path: Path) -> None:  # fmt: skip
    needles = _needles(stack, canaries)
    files = list(_files(stack))
    assert any(p.suffix == ".jsonl" and p.stat().st_size for p in files), "no traces were written"
    assert any("jetstream" in p.parts for p in files), "no JetStream store"
    hits = scan_files(files, needles)
    dump = _pg_dump(stack, tmp_path / "bastion.sql")
    assert b"auth.api_keys" in dump
    assert b"vault.provider_keys" in dump
    hits += scan_bytes("pg_dump", dump, needles)
    # The stack's banner shows the demo key on purpose (README: "prints the base URL, the key").
    banner = f"created secret {mask(stack.env['BASTION_API_KEY'])}"
    leaks: list[Hit] = [h for h in hits if not (h.where.endswith("stack.out") and h.label == banner)]
    assert not leaks, f"{len(leaks)} leaks:\n" + "\n".join(map(str, leaks[:60]))
