"""API keys and admin tokens: generation, offline validation, masking and hashing.

Key format::

    sk-proj_{project_id}_{body}{checksum}

* ``project_id`` -- ``[a-z0-9]{6,40}``; never contains ``_`` so the key splits
  unambiguously.
* ``body`` -- 32 bytes from :func:`secrets.token_bytes`, base62-encoded to a
  fixed width of 43 characters (62**43 > 2**256, so 43 is the minimum width).
* ``checksum`` -- CRC32 of ``"sk-proj_{project_id}_" + body`` base62-encoded to
  a fixed width of 6 characters.  Like GitHub's token checksums, this lets us
  reject typos and random garbage offline, before any DB lookup or argon2 work.
  CRC32 is *not* a MAC: it carries no secret and provides no authenticity.

Admin (management) tokens use the same body/checksum scheme behind the
``bst_adm_`` prefix, and a person's session ids (the opaque value of the session cookie) behind
``bst_ses_``: a scanner or the log scrubber can spot either.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
import string
import zlib
from dataclasses import dataclass
from typing import Final

from argon2 import PasswordHasher, Type
from argon2.exceptions import Argon2Error

__all__ = [
    "ADMIN_PREFIX",
    "PREFIX",
    "SESSION_PREFIX",
    "KeyHasher",
    "ParsedKey",
    "constant_time_equals",
    "generate",
    "generate_admin_token",
    "generate_session_secret",
    "lookup_digest",
    "mask",
    "parse",
    "parse_admin_token",
    "parse_session_secret",
    "validate_project_id",
]

PREFIX: Final = "sk-proj_"
ADMIN_PREFIX: Final = "bst_adm_"
SESSION_PREFIX: Final = "bst_ses_"

# Ordered by ASCII code point, so for fixed-width strings lexicographic order
# equals numeric order (used for the cheap canonical-range check in ``parse``).
_B62: Final = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SECRET_BYTES: Final = 32
_BODY_LEN: Final = 43
_CHECKSUM_LEN: Final = 6
_SECRET_LEN: Final = _BODY_LEN + _CHECKSUM_LEN
_PID_MIN: Final = 6
_PID_MAX: Final = 40
_KEY_MIN_LEN: Final = len(PREFIX) + _PID_MIN + 1 + _SECRET_LEN
_KEY_MAX_LEN: Final = len(PREFIX) + _PID_MAX + 1 + _SECRET_LEN
_ADMIN_LEN: Final = len(ADMIN_PREFIX) + _SECRET_LEN

_PID_RE: Final = re.compile(r"[a-z0-9]{6,40}", re.ASCII)
_KEY_RE: Final = re.compile(r"sk-proj_([a-z0-9]{6,40})_([0-9A-Za-z]{43})([0-9A-Za-z]{6})", re.ASCII)
_ADMIN_RE: Final = re.compile(r"bst_adm_([0-9A-Za-z]{43})([0-9A-Za-z]{6})", re.ASCII)
_SESSION_RE: Final = re.compile(r"bst_ses_([0-9A-Za-z]{43})([0-9A-Za-z]{6})", re.ASCII)

_ELLIPSIS: Final = "\u2026"
_REDACTED: Final = "<redacted>"
_MIN_PEPPER_LEN: Final = 16


def _b62encode(value: int, width: int) -> str:
    """Encode a non-negative int as fixed-width base62 (left-padded with '0')."""
    if value < 0 or value >= 62**width:
        raise ValueError("value out of range for base62 width")
    chars = ["0"] * width
    for i in range(width - 1, -1, -1):
        value, rem = divmod(value, 62)
        chars[i] = _B62[rem]
    return "".join(chars)


# Largest canonical body: encoding of 2**256 - 1.  Bodies above it cannot have
# come from ``generate`` and are rejected as malformed.
_BODY_MAX: Final = _b62encode(2 ** (8 * _SECRET_BYTES) - 1, _BODY_LEN)


def _checksum(prefix_and_body: str) -> str:
    return _b62encode(zlib.crc32(prefix_and_body.encode("ascii")), _CHECKSUM_LEN)


def _new_body() -> str:
    return _b62encode(int.from_bytes(secrets.token_bytes(_SECRET_BYTES), "big"), _BODY_LEN)


def _checksum_ok(signed_part: str, body: str, checksum: str) -> bool:
    if body > _BODY_MAX:
        return False
    # The checksum is public, but compare_digest costs nothing and keeps the
    # validation path free of data-dependent early exits.
    return hmac.compare_digest(_checksum(signed_part + body), checksum)


@dataclass(frozen=True, slots=True)
class ParsedKey:
    """A syntactically valid API key split into its parts.

    ``secret`` is the 49-character body+checksum.  It is excluded from
    ``repr``/``str`` so a ParsedKey can be logged safely.
    """

    project_id: str
    secret: str

    @property
    def key(self) -> str:
        """The full API key (sensitive)."""
        return f"{PREFIX}{self.project_id}_{self.secret}"

    def __repr__(self) -> str:
        return f"ParsedKey(project_id={self.project_id!r}, key={mask(self.key)!r})"

    __str__ = __repr__


def validate_project_id(project_id: str) -> None:
    """Raise ValueError unless ``project_id`` matches ``[a-z0-9]{6,40}``."""
    if not isinstance(project_id, str) or _PID_RE.fullmatch(project_id) is None:
        raise ValueError("project_id must match [a-z0-9]{6,40}")


def generate(project_id: str) -> str:
    """Generate a new API key for ``project_id``.

    Args:
        project_id: Project identifier, ``[a-z0-9]{6,40}``.

    Returns:
        The full key. Show it to the user once; store only
        :func:`lookup_digest` and :meth:`KeyHasher.hash` of it.

    Raises:
        ValueError: If ``project_id`` is malformed.
    """
    validate_project_id(project_id)
    signed = f"{PREFIX}{project_id}_"
    body = _new_body()
    return f"{signed}{body}{_checksum(signed + body)}"


def parse(key: str) -> ParsedKey | None:
    """Validate shape, charset, length and checksum of an API key.

    Cheap and offline (a regex plus one CRC32): call it before any DB lookup or
    argon2 verification so garbage never costs more than a few microseconds.

    Returns:
        The parsed key, or ``None`` if anything is wrong. Never raises.
    """
    if not isinstance(key, str) or not _KEY_MIN_LEN <= len(key) <= _KEY_MAX_LEN:
        return None
    m = _KEY_RE.fullmatch(key)
    if m is None:
        return None
    project_id, body, checksum = m.group(1, 2, 3)
    if not _checksum_ok(f"{PREFIX}{project_id}_", body, checksum):
        return None
    return ParsedKey(project_id=project_id, secret=body + checksum)


def generate_admin_token() -> str:
    """Generate a management token ``bst_adm_{43-char body}{6-char checksum}``."""
    body = _new_body()
    return f"{ADMIN_PREFIX}{body}{_checksum(ADMIN_PREFIX + body)}"


def parse_admin_token(tok: str) -> bool:
    """Return True iff ``tok`` has the admin-token shape and a valid checksum.

    This only catches typos/garbage; authorisation still requires comparing
    against the stored hash. Never raises.
    """
    if not isinstance(tok, str) or len(tok) != _ADMIN_LEN:
        return False
    m = _ADMIN_RE.fullmatch(tok)
    if m is None:
        return False
    body, checksum = m.group(1, 2)
    return _checksum_ok(ADMIN_PREFIX, body, checksum)


def generate_session_secret() -> str:
    """Generate a session id ``bst_ses_{43-char body}{6-char checksum}`` (256 random bits).

    It is the cookie's whole value and a bearer secret: the database keeps only its
    :func:`lookup_digest`, and the session's public id (``ses_…``) names it everywhere else.
    """
    body = _new_body()
    return f"{SESSION_PREFIX}{body}{_checksum(SESSION_PREFIX + body)}"


def parse_session_secret(value: str) -> bool:
    """True iff ``value`` has the session-id shape and a valid checksum (offline, never raises)."""
    if not isinstance(value, str) or len(value) != _ADMIN_LEN:
        return False
    m = _SESSION_RE.fullmatch(value)
    if m is None:
        return False
    body, checksum = m.group(1, 2)
    return _checksum_ok(SESSION_PREFIX, body, checksum)


def mask(key: str) -> str:
    """Return a display-safe form of an API key or admin token.

    Shows the project id plus the first 4 and last 4 characters of the secret
    part (8 of 49 chars, ~48 bits of a 256-bit secret, and the last 4 are
    checksum characters), e.g. ``sk-proj_abc123_Xy7Q…9Qwz``. Anything that does
    not parse is fully redacted, since it might be a mistyped real secret.
    """
    parsed = parse(key)
    if parsed is not None:
        s = parsed.secret
        return f"{PREFIX}{parsed.project_id}_{s[:4]}{_ELLIPSIS}{s[-4:]}"
    if parse_admin_token(key):
        s = key[len(ADMIN_PREFIX) :]
        return f"{ADMIN_PREFIX}{s[:4]}{_ELLIPSIS}{s[-4:]}"
    return _REDACTED


def prefix_hint(key: str) -> str:
    """The project id and the first 4 characters of the secret (``sk-proj_abc123_Xy7Q…``) of a
    well-formed key, else "": enough to tell which project a stream of refused keys targets,
    nothing that helps recover a key (24 bits of its 256)."""
    parsed = parse(key)
    return f"{PREFIX}{parsed.project_id}_{parsed.secret[:4]}{_ELLIPSIS}" if parsed is not None else ""


def lookup_digest(pepper: bytes, key: str) -> str:
    """Return hex HMAC-SHA256(pepper, key) for use as a DB index / cache key.

    A keyed HMAC rather than a bare hash: someone holding a DB dump (but not the
    pepper, which lives with the master keys) cannot confirm a guessed or leaked
    key against the index. The output is deterministic, so it can be looked up
    with an equality query; the raw key is never stored or used as a cache key.

    Raises:
        ValueError: If the pepper is shorter than 16 bytes.
    """
    if len(pepper) < _MIN_PEPPER_LEN:
        raise ValueError("pepper must be at least 16 bytes")
    return hmac.new(pepper, key.encode("utf-8"), hashlib.sha256).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    """Compare two strings in time independent of where they differ."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


