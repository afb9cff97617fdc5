"""Sign-in: a proven identity becomes a new session (``gw.auth.oauth_begin/complete.v1``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from libs.contracts.messages import BeginOAuth, CompleteOAuth, Denied, OAuthStart, SessionPrincipal, SignInRefused
from services.auth.oauth import OAuth, refused
from services.auth.sessions import Sessions

FindIdentity = Callable[[str, str], Awaitable[tuple[str, str | None] | None]]


class SignIn:
    """OAuth sign-ins for one auth replica."""

    def __init__(self, oauth: OAuth, sessions: Sessions, find_identity: FindIdentity) -> None:
        self._oauth = oauth
        self._sessions = sessions
        self._find_identity = find_identity

    async def begin(self, cmd: BeginOAuth) -> OAuthStart | Denied:
        """Where to send the browser."""
        return await self._oauth.begin(cmd.provider, cmd.redirect_uri)

    async def complete(self, cmd: CompleteOAuth) -> SessionPrincipal | SignInRefused:
        """A new session for the person the provider vouched for — an identity linked to an
        account before; a matching e-mail address alone links nothing."""
        identity = await self._oauth.complete(cmd.provider, cmd.code, cmd.verifier, cmd.nonce, cmd.redirect_uri)
        if isinstance(identity, SignInRefused):
            return identity
        found = await self._find_identity(identity.provider, identity.subject)
        if found is None:
            return refused("This account is not linked to anyone here. Ask an owner to invite you, or link it "
                           "from a signed-in session.")  # fmt: skip
        user_id, org_id = found
        if org_id is None:
            return SignInRefused(code=refused("").code, reason="You are not a member of any organisation here.",
                                 user_id=user_id)  # fmt: skip
        started = await self._sessions.start(user_id, org_id, f"oauth:{cmd.provider}", cmd.client_ip, cmd.user_agent)
        if isinstance(started, Denied):
            return SignInRefused(code=started.code, reason=started.reason, user_id=user_id)
        return started
