"""Server secrets of the local stack, generated once under ``var/secrets`` (mode 0600).

Production deployments mount these instead (``BASTION_KEY_PEPPER``, ``BASTION_MASTER_KEYS_FILE``).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StackSecrets:
    """Paths and values handed to the services through their environment."""

    pepper: str
    master_keys_file: Path
    jetstream_key: str = ""
    """Seals the JetStream store (nats-server's own cipher); handed to nats-server only."""
    audit_signing_key_file: Path | None = None
    """The Ed25519 seed signing audit checkpoints; handed to the audit service only (``_FILE``)."""
    audit_public_key: str = ""
    """Its public key (not secret): the management API verifies chains with it."""
    oauth_client_secret: str = ""
    """The local mock identity provider's client secret (random per stack, so the leak scan can
    look for it); handed to auth and to the mock."""
    auth_secret_file: Path | None = None
    """``AUTH_SECRET``: seals what browsers keep and keys CSRF tokens; the management API reads
    it through ``AUTH_SECRET_FILE``."""

    def __repr__(self) -> str:
        return (
            f"StackSecrets(master_keys_file={str(self.master_keys_file)!r}, pepper=<redacted>,"
            f" jetstream_key=<redacted>, audit_public_key={self.audit_public_key!r})"
        )


def _write_once(path: Path, make: str) -> str:
    if not path.exists():
        path.write_text(make, encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def password_files(directory: Path, prefix: str, names: Iterable[str]) -> dict[str, str]:
    """One random password per name, kept in ``<prefix>_<name>.password`` (0600), made once."""
    directory.mkdir(parents=True, exist_ok=True)
    return {name: _write_once(directory / f"{prefix}_{name}.password", secrets.token_urlsafe(24)) for name in names}


def spool_keys_file(directory: Path, service: str) -> Path:
    """The keyring sealing ``service``'s event journal (``spool_<service>.keys``, 0600), made once;
    each service has its own, so one cannot read another's journal."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"spool_{service}.keys"
    if not path.exists():
        from libs.crypto.keyring import generate_spec  # first start only; the supervisor stays light

        _write_once(path, generate_spec("sk1") + "\n")
    return path


def backup_keys_file(directory: Path) -> Path:
    """The keyring sealing backup archives (``backup.keys``, 0600), made once by ``prepare``.
    Keep a copy apart from the archives: without it no archive opens (docs/operations.md)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "backup.keys"
    if not path.exists():
        from libs.crypto.keyring import generate_spec  # in `prepare` only; the supervisor stays light

        _write_once(path, generate_spec("bk1") + "\n")
    return path


def ensure(var: Path) -> StackSecrets:
    """Load the stack's secrets, creating them on first start."""
    directory = var / "secrets"
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    pepper = _write_once(directory / "key_pepper", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    master = directory / "master.keys"
    if not master.exists():
        from libs.crypto.keyring import generate_spec  # first start only; the supervisor stays light

        _write_once(master, generate_spec("mk1") + "\n")
    jetstream = _write_once(directory / "jetstream.key", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    _write_once(directory / "auth_secret", base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    oauth = _write_once(directory / "oauth_client_secret", secrets.token_urlsafe(24))
    signing, public = audit_signing_key(directory)
    return StackSecrets(pepper=pepper, master_keys_file=master, jetstream_key=jetstream, oauth_client_secret=oauth,
                        auth_secret_file=directory / "auth_secret", audit_signing_key_file=signing,
                        audit_public_key=public)  # fmt: skip


def audit_signing_key(directory: Path) -> tuple[Path, str]:
    """The audit signing key (``audit_signing.key``, 0600) and its public key
    (``audit_signing.pub``), made once."""
    key, pub = directory / "audit_signing.key", directory / "audit_signing.pub"
    if not key.exists() or not pub.exists():
        from libs.audit.signing import generate_seed, public_of  # first start only; the supervisor stays light

        seed = _write_once(key, generate_seed() + "\n")
        pub.write_text(public_of(seed) + "\n", encoding="utf-8")
    return key, pub.read_text(encoding="utf-8").strip()
