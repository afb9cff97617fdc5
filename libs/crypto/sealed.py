"""Values a browser keeps for us, sealed with ``AUTH_SECRET`` (AES-256-GCM), and keys derived from it.

Anything the server hands a client to bring back later (an OAuth flow's state, PKCE verifier
and nonce; a WebAuthn challenge) is sealed, not signed: the client can neither read nor change
it. ``AUTH_SECRET`` never encrypts anything itself: each purpose gets its own key by HKDF-SHA256
(info ``bastion/v1/auth-secret/<purpose>``), so a value sealed for one purpose does not open as
another, and the purpose and expiry are bound into the associated data / plaintext as well.

Wire form: ``base64url(aead.seal(key, expiry(8 bytes, unix s) || payload, aad))`` without padding.
"""

from __future__ import annotations

import base64
import binascii
import struct
import time
from typing import Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from libs.crypto import aead

__all__ = ["SealError", "Sealer", "decode_secret"]

_MIN_SECRET: Final = 32
_INFO: Final = "bastion/v1/auth-secret/"
_EXPIRY: Final = struct.Struct(">Q")


class SealError(Exception):
    """A sealed value that does not open: tampered, another purpose, another secret, or expired.

    The message is fixed and says nothing about which.
    """


def decode_secret(value: str) -> bytes:
    """``AUTH_SECRET`` as bytes: base64url of at least 32 random bytes (``openssl rand -base64 32``).

    Raises:
        ValueError: Empty, not base64, or shorter than 32 bytes (fail closed: no weak secret).
    """
    text = value.strip()
    try:
        raw = base64.urlsafe_b64decode(text.replace("+", "-").replace("/", "_") + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("AUTH_SECRET is not base64") from None
    if len(raw) < _MIN_SECRET:
        raise ValueError(f"AUTH_SECRET must hold at least {_MIN_SECRET} random bytes")
    return raw


class Sealer:
    """Seals and opens values for a purpose; derives purpose keys (CSRF) from one secret."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < _MIN_SECRET:
            raise ValueError(f"AUTH_SECRET must hold at least {_MIN_SECRET} random bytes")
        self._secret = secret
        self._keys: dict[str, bytes] = {}

    def __repr__(self) -> str:
        return "Sealer(<secret redacted>)"

    def key(self, purpose: str) -> bytes:
        """A 32-byte key for ``purpose`` (HKDF-SHA256 of the secret; never the secret itself)."""
        found = self._keys.get(purpose)
        if found is None:
            hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=(_INFO + purpose).encode())
            found = self._keys[purpose] = hkdf.derive(self._secret)
        return found

    def seal(self, purpose: str, payload: bytes, ttl_s: float, *, now: float | None = None) -> str:
        """``payload`` sealed for ``purpose``, opening only until ``ttl_s`` from now."""
        expiry = int((time.time() if now is None else now) + ttl_s)
        blob = aead.seal(self.key(purpose), _EXPIRY.pack(expiry) + payload, aead.make_aad("sealed", purpose))
        return base64.urlsafe_b64encode(blob).rstrip(b"=").decode("ascii")

    def open(self, purpose: str, token: str, *, now: float | None = None) -> bytes:
        """The payload of ``token`` sealed for ``purpose``.

        Raises:
            SealError: Anything wrong with it, expired included.
        """
        try:
            blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            plain = aead.open_sealed(self.key(purpose), blob, aead.make_aad("sealed", purpose))
        except (binascii.Error, ValueError, aead.DecryptError):
            raise SealError("sealed value does not open") from None
        if len(plain) < _EXPIRY.size:
            raise SealError("sealed value does not open")
        (expiry,) = _EXPIRY.unpack_from(plain)
        if (time.time() if now is None else now) >= expiry:
            raise SealError("sealed value does not open")
        return plain[_EXPIRY.size :]
