"""libs.crypto.sealed: what a browser keeps for us opens only unchanged, for its purpose, in time."""

from __future__ import annotations

import base64

import pytest

from libs.crypto import apikeys
from libs.crypto.sealed import Sealer, SealError, decode_secret
from libs.svc.logs import scrub

SECRET = bytes(range(32))


def test_round_trip_within_its_lifetime() -> None:
    sealer = Sealer(SECRET)
    token = sealer.seal("oauth", b"state+verifier", 60, now=1000)
    assert sealer.open("oauth", token, now=1059) == b"state+verifier"
    assert b"state" not in base64.urlsafe_b64decode(token + "==")  # sealed, not merely signed


@pytest.mark.parametrize("how", ["expired", "purpose", "secret", "tampered", "truncated", "garbage"])
def test_refused(how: str) -> None:
    sealer = Sealer(SECRET)
    token = sealer.seal("oauth", b"x", 60, now=1000)
    now = 1000.0
    purpose = "oauth"
    opener = sealer
    if how == "expired":
        now = 1060
    elif how == "purpose":
        purpose = "webauthn"
    elif how == "secret":
        opener = Sealer(bytes(range(1, 33)))
    elif how == "tampered":
        raw = bytearray(base64.urlsafe_b64decode(token + "=="))
        raw[-1] ^= 1
        token = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    elif how == "truncated":
        token = token[:20]
    else:
        token = "%%%not-base64%%%"
    with pytest.raises(SealError) as caught:
        opener.open(purpose, token, now=now)
    assert str(caught.value) == "sealed value does not open"


def test_purpose_keys_differ_and_are_not_the_secret() -> None:
    sealer = Sealer(SECRET)
    assert sealer.key("csrf") != sealer.key("oauth")
    assert SECRET not in (sealer.key("csrf"), sealer.key("oauth"))
    assert "0001" not in repr(sealer)
    assert "redacted" in repr(sealer)


@pytest.mark.parametrize("value", ["", "short", base64.b64encode(b"x" * 31).decode(), "!!!!"])
def test_weak_or_malformed_secret_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="AUTH_SECRET"):
        decode_secret(value)


def test_secret_accepts_standard_and_url_alphabets() -> None:
    raw = bytes(range(200, 232))
    assert decode_secret(base64.b64encode(raw).decode()) == raw
    assert decode_secret(base64.urlsafe_b64encode(raw).decode().rstrip("=")) == raw


def test_session_secrets_parse_and_are_scrubbed() -> None:
    secret = apikeys.generate_session_secret()
    assert apikeys.parse_session_secret(secret)
    assert not apikeys.parse_session_secret(secret[:-1] + ("A" if secret[-1] != "A" else "B"))
    assert not apikeys.parse_session_secret(apikeys.generate_admin_token())
    assert not apikeys.parse_admin_token(secret)
    assert secret not in scrub(f"cookie bastion_session={secret}")
