"""The edge application: Litestar, one NATS connection and one HTTP client per worker."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp

from libs.svc import logs, periodic
from libs.svc.absent import absent
from libs.svc.authfail import FailedAuths
from libs.svc.bus import Bus, close_quietly, connect
from libs.svc.clientaddr import client_address_middleware
from libs.svc.egress import EgressPolicy
from libs.svc.egress_http import GuardedClient
from libs.svc.events import EventBacklogFull, EventPublisher, spool_for
from libs.svc.requestid import request_id_middleware
from libs.svc.scrape import answer_scrapes, worker_instance
from libs.telemetry import setup as telemetry
from services.edge import errors
from services.edge.gateway import Gateway
from services.edge.routes.chat import chat_completions
from services.edge.routes.embeddings import create_embeddings
from services.edge.routes.health import healthz, readyz
from services.edge.routes.messages import count_message_tokens, create_message
from services.edge.routes.models import list_models
from services.edge.settings import get_settings
from services.edge.upstream.anthropic import AnthropicAdapter
from services.edge.upstream.base import Adapter
from services.edge.upstream.gemini import GeminiAdapter
from services.edge.upstream.openai import OpenAIAdapter

log = logging.getLogger("bastion.edge")


@asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """Open the bus connection, the event publisher and the upstream pool; close them in reverse."""
    settings = get_settings()
    nc = await connect(settings, "bastion-edge")
    await answer_scrapes(nc, "edge", worker_instance(settings.instance, "edge"))
    # The streams are the operator's (libs/stack: streams); the edge may only publish to them.
    events = EventPublisher(nc, max_queue=settings.event_queue_size, spool=spool_for(settings, "edge"))
    events.start()
    # Idle connections are dropped before the common 5 s server keep-alive (uvicorn's default),
    # so a pooled connection is rarely reused just as the upstream closes it.
    # Every connection is checked against the egress policy (resolved address, no redirects).
    client = GuardedClient(EgressPolicy(settings.upstream_allow), limit=512, keepalive_s=4.0)
    connect_s = settings.upstream_connect_timeout_s
    openai = OpenAIAdapter(client, connect_s)
    adapters: dict[str, Adapter] = {
        "openai": openai,
        "openai_compatible": openai,
        "anthropic": AnthropicAdapter(client, connect_s),
        "gemini": GeminiAdapter(client, connect_s),
    }
    failures = FailedAuths(lambda event: events.audit(event, source="edge"), window_s=settings.auth_fail_window_s)
    gateway = Gateway(Bus(nc, settings.bus_timeout_s), events, failures=failures)
    app.state.gateway = gateway
    app.state.adapters = adapters

    async def close_windows() -> None:
        try:
            failures.tick()
        except EventBacklogFull:  # kept open; retried on the next tick
            log.warning("failed-auth summary not queued: event backlog full")

    try:
        async with (
            periodic.every(0.05, gateway.quotas.sweep),  # expired or idle quota leases go back
            periodic.every(1.0, close_windows),  # failed-auth counts whose window ended
        ):
            yield
    finally:
        await gateway.quotas.close()
        try:
            failures.flush()  # counts of open windows, before the publisher drains
        except EventBacklogFull:
            log.error("failed-auth counts not queued at shutdown: event backlog full")
        await events.close()
        await client.aclose()
        await close_quietly(nc)


def create_app() -> ASGIApp:
    """The edge as uvicorn serves it: the request-id layer wraps everything, so even responses
    Litestar produces before routing (unknown path, wrong method) carry ``x-request-id``; then
    the client address (only configured trusted proxies may name another)."""
    settings = get_settings()
    return request_id_middleware(
        client_address_middleware(build_app(), settings.trusted_proxies, settings.client_ip_header)
    )


def build_app() -> Litestar:
    """Build the Litestar application."""
    settings = get_settings()
    logs.setup("edge", settings.log_level)
    telemetry.setup("edge", settings.trace_file)
    # Litestar registers its Pydantic plugins whenever pydantic is installed; the edge is msgspec
    # throughout, and the plugins cost ~6 MB of PSS per worker (issue 11, as in the management API).
    with absent("pydantic"):
        return Litestar(
            route_handlers=[
                chat_completions,
                create_message,
                count_message_tokens,
                create_embeddings,
                list_models,
                healthz,
                readyz,
            ],
            lifespan=[lifespan],
            exception_handlers={
                errors.ApiError: errors.handle_api_error,
                HTTPException: errors.handle_http_exception,
                Exception: errors.handle_unexpected,
            },
            request_max_body_size=settings.max_body_bytes,
            openapi_config=None,
            debug=False,
        )
