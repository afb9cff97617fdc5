"""Unit tests for libs.crypto.aead."""

from __future__ import annotations

import base64

import msgspec
import pytest

from libs.crypto.aead import (
    VERSION,
    DecryptError,
    WrappedKey,
    make_aad,
    needs_rewrap,
    new_data_key,
    open_sealed,
    rewrap,
    seal,
    unwrap,
    wrap,
)
from libs.crypto.keyring import CryptoError, Keyring, MasterKey, UnknownKeyError

KEY = bytes(range(32))
PT = b"sk-upstream-provider-secret-0123456789"
AAD = make_aad("tenant-a", "openai", "cred-1", "v1")

OLD = MasterKey("2024-01", bytes(range(50, 82)))
NEW = MasterKey("2025-06", bytes(range(150, 182)))


def flip(blob: bytes, i: int) -> bytes:
    return blob[:i] + bytes([blob[i] ^ 0x01]) + blob[i + 1 :]


def assert_no_leak(exc: BaseException, *secrets: bytes) -> None:
    text = str(exc) + repr(exc) + repr(exc.args)
    for s in secrets:
        for form in (s.hex(), base64.b64encode(s).decode(), repr(s)):
            assert form not in text
    assert exc.__cause__ is None
    assert exc.__suppress_context__


# --- seal / open ---------------------------------------------------------------------


@pytest.mark.parametrize("pt", [b"", b"x", PT, bytes(100_000)])
def test_round_trip(pt: bytes) -> None:
    blob = seal(KEY, pt, AAD)
    assert blob[0] == VERSION
    assert len(blob) == 1 + 12 + len(pt) + 16
    assert open_sealed(KEY, blob, AAD) == pt
    if len(pt) >= 8:  # a 1-byte plaintext appears in random ciphertext by chance (~1 in 9)
        assert pt not in blob


def test_nonce_uniqueness_across_many_seals() -> None:
    n = 20_000
    nonces = {seal(KEY, b"same", AAD)[1:13] for _ in range(n)}
    assert len(nonces) == n


def test_tamper_every_byte_fails() -> None:
    blob = seal(KEY, PT, AAD)
    # Covers version byte, every nonce byte, ciphertext and tag.
    for i in range(len(blob)):
        with pytest.raises(DecryptError):
            open_sealed(KEY, flip(blob, i), AAD)


@pytest.mark.parametrize("cut", [0, 1, 13, 28, -1])
def test_truncated_or_extended_blob_fails(cut: int) -> None:
    blob = seal(KEY, PT, AAD)
    with pytest.raises(DecryptError):
        open_sealed(KEY, blob[:cut], AAD)
    with pytest.raises(DecryptError):
        open_sealed(KEY, blob + b"\x00", AAD)


def test_wrong_key_fails_without_leak() -> None:
    blob = seal(KEY, PT, AAD)
    other = bytes(32)
    with pytest.raises(DecryptError) as exc:
        open_sealed(other, blob, AAD)
    assert isinstance(exc.value, CryptoError)
    assert_no_leak(exc.value, KEY, other, PT, blob, blob[13:])


def test_aad_tamper_and_binding() -> None:
    blob = seal(KEY, PT, AAD)
    for wrong in (
        make_aad("tenant-b", "openai", "cred-1", "v1"),  # another tenant
        make_aad("tenant-a", "anthropic", "cred-1", "v1"),  # another provider
        make_aad("tenant-a", "openai", "cred-2", "v1"),  # another row / key id
        make_aad("tenant-a", "openai", "cred-1", "v2"),
        make_aad("tenant-a", "openai", "cred-1"),
        b"",
        AAD + b"\x00",
        flip(AAD, len(AAD) - 1),
    ):
        with pytest.raises(DecryptError) as exc:
            open_sealed(KEY, blob, wrong)
        assert_no_leak(exc.value, KEY, PT)


def test_make_aad_is_unambiguous() -> None:
    cases = [
        ("ab", "c"),
        ("a", "bc"),
        ("abc",),
        ("abc", ""),
        ("", "abc"),
        ("a\x00b",),
        ("a", "b"),
        ("a\x00\x00\x00\x01b",),
        (),
    ]
    encoded = [make_aad(*c) for c in cases]
    assert len(set(encoded)) == len(cases)
    assert make_aad("x", "é") == make_aad("x", "é")


