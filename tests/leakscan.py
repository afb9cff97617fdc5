"""Find planted secrets in files and dumps, in every encoding a leak could take.

A secret can leak as itself or wrapped: base64 or base64url (of the secret, or of any longer
text that contains it: a basic-auth header, a JSON blob, a serialised message), hex (a bytea
column, a hexdump), JSON-escaped (once or twice: a log line quoting a JSON body), or URL-encoded
(a logged query string). A near-copy leaks too (a mistyped key is still most of the key), so
the two halves of a long text secret are searched on their own. Hits name the secret by a
masked label only; the scanner never returns or prints the secret itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

# Halves shorter than this could match by chance (16 base62 characters: 2^95 values).
_MIN_FRAGMENT = 16


@dataclass(frozen=True)
class Needle:
    """One byte string to look for: ``label`` names the secret (masked), ``form`` the encoding."""

    label: str
    form: str
    data: bytes

    def __repr__(self) -> str:
        return f"Needle({self.label!r}, {self.form!r})"


@dataclass(frozen=True)
class Hit:
    """Where a needle was found (``where``: a file or a dump name; ``offset``: its first byte)."""

    where: str
    offset: int
    label: str
    form: str

    def __str__(self) -> str:
        return f"{self.where} @ {self.offset}: {self.label} ({self.form})"


def mask(secret: str | bytes) -> str:
    """A printable name for a secret that reveals none of it: its public prefix (Bastion keys and
    tokens only), its length and a short SHA-256 fingerprint."""
    raw = secret.encode() if isinstance(secret, str) else secret
    prefix = next((p for p in ("sk-proj_", "bst_adm_") if raw.startswith(p.encode())), "")
    return f"{prefix}…[{len(raw)}B #{hashlib.sha256(raw).hexdigest()[:8]}]"


def _b64_cores(raw: bytes, encode: Callable[[bytes], bytes]) -> list[bytes]:
    """The base64 text that any encoding of a longer byte string containing ``raw`` must contain,
    for each of the three alignments ``raw`` can have in it: only whole 4-character quanta made
    from ``raw``'s bytes alone (the first and last quanta mix in unknown neighbours)."""
    cores = []
    for shift in range(3):
        text = encode(b"\0" * shift + raw)
        core = text[4 if shift else 0 : 4 * ((shift + len(raw)) // 3)]
        if len(core) >= _MIN_FRAGMENT:
            cores.append(core)
    return cores


def _text_forms(secret: str) -> dict[str, bytes]:
    once = json.dumps(secret)[1:-1]
    forms = {
        "raw": secret,
        "json": once,
        "json \\/": once.replace("/", "\\/"),
        "json twice": json.dumps(once)[1:-1],
        "json \\u": "".join(f"\\u{ord(c):04x}" for c in secret),
        "url": urllib.parse.quote(secret, safe=""),
        "url path": urllib.parse.quote(secret),
        "url form": urllib.parse.quote_plus(secret),
    }
    return {form: text.encode() for form, text in forms.items()}


def _binary_forms(raw: bytes) -> dict[str, bytes]:
    forms = {"hex": raw.hex().encode(), "HEX": raw.hex().upper().encode()}
    for name, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
        for shift, core in enumerate(_b64_cores(raw, encode)):
            forms[f"{name}/{shift}"] = core
    return forms


def needles_for(label: str, secret: str | bytes) -> list[Needle]:
    """Every form in which ``secret`` (text, or raw key bytes) may leak, labelled ``label``."""
    forms: dict[str, bytes] = {}
    if isinstance(secret, str):
        forms.update(_text_forms(secret))
        raw = secret.encode()
        if len(secret) >= 2 * _MIN_FRAGMENT:  # near-copies: a typo leaves one half intact
            half = len(secret) // 2
            forms["first half"], forms["second half"] = raw[:half], raw[half:]
    else:
        raw = secret
        forms["raw bytes"] = raw
    forms.update(_binary_forms(raw))
    unique: dict[bytes, str] = {}
    for form, data in forms.items():
        unique.setdefault(data, form)
    return [Needle(label, form, data) for data, form in unique.items()]


def secret_part(secret: str) -> str:
    """What must not leak of a secret: for Bastion keys and tokens the random part (their prefix
    and project id are public), otherwise all of it."""
    if secret.startswith(("sk-proj_", "bst_adm_", "bst_ses_")):
        return secret.rsplit("_", 1)[-1]
    return secret


def scan_bytes(where: str, data: bytes, needles: Iterable[Needle]) -> list[Hit]:
    """Every occurrence of every needle in ``data``."""
    hits = []
    for needle in needles:
        at = data.find(needle.data)
        while at != -1:
            hits.append(Hit(where, at, needle.label, needle.form))
            at = data.find(needle.data, at + 1)
    return hits


def scan_files(paths: Iterable[Path], needles: list[Needle]) -> list[Hit]:
    """Every occurrence of every needle in each file (read as bytes: binary stores too)."""
    return [hit for path in paths for hit in scan_bytes(str(path), path.read_bytes(), needles)]
