"""Ed25519-signed checkpoints of audit chains.

Only the audit service holds the private key (``BASTION_AUDIT_SIGNING_KEY_FILE``: base64url of
the 32-byte seed); verifiers hold the public key (``BASTION_AUDIT_PUBLIC_KEYS``, comma-separated
base64url raw keys, published at ``GET /v1/audit/public-key``). A checkpoint signs one chain
position: (kind, organisation, chain_seq, hash, signed_at). ``head`` checkpoints pin how far a
chain reached (truncating it below one is detected), ``prune`` checkpoints the position through
which retention removed rows (a chain may start after it, nowhere later). The signature cannot be
made without the key, so a database superuser cannot forge one — but can delete checkpoints; the
latest one is in every verify report, for whoever wants to keep it outside the database.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from libs.audit.record import micros

DOMAIN = b"bastion-audit-checkpoint-v1\x00"
KINDS = ("head", "prune")


def b64(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    """The bytes of :func:`b64` text (padding optional)."""
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(public: bytes) -> str:
    """A short stable name of a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public).hexdigest()[:16]


def message(kind: str, org_id: str, chain_seq: int, digest: bytes, signed_at: datetime) -> bytes:
    """The bytes a checkpoint signs (domain-separated)."""
    return DOMAIN + msgspec.json.encode([kind, org_id, chain_seq, digest.hex(), micros(signed_at)])


@dataclass(frozen=True)
class Signer:
    """The audit service's signing key."""

    private: Ed25519PrivateKey
    public: bytes
    key_id: str

    @classmethod
    def from_seed(cls, seed_b64: str) -> Signer:
        seed = unb64(seed_b64)
        if len(seed) != 32:
            raise ValueError("the audit signing key must be 32 bytes (base64url)")
        private = Ed25519PrivateKey.from_private_bytes(seed)
        public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return cls(private, public, key_id(public))

    def sign(self, kind: str, org_id: str, chain_seq: int, digest: bytes, signed_at: datetime) -> bytes:
        return self.private.sign(message(kind, org_id, chain_seq, digest, signed_at))

    def __repr__(self) -> str:
        return f"Signer(key_id={self.key_id!r})"


def generate_seed() -> str:
    """A new signing key, as base64url of its seed."""
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    raw = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return b64(raw)


def public_of(seed_b64: str) -> str:
    """The base64url public key of a seed."""
    return b64(Signer.from_seed(seed_b64).public)


@dataclass(frozen=True)
class TrustedKeys:
    """The public keys a verifier accepts, by key id."""

    keys: dict[str, bytes]

    @classmethod
    def parse(cls, spec: list[str] | str) -> TrustedKeys:
        items = spec.split(",") if isinstance(spec, str) else spec
        keys = [unb64(k) for k in items if k.strip()]
        return cls({key_id(k): k for k in keys})

    def verify(self, kid: str, signature: bytes, signed: bytes) -> bool:
        public = self.keys.get(kid)
        if public is None:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(public).verify(signature, signed)
        except (InvalidSignature, ValueError):
            return False
        return True

    def published(self) -> list[dict[str, str]]:
        """The keys as ``GET /v1/audit/public-key`` shows them."""
        return [{"key_id": kid, "algorithm": "Ed25519", "public_key": b64(k)} for kid, k in self.keys.items()]