@pytest.mark.parametrize("bad", [b"", bytes(16), bytes(24), bytes(33)])
def test_rejects_non_256_bit_keys(bad: bytes) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        seal(bad, PT, AAD)
    with pytest.raises(ValueError, match="32 bytes"):
        open_sealed(bad, b"\x01" + bytes(40), AAD)


# --- envelope ----------------------------------------------------------------------


def test_new_data_key() -> None:
    keys = {new_data_key() for _ in range(1000)}
    assert len(keys) == 1000
    assert all(len(k) == 32 for k in keys)


def test_wrap_unwrap_round_trip() -> None:
    ring = Keyring([NEW, OLD])
    dek = new_data_key()
    w = wrap(ring.primary, dek, AAD)
    assert w.kid == NEW.kid
    assert dek not in w.blob
    assert unwrap(ring, w, AAD) == dek
    # The DEK then seals data as usual.
    assert open_sealed(unwrap(ring, w, AAD), seal(dek, PT, AAD), AAD) == PT


def test_wrapping_key_is_derived_not_master() -> None:
    dek = new_data_key()
    w = wrap(NEW, dek, AAD)
    with pytest.raises(DecryptError):
        open_sealed(NEW.material, w.blob, AAD)


def test_wrapped_key_msgspec_round_trip() -> None:
    ring = Keyring([NEW])
    dek = new_data_key()
    w = wrap(NEW, dek, AAD)
    for enc, dec in (
        (msgspec.json.encode, msgspec.json.decode),
        (msgspec.msgpack.encode, msgspec.msgpack.decode),
    ):
        w2 = dec(enc(w), type=WrappedKey)
        assert w2 == w
        assert unwrap(ring, w2, AAD) == dek
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"kid":"k","blob":"AA==","x":1}', type=WrappedKey)


def test_unwrap_aad_binding() -> None:
    ring = Keyring([NEW])
    dek = new_data_key()
    w = wrap(NEW, dek, make_aad("tenant-a", "cred-1"))
    for wrong in (make_aad("tenant-b", "cred-1"), make_aad("tenant-a", "cred-2"), b""):
        with pytest.raises(DecryptError) as exc:
            unwrap(ring, w, wrong)
        assert_no_leak(exc.value, dek, NEW.material)


def test_unwrap_relabelled_kid_fails() -> None:
    # Same material under a different kid: the kid is bound into the AAD.
    ring = Keyring([MasterKey("other", NEW.material)])
    w = wrap(NEW, new_data_key(), AAD)
    with pytest.raises(DecryptError):
        unwrap(ring, WrappedKey(kid="other", blob=w.blob), AAD)


def test_unwrap_tampered_blob_fails() -> None:
    ring = Keyring([NEW])
    w = wrap(NEW, new_data_key(), AAD)
    for i in range(len(w.blob)):
        with pytest.raises(DecryptError):
            unwrap(ring, WrappedKey(kid=w.kid, blob=flip(w.blob, i)), AAD)


def test_wrap_rejects_bad_dek() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        wrap(NEW, b"short", AAD)


def test_rotation() -> None:
    dek = new_data_key()
    # Written while OLD was primary.
    ring_v1 = Keyring([OLD])
    w_old = wrap(ring_v1.primary, dek, AAD)
    assert w_old.kid == OLD.kid

    # Rotate: NEW is prepended; OLD stays so existing rows still unwrap.
    ring_v2 = Keyring([NEW, OLD])
    assert ring_v2.primary is NEW
    assert unwrap(ring_v2, w_old, AAD) == dek
    assert needs_rewrap(ring_v2, w_old)

    w_new = rewrap(ring_v2, w_old, AAD)
    assert w_new.kid == NEW.kid
    assert not needs_rewrap(ring_v2, w_new)
    assert unwrap(ring_v2, w_new, AAD) == dek
    assert rewrap(ring_v2, w_new, AAD) is w_new  # already primary: no-op

    # Retire OLD: rewrapped data still opens, stale wraps fail cleanly.
    ring_v3 = Keyring([NEW])
    assert unwrap(ring_v3, w_new, AAD) == dek
    with pytest.raises(UnknownKeyError, match=OLD.kid) as exc:
        unwrap(ring_v3, w_old, AAD)
    assert_no_leak(exc.value, dek, NEW.material, OLD.material)


def test_rewrap_with_wrong_aad_fails() -> None:
    ring = Keyring([NEW, OLD])
    w_old = wrap(OLD, new_data_key(), AAD)
    with pytest.raises(DecryptError):
        rewrap(ring, w_old, make_aad("tenant-b"))
