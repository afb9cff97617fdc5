"""A software WebAuthn authenticator and browser (ES256, ``none`` attestation, discoverable
credentials), to drive passkey ceremonies in tests without a real device."""

from __future__ import annotations

import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

UP, UV, AT = 0x01, 0x04, 0x40


@dataclass
class Credential:
    credential_id: bytes
    key: ec.EllipticCurvePrivateKey
    user_handle: bytes
    rp_id: str
    count: int = 0


@dataclass
class SoftAuthenticator:
    """Holds credentials; ``uv`` says whether it verifies the user; ``counter_step`` 0 keeps the
    sign counter at 0 (as many platform passkeys do)."""

    origin: str
    uv: bool = True
    counter_step: int = 1
    credentials: list[Credential] = field(default_factory=list)

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin,
                           "crossOrigin": False}).encode()  # fmt: skip

    def _flags(self, extra: int = 0) -> int:
        return UP | (UV if self.uv else 0) | extra

    def create(self, options_json: str, *, origin: str | None = None) -> str:
        """``navigator.credentials.create``: a new credential for the options' user; its JSON."""
        options = json.loads(options_json)
        rp_id = options["rp"]["id"]
        key = ec.generate_private_key(ec.SECP256R1())
        cred = Credential(secrets.token_bytes(16), key, base64url_to_bytes(options["user"]["id"]), rp_id)
        numbers = key.public_key().public_numbers()
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})
        auth_data = (hashlib.sha256(rp_id.encode()).digest() + bytes([self._flags(AT)]) + struct.pack(">I", 0)
                     + bytes(16) + struct.pack(">H", len(cred.credential_id)) + cred.credential_id + cose)  # fmt: skip
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        self.credentials.append(cred)
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        return json.dumps({
            "id": bytes_to_base64url(cred.credential_id), "rawId": bytes_to_base64url(cred.credential_id),
            "type": "public-key", "clientExtensionResults": {}, "authenticatorAttachment": "platform",
            "response": {"clientDataJSON": bytes_to_base64url(client_data),
                         "attestationObject": bytes_to_base64url(attestation), "transports": ["internal"]},
        })  # fmt: skip

    def get(self, options_json: str, *, origin: str | None = None, credential: Credential | None = None,
            user_handle: bytes | None = None) -> str:  # fmt: skip
        """``navigator.credentials.get`` (discoverable): an assertion by the first (or given) credential."""
        options = json.loads(options_json)
        cred = credential or next(c for c in self.credentials if c.rp_id == options["rpId"])
        cred.count += self.counter_step
        auth_data = (
            hashlib.sha256(cred.rp_id.encode()).digest() + bytes([self._flags()]) + struct.pack(">I", cred.count)
        )
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = cred.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return json.dumps({
            "id": bytes_to_base64url(cred.credential_id), "rawId": bytes_to_base64url(cred.credential_id),
            "type": "public-key", "clientExtensionResults": {}, "authenticatorAttachment": "platform",
            "response": {"clientDataJSON": bytes_to_base64url(client_data),
                         "authenticatorData": bytes_to_base64url(auth_data),
                         "signature": bytes_to_base64url(signature),
                         "userHandle": bytes_to_base64url(user_handle if user_handle is not None else cred.user_handle)},
        })  # fmt: skip


def challenge_of(options_json: str) -> Any:
    """The challenge of ceremony options (base64url)."""
    return json.loads(options_json)["challenge"]
