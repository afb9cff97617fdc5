"""Envelope encryption of provider keys.

Each tenant has a random 256-bit data key (DEK), stored wrapped by the newest master key.
Each provider key is sealed with AES-256-GCM under the tenant's DEK with associated data
binding it to (org, provider, key id, version): a ciphertext copied to another row or tenant
does not open. Unwrapped DEKs are kept in memory only.
"""

from __future__ import annotations

from libs.crypto import aead
from libs.crypto.keyring import Keyring


def dek_aad(org_id: str) -> bytes:
    """Associated data of a tenant's wrapped data key."""
    return aead.make_aad("bastion.vault.dek.v1", org_id)


def secret_aad(org_id: str, provider_id: str, key_id: str, version: int) -> bytes:
    """Associated data of one sealed provider key."""
    return aead.make_aad("bastion.vault.provider_key.v1", org_id, provider_id, key_id, str(version))


def new_wrapped_dek(keyring: Keyring, org_id: str) -> tuple[bytes, aead.WrappedKey]:
    """A fresh tenant data key and its wrapped form (under the primary master key)."""
    dek = aead.new_data_key()
    return dek, aead.wrap(keyring.primary, dek, dek_aad(org_id))


def unwrap_dek(keyring: Keyring, org_id: str, kid: str, blob: bytes) -> bytes:
    """Open a tenant's data key with whichever master key wrapped it."""
    return aead.unwrap(keyring, aead.WrappedKey(kid=kid, blob=blob), dek_aad(org_id))


def seal_secret(dek: bytes, secret: str, org_id: str, provider_id: str, key_id: str, version: int) -> bytes:
    """Seal a provider key."""
    return aead.seal(dek, secret.encode(), secret_aad(org_id, provider_id, key_id, version))


def open_secret(dek: bytes, sealed: bytes, org_id: str, provider_id: str, key_id: str, version: int) -> str:
    """Open a provider key (raises ``aead.DecryptError`` if it was moved or tampered with)."""
    return aead.open_sealed(dek, sealed, secret_aad(org_id, provider_id, key_id, version)).decode()
