"""Unit tests for libs.crypto.apikeys."""

from __future__ import annotations

import re
import string
import zlib
from collections.abc import Callable

import pytest

from libs.crypto.apikeys import (
    ADMIN_PREFIX,
    PREFIX,
    KeyHasher,
    ParsedKey,
    constant_time_equals,
    generate,
    generate_admin_token,
    lookup_digest,
    mask,
    parse,
    parse_admin_token,
)

B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
PID = "proj42abc"
KEY_RE = re.compile(r"sk-proj_([a-z0-9]{6,40})_([0-9A-Za-z]{43})([0-9A-Za-z]{6})")

# Cheap parameters so the suite stays fast; defaults are tested separately.
FAST = {"time_cost": 1, "memory_cost": 64, "parallelism": 1}


def ref_b62(n: int, width: int) -> str:
    """Independent reference encoder for the documented checksum format."""
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = B62[r] + out
    return out.rjust(width, "0")


# --- format -------------------------------------------------------------------


def test_generate_format_and_checksum_matches_spec() -> None:
    key = generate(PID)
    m = KEY_RE.fullmatch(key)
    assert m is not None
    assert key.startswith(PREFIX)
    pid, body, checksum = m.groups()
    assert pid == PID
    assert checksum == ref_b62(zlib.crc32(f"{PREFIX}{pid}_{body}".encode()), 6)
    assert len(key) == len(PREFIX) + len(PID) + 1 + 43 + 6


@pytest.mark.parametrize("pid", ["abcdef", "a" * 40, "0123456789", "z9z9z9"])
def test_generate_accepts_valid_project_ids(pid: str) -> None:
    parsed = parse(generate(pid))
    assert parsed is not None
    assert parsed.project_id == pid


@pytest.mark.parametrize("pid", ["", "abcde", "a" * 41, "ABCDEF", "abc_def", "abc-def", "abcdé1", "abcdef\n"])
def test_generate_rejects_bad_project_ids(pid: str) -> None:
    with pytest.raises(ValueError, match="project_id"):
        generate(pid)


def test_generate_is_random_and_fixed_width() -> None:
    keys = {generate(PID) for _ in range(500)}
    assert len(keys) == 500
    assert {len(k) for k in keys} == {len(PREFIX) + len(PID) + 1 + 49}


def test_fixed_width_for_small_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    # A secret with many leading zero bytes must still be 43 chars (zero-padded).
    monkeypatch.setattr("libs.crypto.apikeys.secrets.token_bytes", lambda n: b"\x00" * (n - 1) + b"\x01")
    key = generate(PID)
    parsed = parse(key)
    assert parsed is not None
    assert parsed.secret[:43] == "0" * 42 + "1"


def test_parse_round_trip() -> None:
    key = generate(PID)
    parsed = parse(key)
    assert parsed == ParsedKey(project_id=PID, secret=key[len(PREFIX) + len(PID) + 1 :])
    assert parsed is not None
    assert parsed.key == key


# --- checksum -------------------------------------------------------------------


def test_every_single_char_substitution_is_rejected() -> None:
    key = generate(PID)
    replacements = B62 + "_-.+/= é\x00"
    for i, original in enumerate(key):
        for c in replacements:
            if c == original:
                continue
            typo = key[:i] + c + key[i + 1 :]
            assert parse(typo) is None, f"substitution at position {i} accepted"


def test_adjacent_transpositions_are_rejected() -> None:
    key = generate(PID)
    for i in range(len(key) - 1):
        if key[i] == key[i + 1]:
            continue
        swapped = key[:i] + key[i + 1] + key[i] + key[i + 2 :]
        assert parse(swapped) is None, f"transposition at {i} accepted"


def test_checksum_binds_project_id() -> None:
    key = generate(PID)
    moved = key.replace(PID, "otherproj", 1)
    assert parse(moved) is None


def test_non_canonical_body_rejected() -> None:
    # 'z' * 43 decodes above 2**256 - 1: it cannot come from generate(), even
    # with a correct checksum.
    body = "z" * 43
    signed = f"{PREFIX}{PID}_"
    key = signed + body + ref_b62(zlib.crc32((signed + body).encode()), 6)
    assert parse(key) is None


# --- parse rejects shapes -------------------------------------------------------


@pytest.mark.parametrize(
    "mutate",
    [
        lambda k: k.replace(PREFIX, "sk-live_", 1),
        lambda k: k.replace(PREFIX, "SK-PROJ_", 1),
        lambda k: k[len(PREFIX) :],
        lambda k: " " + k,
        lambda k: k + " ",
        lambda k: k + "\n",
        lambda k: k[:-1],
        lambda k: k + "a",
        lambda k: k.replace("_", "-"),
        lambda k: k.replace(f"{PREFIX}{PID}_", f"{PREFIX}{PID}__", 1),
        lambda k: k.replace(PID, PID.upper(), 1),
    ],
)
def test_parse_rejects_bad_shapes(mutate: Callable[[str], str]) -> None:
    key = generate(PID)
    assert parse(mutate(key)) is None


@pytest.mark.parametrize("junk", ["", "sk-proj_", "sk-proj__", "x" * 10_000, "sk-proj_abcdef_" + "٣" * 49])
def test_parse_rejects_junk(junk: str) -> None:
    assert parse(junk) is None


def test_parse_never_raises_on_wrong_type() -> None:
    assert parse(None) is None  # type: ignore[arg-type]
    assert parse(b"sk-proj_abc") is None  # type: ignore[arg-type]
    assert parse_admin_token(None) is False  # type: ignore[arg-type]


