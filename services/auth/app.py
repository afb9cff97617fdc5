"""Auth service wiring."""

from __future__ import annotations

import functools
import logging
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import asyncpg
from nats.aio.client import Client

from libs.contracts import subjects
from libs.contracts.codec import encode
from libs.contracts.messages import CredentialInvalidated
from libs.crypto.apikeys import KeyHasher
from libs.db.pool import create_pool, ready_check
from libs.svc import periodic, runner
from libs.svc.micro import Service
from services.auth import handlers, store
from services.auth.lazy import Lazy
from services.auth.manager import Manager
from services.auth.session_store import SessionStore
from services.auth.sessions import Sessions
from services.auth.settings import AuthSettings, get_oauth_settings, get_passkey_settings, get_settings
from services.auth.verifier import Verifier

if TYPE_CHECKING:
    from services.auth.passkeys import Passkeys
    from services.auth.signin import SignIn
    from services.auth.totp import Totp

log = logging.getLogger("bastion.auth")
SYNC_INTERVAL_S = 2.0


def change_poller(pool: asyncpg.Pool, verifier: Verifier) -> AbstractAsyncContextManager[None]:
    """Safety net: evict credentials changed in the database even if their event was missed."""
    since = [datetime.now(UTC) - timedelta(seconds=5)]

    async def tick() -> None:
        try:
            changes = await store.changed_since(pool, since[0] - timedelta(seconds=SYNC_INTERVAL_S))
        except (OSError, asyncpg.PostgresError):
            verifier.invalidate_all()  # cannot confirm anything: drop the cache (fail safe)
            return
        for cred_id, updated in changes:
            verifier.invalidate(cred_id)
            since[0] = max(since[0], updated)

    return periodic.every(SYNC_INTERVAL_S, tick)


def _signin(sessions: Sessions, session_store: SessionStore) -> SignIn:
    from services.auth.oauth import OAuth  # authlib, httpx2, joserfc: on the first sign-in only
    from services.auth.signin import SignIn

    return SignIn(OAuth(get_oauth_settings()), sessions, session_store.identity_signin)


def _passkeys(pool: asyncpg.Pool, sessions: Sessions) -> Passkeys:
    from services.auth.passkey_store import PasskeyStore
    from services.auth.passkeys import Passkeys  # py_webauthn, pyOpenSSL: on the first passkey request only

    return Passkeys(PasskeyStore(pool), sessions, get_passkey_settings())


def _totp(pool: asyncpg.Pool, sessions: Sessions, settings: AuthSettings) -> Totp:
    from services.auth.totp import Totp  # pyotp, cryptography's AES-GCM: on the first 2FA request only
    from services.auth.totp_store import TotpStore

    return Totp(TotpStore(pool), sessions, settings.pepper(), max_failures=settings.factor_max_failures,
                lockout_s=settings.factor_lockout_s)  # fmt: skip


async def run() -> None:
    """Connect to Postgres and NATS and serve until SIGTERM."""
    settings = get_settings()
    pool = await create_pool(settings.db_dsn, max_size=settings.pool_size)
    hasher = KeyHasher()
    verifier = Verifier(
        settings,
        find_key=functools.partial(store.find_key, pool),
        find_token=functools.partial(store.find_token, pool),
        check_hash=hasher.verify_async,
    )
    svc = Service(handlers.SERVICE)
    connection: list[Client] = []

    async def publish(event: CredentialInvalidated) -> None:
        # Same connection as the reply that follows, so the server routes the event first.
        await connection[0].publish(subjects.CREDENTIAL_INVALIDATED, encode(event))

    async def on_connect(nc: Client) -> None:
        connection.append(nc)

    handlers.register(svc, verifier)
    handlers.register_commands(svc, Manager(pool, verifier, hasher, publish))
    session_store = SessionStore(pool)
    sessions = Sessions(session_store, settings, verifier.budget)
    handlers.register_sessions(svc, sessions)
    handlers.register_signin(svc, Lazy(lambda: _signin(sessions, session_store)))
    handlers.register_passkeys(svc, Lazy(lambda: _passkeys(pool, sessions)))
    handlers.register_totp(svc, Lazy(lambda: _totp(pool, sessions, settings)))
    try:
        await runner.serve(svc, settings, ready=ready_check(pool), resources=[change_poller(pool, verifier)],
                           on_connect=on_connect)  # fmt: skip
    finally:
        await pool.close()
