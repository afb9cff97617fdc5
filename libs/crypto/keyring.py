"""Master keys and the keyring used for envelope encryption.

A keyring is an ordered list of 32-byte master keys, newest first.  The first
key (``primary``) wraps all new data keys; older keys stay in the ring only so
that data wrapped under them can still be unwrapped (and rewrapped to the
primary) during a rotation.  Every key has a short public id (``kid``) that is
stored next to each wrapped data key, so unwrapping never has to trial-decrypt
with every key.

Spec format (env var or secret file)::

    kid1:<base64url 32 bytes>,kid2:<base64url 32 bytes>

Entries may be separated by commas and/or whitespace/newlines, which makes
Docker/Kubernetes secret files (one key per line) work unchanged.

No error raised here ever includes key material: messages name entries by
position and kid only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Final, NoReturn

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "DEFAULT_ENV_VAR",
    "DEFAULT_FILE_ENV_VAR",
    "KEY_LEN",
    "CryptoError",
    "Keyring",
    "KeyringError",
    "MasterKey",
    "UnknownKeyError",
    "generate_spec",
]

KEY_LEN: Final = 32
DEFAULT_ENV_VAR: Final = "BASTION_MASTER_KEYS"
DEFAULT_FILE_ENV_VAR: Final = "BASTION_MASTER_KEYS_FILE"

# kids are stored in plaintext next to ciphertexts and appear in logs, so keep
# them short, printable and free of the spec separators (':' ',' whitespace).
# Capped at 32 chars so a 43-char base64url key pasted into the kid position
# can never be a valid kid (and so can never be echoed back in an error).
_KID_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}", re.ASCII)
# 32 bytes -> 43 base64url chars, optionally followed by a single '=' pad.
_B64URL_KEY_RE: Final = re.compile(r"[A-Za-z0-9_-]{43}=?", re.ASCII)
_SPEC_SPLIT_RE: Final = re.compile(r"[,\s]+")


class CryptoError(Exception):
    """Base class for errors raised by ``libs.crypto``."""


class KeyringError(CryptoError, ValueError):
    """Invalid keyring configuration (malformed spec, bad length, duplicate kid)."""


class UnknownKeyError(CryptoError, LookupError):
    """A kid is not (or no longer) present in the keyring."""

    def __str__(self) -> str:
        # LookupError/KeyError would repr() the args; keep it a plain message.
        return str(self.args[0]) if self.args else "unknown key id"


def _check_kid(kid: str) -> None:
    if not isinstance(kid, str) or _KID_RE.fullmatch(kid) is None:
        raise KeyringError("key id must be 1-32 chars of [A-Za-z0-9._-] starting with an alphanumeric")


class MasterKey:
    """A 32-byte master key with its public key id.

    ``repr``/``str`` show only the kid and a short fingerprint, never material.
    """

    __slots__ = ("_kid", "_material")

    def __init__(self, kid: str, material: bytes) -> None:
        """Create a master key.

        Raises:
            KeyringError: If the kid is malformed or the material is not 32 bytes.
        """
        _check_kid(kid)
        if not isinstance(material, bytes) or len(material) != KEY_LEN:
            raise KeyringError(f"master key {kid!r} must be exactly {KEY_LEN} bytes")
        self._kid = kid
        self._material = material

    @property
    def kid(self) -> str:
        """Public key id, stored alongside everything wrapped with this key."""
        return self._kid

    @property
    def material(self) -> bytes:
        """Raw key material (sensitive). Prefer :meth:`derive` in callers."""
        return self._material

    @property
    def fingerprint(self) -> str:
        """Short non-reversible id of the material, to check which key is deployed."""
        tag = hmac.new(self._material, b"bastion/v1/key-fingerprint", hashlib.sha256)
        return tag.hexdigest()[:16]

    def derive(self, info: bytes, length: int = KEY_LEN) -> bytes:
        """Derive a purpose-specific subkey with HKDF-SHA256.

        ``info`` provides domain separation: the master key itself is never used
        directly as a cipher key, so a key used for wrapping DEKs can never be
        confused with one used for any other purpose.  No salt is needed since
        the input is already uniformly random (RFC 5869 section 3.1).
        """
        hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=info)
        return hkdf.derive(self._material)

    def __repr__(self) -> str:
        return f"MasterKey(kid={self._kid!r}, fingerprint={self.fingerprint!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MasterKey):
            return NotImplemented
        return self._kid == other._kid and hmac.compare_digest(self._material, other._material)

    def __hash__(self) -> int:
        return hash(self._kid)

    # Refuse pickling: it would copy key material into caches/queues/logs.
    # Instances are immutable, so (deep)copy can simply return self.
    def __reduce__(self) -> NoReturn:
        raise TypeError("MasterKey cannot be pickled")

    def __copy__(self) -> MasterKey:
        return self

    def __deepcopy__(self, memo: object) -> MasterKey:
        return self


class Keyring:
    """Ordered collection of master keys, newest (primary) first."""

    __slots__ = ("_by_kid", "_keys")

    def __init__(self, keys: Iterable[MasterKey]) -> None:
        """Build a keyring; the first key becomes the primary.

        Raises:
            KeyringError: If empty, or if a kid or key material is duplicated.
        """
        key_list = tuple(keys)
        if not key_list:
            raise KeyringError("keyring must contain at least one master key")
        by_kid: dict[str, MasterKey] = {}
        for k in key_list:
            if k.kid in by_kid:
                raise KeyringError(f"duplicate key id {k.kid!r} in keyring")
            for other in by_kid.values():
                if hmac.compare_digest(other.material, k.material):
                    # Same material under two kids defeats rotation: "retiring"
                    # the old kid would not actually retire the key.
                    raise KeyringError(f"key ids {other.kid!r} and {k.kid!r} have identical material")
            by_kid[k.kid] = k
        self._keys = key_list
        self._by_kid = by_kid

    @property
    def primary(self) -> MasterKey:
        """The newest key; all new wraps use it."""
        return self._keys[0]

    @property
    def kids(self) -> tuple[str, ...]:
        """Key ids, newest first."""
        return tuple(k.kid for k in self._keys)

    def get(self, kid: str) -> MasterKey:
        """Return the key with id ``kid``.

        Raises:
            UnknownKeyError: If no such key is in the ring (e.g. already retired).
        """
        try:
            return self._by_kid[kid]
        except (KeyError, TypeError):
            raise UnknownKeyError(f"unknown master key id {kid!r}") from None

    def __contains__(self, kid: object) -> bool:
        return isinstance(kid, str) and kid in self._by_kid

    def __iter__(self) -> Iterator[MasterKey]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"Keyring(kids={list(self.kids)!r})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("Keyring cannot be pickled")

    def __copy__(self) -> Keyring:
        return self

    def __deepcopy__(self, memo: object) -> Keyring:
        return self

    @classmethod
    def from_spec(cls, spec: str) -> Keyring:
        """Parse ``kid1:b64url,kid2:b64url`` (newest first; ',' or whitespace separated).

        Raises:
            KeyringError: On any malformed entry, wrong key length, or duplicate.
                Entries are identified by position/kid, never by content.
        """
        entries = [e for e in _SPEC_SPLIT_RE.split(spec.strip()) if e]
        if not entries:
            raise KeyringError("master key spec is empty")
        keys: list[MasterKey] = []
        for pos, entry in enumerate(entries, start=1):
            kid, sep, encoded = entry.partition(":")
            if not sep:
                # Don't echo the entry: it may be a bare key pasted without a kid.
                raise KeyringError(f"master key entry #{pos} is not of the form kid:base64url")
            _check_kid(kid)
            keys.append(MasterKey(kid, _decode_key(kid, encoded)))
        return cls(keys)

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str],
        var: str = DEFAULT_ENV_VAR,
        file_var: str = DEFAULT_FILE_ENV_VAR,
    ) -> Keyring:
        """Load from ``environ[var]`` or from the file named by ``environ[file_var]``.

        The ``*_FILE`` form supports Docker/Kubernetes secret mounts so keys need
        not sit in the process environment. Setting both is an error rather than
        silently preferring one, since that usually means a stale deployment.

        Raises:
            KeyringError: If neither/both are set, the file is unreadable, or the
                spec is invalid.
        """
        inline = environ.get(var)
        path = environ.get(file_var)
        if inline and path:
            raise KeyringError(f"set only one of {var} and {file_var}")
        if path:
            try:
                spec = Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) else "not valid UTF-8"
                raise KeyringError(f"cannot read master keys from {file_var}={path!r}: {reason}") from None
            return cls.from_spec(spec)
        if inline:
            return cls.from_spec(inline)
        raise KeyringError(f"no master keys configured: set {var} or {file_var}")


def _decode_key(kid: str, encoded: str) -> bytes:
    # Validate the alphabet ourselves: urlsafe_b64decode silently drops invalid
    # characters, which would let a corrupted key decode to something else.
    if _B64URL_KEY_RE.fullmatch(encoded) is None:
        raise KeyringError(f"master key {kid!r} must be {KEY_LEN} bytes encoded as unpadded base64url")
    try:
        raw = base64.urlsafe_b64decode(encoded.rstrip("=") + "=")
    except (binascii.Error, ValueError):
        raise KeyringError(f"master key {kid!r} is not valid base64url") from None
    if len(raw) != KEY_LEN:
        raise KeyringError(f"master key {kid!r} must be exactly {KEY_LEN} bytes")
    # Reject non-canonical encodings (non-zero trailing bits) so one key has
    # exactly one textual form.
    if base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=") != encoded.rstrip("="):
        raise KeyringError(f"master key {kid!r} is not canonical base64url")
    return raw


def generate_spec(kid: str) -> str:
    """Return ``kid:<base64url of 32 fresh random bytes>`` for a new master key.

    Used by the local stack to write a key under ``var/``; for rotation, put the
    new entry first and keep the old one until everything is rewrapped.
    """
    _check_kid(kid)
    material = secrets.token_bytes(KEY_LEN)
    return f"{kid}:{base64.urlsafe_b64encode(material).decode('ascii').rstrip('=')}"
