"""Unit tests for libs.crypto.keyring."""

from __future__ import annotations

import base64
import copy
import pickle
from pathlib import Path

import pytest

from libs.crypto.keyring import (
    CryptoError,
    Keyring,
    KeyringError,
    MasterKey,
    UnknownKeyError,
    generate_spec,
)

MAT_A = bytes(range(32))
MAT_B = bytes(range(100, 132))


def b64(material: bytes) -> str:
    return base64.urlsafe_b64encode(material).decode().rstrip("=")


def leak_forms(material: bytes) -> list[str]:
    """Textual forms of key material that must never appear in errors/reprs."""
    std = base64.b64encode(material).decode()
    return [material.hex(), b64(material), std, std.rstrip("="), repr(material)]


def assert_no_leak(text: str, *materials: bytes) -> None:
    for m in materials:
        if not m:
            continue
        for form in leak_forms(m):
            assert form not in text


# --- MasterKey --------------------------------------------------------------------


def test_master_key_repr_is_masked() -> None:
    k = MasterKey("k1", MAT_A)
    for text in (repr(k), str(k), f"{k}", repr([k]), repr(Keyring([k]))):
        assert "k1" in text
        assert_no_leak(text, MAT_A)
    assert len(k.fingerprint) == 16
    assert k.fingerprint != MasterKey("k1", MAT_B).fingerprint


@pytest.mark.parametrize("bad", [b"", bytes(range(31)), bytes(range(33)), bytes(range(64))])
def test_master_key_rejects_wrong_length(bad: bytes) -> None:
    with pytest.raises(KeyringError, match="32 bytes") as exc:
        MasterKey("k1", bad)
    assert_no_leak(str(exc.value) + repr(exc.value), bad)


@pytest.mark.parametrize("kid", ["", "-k", "a:b", "a,b", "a b", "k" * 33, "ké"])
def test_master_key_rejects_bad_kid(kid: str) -> None:
    with pytest.raises(KeyringError, match="key id"):
        MasterKey(kid, MAT_A)


def test_master_key_refuses_pickle_but_copies() -> None:
    k = MasterKey("k1", MAT_A)
    with pytest.raises(TypeError):
        pickle.dumps(k)
    with pytest.raises(TypeError):
        pickle.dumps(Keyring([k]))
    assert copy.deepcopy(k) is k
    assert copy.copy(k) is k


def test_derive_is_domain_separated() -> None:
    k = MasterKey("k1", MAT_A)
    a, b = k.derive(b"purpose-a"), k.derive(b"purpose-b")
    assert len(a) == 32
    assert a != b
    assert a != MAT_A
    assert a == k.derive(b"purpose-a")


# --- Keyring ----------------------------------------------------------------------


def test_keyring_order_primary_and_get() -> None:
    ring = Keyring([MasterKey("new", MAT_B), MasterKey("old", MAT_A)])
    assert ring.primary.kid == "new"
    assert ring.kids == ("new", "old")
    assert ring.get("old").material == MAT_A
    assert "old" in ring
    assert "nope" not in ring
    assert len(ring) == 2
    assert [k.kid for k in ring] == ["new", "old"]


def test_keyring_get_unknown_raises_without_material() -> None:
    ring = Keyring([MasterKey("k1", MAT_A)])
    with pytest.raises(UnknownKeyError, match="'k2'") as exc:
        ring.get("k2")
    assert isinstance(exc.value, CryptoError)
    assert isinstance(exc.value, LookupError)
    assert_no_leak(str(exc.value) + repr(exc.value), MAT_A)
    assert exc.value.__cause__ is None
    assert exc.value.__suppress_context__


def test_keyring_rejects_empty_and_duplicates() -> None:
    with pytest.raises(KeyringError, match="at least one"):
        Keyring([])
    with pytest.raises(KeyringError, match="duplicate key id 'k1'") as exc:
        Keyring([MasterKey("k1", MAT_A), MasterKey("k1", MAT_B)])
    assert_no_leak(str(exc.value), MAT_A, MAT_B)
    with pytest.raises(KeyringError, match="identical material") as exc2:
        Keyring([MasterKey("k1", MAT_A), MasterKey("k2", MAT_A)])
    assert_no_leak(str(exc2.value), MAT_A)


# --- spec parsing -----------------------------------------------------------------


def test_from_spec_comma_separated_newest_first() -> None:
    ring = Keyring.from_spec(f"k2:{b64(MAT_B)},k1:{b64(MAT_A)}")
    assert ring.primary == MasterKey("k2", MAT_B)
    assert ring.get("k1").material == MAT_A


