"""Which keys an archive needs, without holding them: the backup keyring that seals the archive,
fingerprints of the master keys and pepper the data was written under, and (only when asked)
the master keyring and pepper themselves, sealed under a passphrase.

Fingerprints are HMAC-SHA256 tags keyed with the secret itself (the keyring's own
``MasterKey.fingerprint``): they tell whether the same key is deployed and reveal nothing of it.
The passphrase is stretched with Argon2id (64 MiB, 3 passes), so a stolen archive plus a weak
passphrase still costs an attacker 64 MiB and a few dozen milliseconds per guess.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any, Final

from libs.backup.errors import BackupError
from libs.crypto.keyring import Keyring, KeyringError

KEYS_FILE_ENV: Final = "BASTION_BACKUP_KEYS_FILE"
PASSPHRASE_ENV: Final = "BASTION_BACKUP_PASSPHRASE"
_KDF: Final = {"name": "argon2id", "time_cost": 3, "memory_kib": 65536, "parallelism": 1}
_SECRETS_AAD: Final = b"bastion/v1/backup-secrets"


def backup_keys_path(var: Path) -> Path:
    """``$BASTION_BACKUP_KEYS_FILE``, else the local stack's ``var/secrets/backup.keys``."""
    return Path(os.environ.get(KEYS_FILE_ENV) or var / "secrets" / "backup.keys")


def backup_ring(var: Path) -> Keyring:
    """The backup keyring (newest key seals, any key opens)."""
    path = backup_keys_path(var)
    try:
        return Keyring.from_spec(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(
            f"no backup keyring at {path} (the local stack makes one on start; or set {KEYS_FILE_ENV})"
        ) from None
    except KeyringError as exc:
        raise BackupError(f"the backup keyring at {path} is invalid: {exc}") from None


def pepper_fingerprint(pepper: str) -> str:
    """A non-reversible id of the API-key pepper."""
    return hmac.new(pepper.strip().encode(), b"bastion/v1/pepper-fingerprint", hashlib.sha256).hexdigest()[:16]


def metadata(master_spec: str, pepper: str) -> dict[str, Any]:
    """Master key ids and fingerprints, the pepper's fingerprint: what a restore target must hold."""
    ring = Keyring.from_spec(master_spec)
    return {"master_keys": [{"kid": k.kid, "fingerprint": k.fingerprint} for k in ring],
            "pepper_fingerprint": pepper_fingerprint(pepper)}  # fmt: skip


def check_match(meta: dict[str, Any], master_spec: str, pepper: str) -> None:
    """Refuse unless ``master_spec`` holds every master key of ``meta`` and ``pepper`` is its pepper."""
    try:
        ring = Keyring.from_spec(master_spec)
    except KeyringError as exc:
        raise BackupError(f"the target's master keyring is invalid: {exc}") from None
    have = {k.kid: k.fingerprint for k in ring}
    for entry in meta.get("master_keys", []):
        if have.get(entry.get("kid")) != entry.get("fingerprint"):
            raise BackupError(f"the target's master keyring lacks key {entry.get('kid')!r} the backup was made under"
                              " (or holds a different key under that id)")  # fmt: skip
    if not hmac.compare_digest(pepper_fingerprint(pepper), str(meta.get("pepper_fingerprint", ""))):
        raise BackupError("the target's key pepper is not the one the backup was made under")


def read_passphrase(path: str | None) -> bytes:
    """From ``path`` (first line) or ``$BASTION_BACKUP_PASSPHRASE``; never from the command line."""
    if path:
        value = Path(path).read_text(encoding="utf-8").splitlines()[0] if Path(path).stat().st_size else ""
    else:
        value = os.environ.get(PASSPHRASE_ENV, "")
    if len(value) < 12:
        raise BackupError(f"a passphrase of at least 12 characters is needed (--passphrase-file or ${PASSPHRASE_ENV})")
    return value.encode()


def _stretch(passphrase: bytes, salt: bytes, kdf: dict[str, Any]) -> bytes:
    from argon2.low_level import Type, hash_secret_raw

    if (
        kdf.get("name") != "argon2id"
        or not 1 <= int(kdf["time_cost"]) <= 10
        or not 8192 <= int(kdf["memory_kib"]) <= 1 << 20
    ):
        raise BackupError("the sealed secrets use an unsupported key derivation")
    return hash_secret_raw(passphrase, salt, time_cost=int(kdf["time_cost"]), memory_cost=int(kdf["memory_kib"]),
                           parallelism=int(kdf.get("parallelism", 1)), hash_len=32, type=Type.ID)  # fmt: skip


def seal_secrets(master_spec: str, pepper: str, passphrase: bytes, file_id: bytes) -> bytes:
    """The ``secrets.sealed`` part: a JSON header line (KDF parameters, salt, nonce), then the
    AES-256-GCM sealed master keyring and pepper, bound to this archive's file id."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    salt, nonce = os.urandom(16), os.urandom(12)
    key = _stretch(passphrase, salt, _KDF)
    body = json.dumps({"master_keys": master_spec.strip(), "pepper": pepper.strip()}).encode()
    head = {"kdf": _KDF, "salt": base64.b64encode(salt).decode(), "nonce": base64.b64encode(nonce).decode()}
    return json.dumps(head).encode() + b"\n" + AESGCM(key).encrypt(nonce, body, _SECRETS_AAD + file_id)


def open_secrets(blob: bytes, passphrase: bytes, file_id: bytes) -> tuple[str, str]:
    """(master keyring spec, pepper) from the ``secrets.sealed`` part."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    head_raw, _, sealed = blob.partition(b"\n")
    try:
        head = json.loads(head_raw)
        salt, nonce = base64.b64decode(head["salt"]), base64.b64decode(head["nonce"])
        key = _stretch(passphrase, salt, head["kdf"])
        body = json.loads(AESGCM(key).decrypt(nonce, sealed, _SECRETS_AAD + file_id))
        return str(body["master_keys"]), str(body["pepper"])
    except InvalidTag:
        raise BackupError("wrong passphrase for the archive's sealed secrets") from None
    except (ValueError, KeyError, TypeError):
        raise BackupError("the archive's sealed secrets are malformed") from None
