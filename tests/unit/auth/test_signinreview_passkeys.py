"""Adversarial review of issue 12: passkey sign-in without a userHandle (failing test)."""

from __future__ import annotations

import json

from libs.contracts.messages import PasskeySignIn, SignInRefused
from tests.softauthn import SoftAuthenticator
from tests.unit.auth.test_passkeys import ORIGIN, World


async def test_a_discoverable_sign_in_without_a_user_handle_is_refused() -> None:
    """The sign-in is discoverable (no allowCredentials): WebAuthn §7.2 step 6 says the
    ``userHandle`` must then be present and be the credential's owner. ``Passkeys.sign_in`` only
    compares it when present, so an assertion with the handle stripped passes."""
    world = World()
    device = SoftAuthenticator(ORIGIN)
    await world.register(device)
    opts = await world.options()
    assertion = json.loads(device.get(opts.options_json))
    del assertion["response"]["userHandle"]
    got = await world.passkeys.sign_in(PasskeySignIn(request_id="r", challenge=opts.challenge,
                                                     credential_json=json.dumps(assertion)))  # fmt: skip
    assert isinstance(got, SignInRefused), got
