"""AES-256-GCM sealing and data-key envelope encryption.

Sealed blob layout::

    version (1 byte) || nonce (12 bytes) || ciphertext || tag (16 bytes)

Envelope scheme: each secret is encrypted under its own random data key (DEK)
with :func:`seal`; the DEK is then wrapped under the keyring's primary master
key with :func:`wrap` and stored as a :class:`WrappedKey` (kid + blob) next to
the ciphertext.  Rotating the master key only requires rewrapping DEKs
(:func:`rewrap`), never re-encrypting the data itself.
"""

from __future__ import annotations

import os
import secrets
import struct
from typing import Final

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from libs.crypto.keyring import CryptoError, Keyring, MasterKey

__all__ = [
    "VERSION",
    "DecryptError",
    "WrappedKey",
    "make_aad",
    "needs_rewrap",
    "new_data_key",
    "open_sealed",
    "rewrap",
    "seal",
    "unwrap",
    "wrap",
]

# Format version, first byte of every blob.  Lets us move to another AEAD
# (e.g. AES-GCM-SIV) later while still opening old blobs.  It is also fed into
# the GCM AAD so flipping it cannot make a blob be parsed under other rules.
VERSION: Final = 1
_HEADER: Final = bytes([VERSION])
_KEY_LEN: Final = 32  # AES-256
# 96-bit random nonces: the GCM-native size (no GHASH-derived IV).  Nonce reuse
# under one key is catastrophic for GCM (reveals plaintext XOR and enables
# forgeries), and with random nonces NIST SP 800-38D caps a key at 2**32
# messages.  The envelope design keeps every key far below that: each DEK
# seals a handful of values and the wrapping key only seals DEKs.
_NONCE_LEN: Final = 12
_TAG_LEN: Final = 16
_MIN_BLOB_LEN: Final = len(_HEADER) + _NONCE_LEN + _TAG_LEN

# HKDF info string: the master key never encrypts anything directly; the
# DEK-wrapping key is derived from it for this one purpose (domain separation).
# Bump the version suffix if the wrap construction ever changes.
_WRAP_INFO: Final = b"bastion/v1/dek-wrap"
_AAD_DOMAIN: Final = b"bastion/aad/v1"
_DECRYPT_FAILED: Final = "decryption failed (wrong key or AAD, or data was modified)"


class DecryptError(CryptoError):
    """A blob failed to open. Deliberately carries no key, plaintext or ciphertext."""


class WrappedKey(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A data key sealed under the master key ``kid`` (store it next to the data)."""

    kid: str
    blob: bytes


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) != _KEY_LEN:
        raise ValueError(f"AES-256-GCM key must be exactly {_KEY_LEN} bytes")


def make_aad(*parts: str) -> bytes:
    """Encode context strings (tenant, provider, key id, ...) as unambiguous AAD.

    Encoding: domain tag, part count, then each part as a 4-byte big-endian
    length followed by its UTF-8 bytes.  Length prefixes mean ``("ab", "c")``
    and ``("a", "bc")`` differ (plain joining with a separator would not be safe
    if a part can contain the separator), and the output is self-delimiting, so
    it can safely be prefixed to other data.
    """
    out = bytearray(_AAD_DOMAIN)
    out += struct.pack(">I", len(parts))
    for part in parts:
        data = part.encode("utf-8")
        out += struct.pack(">I", len(data))
        out += data
    return bytes(out)


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt and authenticate ``plaintext`` under a 32-byte key.

    Args:
        key: 32-byte AES-256 key (normally a DEK from :func:`new_data_key`).
        plaintext: Data to encrypt.
        aad: Context bound to the ciphertext (see :func:`make_aad`); the same
            bytes must be given to :func:`open_sealed`.

    Returns:
        ``version || nonce || ciphertext+tag``.
    """
    _check_key(key)
    # Fresh random nonce per call (see _NONCE_LEN comment); never derived from
    # counters we would have to persist across restarts/replicas.
    nonce = os.urandom(_NONCE_LEN)
    return _HEADER + nonce + AESGCM(key).encrypt(nonce, plaintext, _HEADER + aad)


def open_sealed(key: bytes, blob: bytes, aad: bytes) -> bytes:
    """Decrypt a blob produced by :func:`seal`.

    Raises:
        DecryptError: Wrong key, wrong AAD, unknown version, truncated or
            tampered blob. The message is generic and contains no data.
        ValueError: If ``key`` is not 32 bytes.
    """
    _check_key(key)
    if len(blob) < _MIN_BLOB_LEN or blob[0] != VERSION:
        raise DecryptError(_DECRYPT_FAILED)
    header = blob[:1]
    nonce = blob[1 : 1 + _NONCE_LEN]
    try:
        return AESGCM(key).decrypt(nonce, blob[1 + _NONCE_LEN :], header + aad)
    except InvalidTag:
        raise DecryptError(_DECRYPT_FAILED) from None


def new_data_key() -> bytes:
    """Return a fresh random 32-byte data encryption key."""
    return secrets.token_bytes(_KEY_LEN)


def _wrap_aad(kid: str, aad: bytes) -> bytes:
    # Bind the kid and purpose into the AAD so a blob relabelled with another
    # kid cannot be opened, then append the caller's context (e.g. tenant/row).
    # make_aad() output is self-delimiting, so the concatenation is unambiguous.
    return make_aad("dek-wrap", kid) + aad


def wrap(master: MasterKey, dek: bytes, aad: bytes) -> WrappedKey:
    """Seal a data key under ``master`` (normally ``keyring.primary``).

    Args:
        master: Master key; a wrapping key is derived from it with HKDF-SHA256.
        dek: 32-byte data key.
        aad: Context the DEK belongs to; must match at unwrap time.
    """
    _check_key(dek)
    kek = master.derive(_WRAP_INFO)
    return WrappedKey(kid=master.kid, blob=seal(kek, dek, _wrap_aad(master.kid, aad)))


def unwrap(keyring: Keyring, wrapped: WrappedKey, aad: bytes) -> bytes:
    """Recover a data key using whichever ring key ``wrapped.kid`` names.

    Raises:
        UnknownKeyError: If that master key is no longer in the ring.
        DecryptError: If the blob or AAD does not match.
    """
    master = keyring.get(wrapped.kid)
    dek = open_sealed(master.derive(_WRAP_INFO), wrapped.blob, _wrap_aad(master.kid, aad))
    if len(dek) != _KEY_LEN:
        raise DecryptError(_DECRYPT_FAILED)
    return dek


def needs_rewrap(keyring: Keyring, wrapped: WrappedKey) -> bool:
    """Return True if ``wrapped`` is not under the keyring's primary key."""
    return wrapped.kid != keyring.primary.kid


def rewrap(keyring: Keyring, wrapped: WrappedKey, aad: bytes) -> WrappedKey:
    """Re-wrap a data key under the primary key (rotation); no-op if already there.

    The underlying data need not be touched since the DEK itself is unchanged.
    Once nothing references an old kid, that key can be removed from the ring.
    """
    if not needs_rewrap(keyring, wrapped):
        return wrapped
    return wrap(keyring.primary, unwrap(keyring, wrapped, aad), aad)
