"""The management API (control plane)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from litestar import Litestar, Request, get
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.types import ASGIApp

from libs.db.pool import create_pool
from libs.svc import logs, periodic
from libs.svc.absent import absent
from libs.svc.authfail import FailedAuths
from libs.svc.bus import Bus, close_quietly, connect
from libs.svc.clientaddr import client_address_middleware
from libs.svc.events import EventBacklogFull, EventPublisher, spool_for
from libs.svc.requestid import request_id_middleware
from libs.svc.scrape import answer_scrapes, worker_instance
from libs.telemetry import setup as telemetry
from services.api import problems
from services.api.controllers.aliases import AliasController
from services.api.controllers.audit import AuditController
from services.api.controllers.guardrails import GuardrailController
from services.api.controllers.keys import KeyController
from services.api.controllers.passkeys import PasskeyController, PasskeySignInController
from services.api.controllers.providers import ProviderController
from services.api.controllers.sessions import SessionController
from services.api.controllers.signin import SignInController
from services.api.controllers.tenancy import MemberController, OrgController, ProjectController
from services.api.controllers.tokens import TokenController
from services.api.controllers.usage import UsageController
from services.api.inputs import unstorable_input_middleware
from services.api.openapi import document_problems
from services.api.ratelimit import FixedWindow, rate_limit_middleware, strict_credentials
from services.api.security import admin
from services.api.sessions import cookie_policy, sealer_for, session_cookie_middleware
from services.api.settings import get_settings, get_signin_settings


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """Bus connection and database pool."""
    settings = get_settings()
    nc = await connect(settings, "bastion-api")
    await answer_scrapes(nc, "api", worker_instance(settings.instance, "api"))
    pool = await create_pool(settings.db_dsn, max_size=settings.pool_size)
    events = EventPublisher(nc, concurrency=4, spool=spool_for(settings, "api"))
    events.start()
    app.state.bus = Bus(nc, settings.bus_timeout_s)
    app.state.pool = pool
    app.state.events = events
    failures = FailedAuths(lambda event: events.audit(event, source="api"), actor_type="management_token",
                           window_s=settings.auth_fail_window_s)  # fmt: skip
    app.state.failed_auths = failures
    session_failures = FailedAuths(lambda event: events.audit(event, source="api"), actor_type="user",
                                   window_s=settings.auth_fail_window_s)  # fmt: skip
    app.state.failed_sessions = session_failures

    async def close_windows() -> None:
        with contextlib.suppress(EventBacklogFull):  # kept open; retried on the next tick
            failures.tick()
            session_failures.tick()

    try:
        async with periodic.every(1.0, close_windows):  # rejected-token counts whose window ended
            yield
    finally:
        with contextlib.suppress(EventBacklogFull):
            failures.flush()  # before the publisher drains
            session_failures.flush()
        await events.close()
        await pool.close()
        await close_quietly(nc)


async def provide_db(request: Request[Any, Any, Any]) -> asyncpg.Pool:
    """The database pool."""
    pool: asyncpg.Pool = request.app.state.pool
    return pool


@get("/healthz", sync_to_thread=False, include_in_schema=False)
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


def create_app() -> ASGIApp:
    """The API as uvicorn serves it: request ids wrap everything (so even a rate-limited answer
    has one), then the client address (only configured trusted proxies may name another), then
    rate limiting by that address, then refusing a path or query no row can store (NUL, bad UTF-8);
    innermost, the session cookie a request's authentication hands out (renewed or cleared)."""
    settings = get_settings()
    limited = rate_limit_middleware(
        strict_credentials(session_cookie_middleware(build_app())),
        FixedWindow(settings.rate_limit, settings.rate_window_s),
    )
    checked = unstorable_input_middleware(limited)
    return request_id_middleware(
        client_address_middleware(checked, settings.trusted_proxies, settings.client_ip_header)
    )


def build_app() -> Litestar:
    """Build the Litestar application."""
    settings = get_settings()
    logs.setup("api", settings.log_level)
    telemetry.setup("api", settings.trace_file)
    # Litestar registers its Pydantic plugins whenever pydantic is installed (it is, for other
    # libraries); the API is msgspec throughout, and the plugins cost ~6.6 MB (issue 11).
    with absent("pydantic"):
        app = Litestar(
            route_handlers=[
                healthz,
                OrgController,
                ProjectController,
                MemberController,
                KeyController,
                TokenController,
                GuardrailController,
                ProviderController,
                AliasController,
                UsageController,
                AuditController,
                SessionController,
                PasskeySignInController,
                SignInController,
                PasskeyController,
            ],
            cors_config=CORSConfig(
                allow_origins=settings.origin_urls,
                allow_credentials=True,
                allow_headers=["authorization", "content-type", "x-request-id", "x-client-request-id", "x-csrf-token"],
            )
            if settings.origin_urls
            else None,
            lifespan=[lifespan],
            dependencies={"admin": Provide(admin), "db": Provide(provide_db)},
            exception_handlers={
                problems.Problem: problems.handle_problem,
                HTTPException: problems.handle_http,
                Exception: problems.handle_unexpected,
            },
            openapi_config=OpenAPIConfig(title="Bastion management API", version="1.0.0", path="/openapi"),
            debug=False,
            state=State(
                {
                    "sealer": sealer_for(get_signin_settings()),
                    "cookie_policy": cookie_policy(settings, get_signin_settings()),
                }
            ),
        )
        document_problems(app.openapi_schema)
    return app
