"""Auth: people's passkeys (WebAuthn), for the management API.

``credential_json`` is the browser's ``PublicKeyCredential`` as JSON (``toJSON()``); ``challenge``
is base64url and was handed to the browser sealed (the API keeps it in a ceremony token). Never
log these Structs: a credential response is single-use proof of possession.
"""

from __future__ import annotations

import msgspec

from libs.contracts.messages.common import Denied, Fault
from libs.contracts.messages.sessions import SessionPrincipal, SignInRefused


class PasskeyOptions(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Options for a ceremony: registration for ``user_id`` (``user_name`` shown by the
    authenticator), or — no ``user_id`` — a discoverable sign-in."""

    request_id: str
    user_id: str = ""
    user_name: str = ""
    secret: str = ""
    """Registration: the session asking (auth checks it may add a second factor). Never log this."""

    def __repr__(self) -> str:
        return f"PasskeyOptions(request_id={self.request_id!r}, user_id={self.user_id!r}, secret=<redacted>)"


class PasskeyChallenge(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="ok", tag_field="kind"):
    """``options_json`` for ``navigator.credentials.create/get``, and its challenge (base64url)."""

    options_json: str
    challenge: str


PasskeyOptionsReply = PasskeyChallenge | Denied | Fault


class RegisterPasskey(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Add the new credential to ``user_id``'s passkeys."""

    request_id: str
    user_id: str
    challenge: str
    credential_json: str
    name: str = ""
    secret: str = ""
    """The session asking (auth checks it may add a second factor). Never log this."""

    def __repr__(self) -> str:
        return f"RegisterPasskey(request_id={self.request_id!r}, user_id={self.user_id!r}, <redacted>)"


class PasskeyInfo(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One passkey as its owner sees it (unix seconds; ``last_used_at`` 0: never)."""

    id: str
    name: str
    created_at: int
    last_used_at: int = 0


class PasskeyList(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag="ok", tag_field="kind"):
    """A person's passkeys (after a change: what is left)."""

    passkeys: list[PasskeyInfo]


PasskeyListReply = PasskeyList | Denied | Fault


class ListPasskeys(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """``user_id``'s passkeys."""

    request_id: str
    user_id: str


class RemovePasskey(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Remove one of ``user_id``'s passkeys."""

    request_id: str
    user_id: str
    passkey_id: str
    secret: str = ""
    """The session asking (auth checks it may remove a second factor). Never log this."""

    def __repr__(self) -> str:
        return f"RemovePasskey(request_id={self.request_id!r}, user_id={self.user_id!r}, secret=<redacted>)"


class PasskeySignIn(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A discoverable sign-in: the assertion names the credential and the person."""

    request_id: str
    challenge: str
    credential_json: str
    client_ip: str = ""
    user_agent: str = ""

    def __repr__(self) -> str:
        return f"PasskeySignIn(request_id={self.request_id!r}, <redacted>)"


PasskeySignInReply = SessionPrincipal | SignInRefused | Denied | Fault
