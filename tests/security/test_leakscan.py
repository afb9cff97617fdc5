"""The canary scanner itself (tests/leakscan.py) finds a planted secret in every encoding, inside
longer text, and reports it without printing it; a file without it yields nothing."""

from __future__ import annotations

import base64
import json
import secrets
import urllib.parse
from pathlib import Path

import pytest

from libs.crypto import apikeys
from tests.leakscan import Needle, mask, needles_for, scan_bytes, scan_files, secret_part

API_KEY = apikeys.generate("canaryunit")
TEXT = "cnry." + secrets.token_urlsafe(30) + "+/="  # a provider key with characters that encode
MASTER = secrets.token_bytes(32)


def _wrapped(secret: str | bytes) -> dict[str, bytes]:
    """``secret`` leaked in each way the scanner claims to catch, amid other bytes."""
    raw = secret.encode() if isinstance(secret, str) else secret
    out = {
        "hex": raw.hex().encode(),
        "HEX": raw.hex().upper().encode(),
        "bytea": b"\\\\x" + raw.hex().encode(),
    }
    for lead in (b"", b"a", b"ab", b"Bearer "):  # every base64 alignment, and a wrapping header
        out[f"base64 after {lead!r}"] = base64.b64encode(lead + raw + b"\n")
        out[f"base64url after {lead!r}"] = base64.urlsafe_b64encode(lead + raw).rstrip(b"=")
    if isinstance(secret, str):
        body = json.dumps({"detail": secret})
        out |= {
            "raw": raw,
            "json": body.encode(),
            "json in json": json.dumps({"msg": body}).encode(),
            "json \\/": body.replace("/", "\\/").encode(),
            "url": urllib.parse.urlencode({"key": secret}).encode(),
            "url quote": urllib.parse.quote(secret, safe="").encode(),
            "typo first half": (secret[:-3] + "XYZ").encode(),
            "typo second half": ("XYZ" + secret[3:]).encode(),
        }
    else:
        out["raw bytes"] = raw
    return out


CASES = [
    (label, secret, how, leaked)
    for label, secret in (("api key", secret_part(API_KEY)), ("provider key", TEXT), ("master key", MASTER))
    for how, leaked in _wrapped(secret).items()
]


@pytest.mark.parametrize(("label", "secret", "how", "leaked"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_a_planted_secret_is_found_in_a_file(tmp_path: Path, label: str, secret: str | bytes, how: str,
                                             leaked: bytes) -> None:  # fmt: skip
    path = tmp_path / "leak.bin"
    path.write_bytes(secrets.token_bytes(50) + b" log line: " + leaked + b" end\n" + secrets.token_bytes(50))
    hits = scan_files([path], needles_for(label, secret))
    assert hits, how
    assert all(h.label == label and h.where == str(path) for h in hits)
    assert min(h.offset for h in hits) >= 50


def test_nothing_is_found_where_the_secret_is_not(tmp_path: Path) -> None:
    path = tmp_path / "clean.log"
    others = [secret_part(apikeys.generate("canaryunit")), "cnry." + secrets.token_urlsafe(30), apikeys.mask(API_KEY)]
    path.write_bytes("\n".join(others).encode() + secrets.token_bytes(100_000))
    needles = [*needles_for("api key", secret_part(API_KEY)), *needles_for("text", TEXT), *needles_for("mk", MASTER)]
    assert scan_files([path], needles) == []


def test_reports_name_the_secret_without_showing_it() -> None:
    needles = needles_for(mask(API_KEY), secret_part(API_KEY))
    hits = scan_bytes("somewhere", b"x" + API_KEY.encode(), needles)
    assert hits
    shown = " ".join(str(h) for h in hits) + repr(needles) + mask(API_KEY) + mask(MASTER)
    for part in (secret_part(API_KEY)[:12], secret_part(API_KEY)[-12:], MASTER.hex()[:12]):
        assert part not in shown
    assert mask(API_KEY).startswith("sk-proj_")


def test_offsets_point_at_the_leak() -> None:
    needle = Needle("x", "raw", b"needle-needle-needle")
    data = b"..." + needle.data + b"...." + needle.data
    assert [h.offset for h in scan_bytes("d", data, [needle])] == [3, 3 + len(needle.data) + 4]