def test_parsed_key_repr_hides_secret() -> None:
    key = generate(PID)
    parsed = parse(key)
    assert parsed is not None
    for text in (repr(parsed), str(parsed), f"{parsed}", f"{parsed!r}"):
        assert parsed.secret not in text
        assert parsed.secret[4:-4] not in text
        assert key not in text
        assert PID in text


# --- admin tokens ---------------------------------------------------------------


def test_admin_token_format_and_parse() -> None:
    tok = generate_admin_token()
    assert re.fullmatch(r"bst_adm_[0-9A-Za-z]{49}", tok)
    body, checksum = tok[len(ADMIN_PREFIX) : -6], tok[-6:]
    assert checksum == ref_b62(zlib.crc32((ADMIN_PREFIX + body).encode()), 6)
    assert parse_admin_token(tok)
    assert parse(tok) is None
    assert not parse_admin_token(generate(PID))


def test_admin_token_single_char_typos_rejected() -> None:
    tok = generate_admin_token()
    for i, original in enumerate(tok):
        for c in B62 + "_-":
            if c != original:
                assert not parse_admin_token(tok[:i] + c + tok[i + 1 :]), i
    assert not parse_admin_token(tok[:-1])
    assert not parse_admin_token(tok + "0")


# --- mask -----------------------------------------------------------------------


def test_mask_hides_secret() -> None:
    key = generate(PID)
    secret = key[len(PREFIX) + len(PID) + 1 :]
    masked = mask(key)
    assert masked == f"{PREFIX}{PID}_{secret[:4]}…{secret[-4:]}"
    visible = masked[len(PREFIX) + len(PID) + 1 :].replace("…", "")
    assert len(visible) <= 8
    assert secret[4:-4] not in masked


def test_mask_admin_token() -> None:
    tok = generate_admin_token()
    masked = mask(tok)
    assert masked.startswith(ADMIN_PREFIX)
    assert tok[len(ADMIN_PREFIX) + 4 : -4] not in masked


@pytest.mark.parametrize("bad", ["", "hunter2", "sk-proj_abcdef_tooshort", "x" * 60])
def test_mask_redacts_unparseable_input(bad: str) -> None:
    assert mask(bad) == "<redacted>"


def test_mask_redacts_key_with_typo() -> None:
    key = generate(PID)
    typo = key[:-1] + ("0" if key[-1] != "0" else "1")
    masked = mask(typo)
    assert key[len(PREFIX) :][:20] not in masked
    assert masked == "<redacted>"


# --- lookup digest / compare ----------------------------------------------------


def test_lookup_digest_is_keyed_and_deterministic() -> None:
    key = generate(PID)
    pepper = b"p" * 32
    d = lookup_digest(pepper, key)
    assert re.fullmatch(r"[0-9a-f]{64}", d)
    assert d == lookup_digest(pepper, key)
    assert d != lookup_digest(b"q" * 32, key)
    assert d != lookup_digest(pepper, generate(PID))
    assert key not in d


def test_lookup_digest_rejects_short_pepper() -> None:
    with pytest.raises(ValueError, match="pepper"):
        lookup_digest(b"short", generate(PID))


def test_constant_time_equals() -> None:
    assert constant_time_equals("abc", "abc")
    assert not constant_time_equals("abc", "abd")
    assert not constant_time_equals("abc", "abcd")
    assert constant_time_equals("é", "é")


# --- hashing --------------------------------------------------------------------


def test_default_parameters_are_owasp_minimum() -> None:
    ph = KeyHasher()._ph
    assert (ph.time_cost, ph.memory_cost, ph.parallelism) == (2, 19456, 1)
    encoded = KeyHasher().hash(generate(PID))
    assert encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_hash_verify_round_trip_and_mismatch() -> None:
    hasher = KeyHasher(**FAST)
    key = generate(PID)
    encoded = hasher.hash(key)
    assert key not in encoded
    assert encoded != hasher.hash(key)  # random salt
    assert hasher.verify(encoded, key)
    assert not hasher.verify(encoded, generate(PID))
    assert not hasher.verify(encoded, key[:-1])


def test_default_hasher_round_trip() -> None:
    hasher = KeyHasher()
    key = generate(PID)
    assert hasher.verify(hasher.hash(key), key)


@pytest.mark.parametrize(
    "encoded",
    ["", "garbage", "$argon2id$v=19$m=64,t=1,p=1$bad$bad", "$argon2id$v=19$m=64,t=1,p=1$", "$argon2id$é"],
)
def test_verify_never_raises_on_invalid_hash(encoded: str) -> None:
    assert KeyHasher(**FAST).verify(encoded, generate(PID)) is False


async def test_verify_async() -> None:
    hasher = KeyHasher(**FAST)
    key = generate(PID)
    encoded = hasher.hash(key)
    assert await hasher.verify_async(encoded, key)
    assert not await hasher.verify_async(encoded, generate(PID))


def test_needs_rehash() -> None:
    weak = KeyHasher(**FAST)
    strong = KeyHasher(time_cost=2, memory_cost=128, parallelism=1)
    key = generate(PID)
    old = weak.hash(key)
    assert not weak.needs_rehash(old)
    assert strong.needs_rehash(old)
    assert strong.verify(old, key)  # still verifies with old params (they are in the hash)
    assert not strong.needs_rehash(strong.hash(key))
    assert strong.needs_rehash("not a hash")