class KeyHasher:
    """Argon2id hashing of API keys / admin tokens (argon2-cffi PasswordHasher).

    Defaults are the OWASP minimum for argon2id (m=19 MiB, t=2, p=1).  Our
    secrets carry 256 bits of entropy, so offline guessing is infeasible even
    with a fast hash; argon2id is defence in depth (e.g. against a future
    weak-RNG bug or imported low-entropy keys) and keeps hashes useless to
    whoever dumps the DB.  We deliberately stay at the minimum because every
    request authenticates: measured 27-35 ms per hash/verify (min/median) on
    the 2-core box (not the ~18 ms first estimated), paid once per key because
    callers cache the result under :func:`lookup_digest`.  p=1 because
    extra lanes would just compete with the event loop's worker threads, and
    19 MiB per concurrent verify keeps the default to_thread pool (<= 6 workers
    on 2 cores) around 115 MiB peak.
    """

    __slots__ = ("_ph",)

    def __init__(self, *, time_cost: int = 2, memory_cost: int = 19456, parallelism: int = 1) -> None:
        """Create a hasher; ``memory_cost`` is in KiB (19456 KiB = 19 MiB)."""
        self._ph = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,  # random per hash, embedded in the encoded string
            type=Type.ID,  # argon2id: hybrid resistance to side channels and GPUs
        )

    def hash(self, key: str) -> str:
        """Return the encoded argon2id hash (PHC string, includes salt and params)."""
        return self._ph.hash(key)

    def verify(self, encoded: str, key: str) -> bool:
        """Return True iff ``key`` matches ``encoded``.

        Never raises on mismatch or on a malformed/unsupported hash. Argon2's
        final tag comparison is constant-time.
        """
        try:
            return self._ph.verify(encoded, key)
        except (Argon2Error, ValueError):
            # VerifyMismatchError / VerificationError are Argon2Error;
            # InvalidHashError, UnsupportedParametersError and UnicodeError
            # (non-ASCII hash) are ValueError.
            return False

    async def verify_async(self, encoded: str, key: str) -> bool:
        """Like :meth:`verify` but runs in a worker thread so the loop isn't blocked."""
        return await asyncio.to_thread(self.verify, encoded, key)

    def needs_rehash(self, encoded: str) -> bool:
        """Return True if ``encoded`` was made with other parameters (or is invalid).

        Call after a successful verify and re-store ``hash(key)`` when True, so
        parameter upgrades roll out as keys are used.
        """
        try:
            return self._ph.check_needs_rehash(encoded)
        except ValueError:
            return True