def test_from_spec_accepts_whitespace_newlines_and_padding() -> None:
    spec = f"\n  k2:{b64(MAT_B)}=\n\n\tk1:{b64(MAT_A)} ,\n"
    ring = Keyring.from_spec(spec)
    assert ring.kids == ("k2", "k1")


def test_generate_spec_round_trips() -> None:
    spec = generate_spec("local-2025.01")
    kid, _, enc = spec.partition(":")
    assert kid == "local-2025.01"
    assert len(enc) == 43
    ring = Keyring.from_spec(spec)
    assert ring.primary.kid == kid
    assert len(ring.primary.material) == 32
    assert generate_spec("x1") != generate_spec("x1")
    with pytest.raises(KeyringError):
        generate_spec("bad kid")


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("", "empty"),
        (" ,\n ", "empty"),
        (b64(MAT_A), "entry #1 is not of the form"),
        (f"k1:{b64(MAT_A)},{b64(MAT_B)}", "entry #2 is not of the form"),
        (f"k1:{b64(MAT_A)[:-1]}", "'k1' must be 32 bytes"),
        (f"k1:{b64(MAT_A + b'x')}", "'k1' must be 32 bytes"),
        (f"k1:{base64.b64encode(MAT_B).decode()}", "'k1' must be 32 bytes"),  # std alphabet '+/' rejected
        (f"k1:{b64(MAT_A)[:-1]}!", "'k1' must be 32 bytes"),
        (f"k1:{b64(MAT_A)},k1:{b64(MAT_B)}", "duplicate key id 'k1'"),
        (f":{b64(MAT_A)}", "key id"),
    ],
)
def test_from_spec_errors_are_clear_and_leak_free(spec: str, match: str) -> None:
    with pytest.raises(KeyringError, match=match) as exc:
        Keyring.from_spec(spec)
    text = str(exc.value) + repr(exc.value)
    assert_no_leak(text, MAT_A, MAT_B)
    # The offending encoded value must not be echoed either.
    for entry in spec.replace(",", " ").split():
        value = entry.partition(":")[2] or entry
        assert value not in text
    assert exc.value.__cause__ is None


def test_from_spec_rejects_non_canonical_base64() -> None:
    enc = b64(MAT_A)
    # Last char of a 43-char encoding carries 2 unused bits; set them.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    bumped = enc[:-1] + alphabet[alphabet.index(enc[-1]) | 1]
    assert bumped != enc
    with pytest.raises(KeyringError, match="canonical") as exc:
        Keyring.from_spec(f"k1:{bumped}")
    assert bumped not in str(exc.value)


def test_swapped_kid_and_key_is_not_echoed() -> None:
    enc = b64(MAT_A)
    with pytest.raises(KeyringError) as exc:
        Keyring.from_spec(f"{enc}:k1")
    assert_no_leak(str(exc.value) + repr(exc.value), MAT_A)


# --- env loading ------------------------------------------------------------------


def test_from_env_inline() -> None:
    ring = Keyring.from_env({"BASTION_MASTER_KEYS": f"k1:{b64(MAT_A)}"})
    assert ring.primary.kid == "k1"


def test_from_env_custom_var_names() -> None:
    ring = Keyring.from_env({"MY_KEYS": f"k1:{b64(MAT_A)}"}, var="MY_KEYS", file_var="MY_KEYS_FILE")
    assert ring.kids == ("k1",)


def test_from_env_file(tmp_path: Path) -> None:
    secret = tmp_path / "master_keys"
    secret.write_text(f"k2:{b64(MAT_B)}\nk1:{b64(MAT_A)}\n", encoding="utf-8")
    ring = Keyring.from_env({"BASTION_MASTER_KEYS_FILE": str(secret)})
    assert ring.kids == ("k2", "k1")


def test_from_env_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope"
    with pytest.raises(KeyringError, match="BASTION_MASTER_KEYS_FILE"):
        Keyring.from_env({"BASTION_MASTER_KEYS_FILE": str(path)})


def test_from_env_file_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bin"
    path.write_bytes(b"\xff" + MAT_A)
    with pytest.raises(KeyringError, match="UTF-8") as exc:
        Keyring.from_env({"BASTION_MASTER_KEYS_FILE": str(path)})
    assert_no_leak(str(exc.value), MAT_A)


def test_from_env_neither_or_both(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="no master keys configured"):
        Keyring.from_env({})
    with pytest.raises(KeyringError, match="only one") as exc:
        Keyring.from_env({"BASTION_MASTER_KEYS": f"k1:{b64(MAT_A)}", "BASTION_MASTER_KEYS_FILE": str(tmp_path / "f")})
    assert_no_leak(str(exc.value), MAT_A)
