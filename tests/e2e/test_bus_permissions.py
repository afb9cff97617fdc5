"""Each process has its own NATS user (its client certificate: tests/e2e/test_bus_tls.py); the server
refuses what its permissions do not allow."""

from __future__ import annotations

import asyncio

import nats
import pytest

from libs.contracts import subjects
from libs.svc.bus import settled
from tests.stack import Stack


async def _connect(stack: Stack, user: str, errors: list[str]) -> nats.NATS:
    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    return await nats.connect(stack.bus_url, **stack.bus_options(user), error_cb=on_error, max_reconnect_attempts=0,
                              allow_reconnect=False)  # fmt: skip


async def _refused(stack: Stack, user: str, action: str, subject: str) -> list[str]:
    errors: list[str] = []
    nc = await _connect(stack, user, errors)
    try:
        if action == "publish":
            with pytest.raises((nats.errors.TimeoutError, nats.errors.NoRespondersError)):
                await nc.request(subject, b"{}", timeout=1)
        else:
            await nc.subscribe(subject)
            await settled(nc)
        for _ in range(20):
            if errors:
                break
            await asyncio.sleep(0.05)
    finally:
        await nc.close()
    return errors


@pytest.mark.parametrize(
    ("user", "action", "subject"),
    [
        ("edge", "publish", subjects.VAULT_KEY_STORE),  # only the management API may store provider keys
        ("edge", "publish", subjects.VAULT_ALIAS_SET),  # ... or change a project's model aliases
        ("guardrails", "publish", subjects.VAULT_ALIAS_DELETE),
        ("edge", "publish", subjects.VAULT_PROVIDER_TEST),  # upstream test calls: management API only
        ("edge", "publish", subjects.AUTH_KEY_ROTATE),
        ("guardrails", "publish", subjects.VAULT_RESOLVE),  # only the edge may resolve
        ("api", "publish", subjects.VAULT_RESOLVE),
        ("edge", "subscribe", subjects.VAULT_RESOLVE),  # nobody but the vault listens on vault subjects
        ("metering", "subscribe", "gw.vault.>"),
        ("api", "subscribe", "_INBOX_edge.>"),  # nobody reads another user's replies (they carry provider keys)
        ("audit", "subscribe", ">"),
        # the read-only audit reader (issue 13): its own durable only, no event, no stream management
        ("audit_reader", "publish", "gw.evt.audit.edge.chat.completion"),
        ("audit_reader", "publish", "$JS.API.STREAM.PURGE.AUDIT"),
        ("audit_reader", "publish", "$JS.API.CONSUMER.MSG.NEXT.AUDIT.audit"),  # not the audit service's durable
        ("audit_reader", "publish", "$JS.API.CONSUMER.MSG.NEXT.AUDIT.audit_forward"),  # pushed to it: no pulls
        ("audit_reader", "publish", "gw.dlq.audit_forward"),
        ("audit_reader", "subscribe", "gw.evt.audit.>"),
        # the metrics bridge: the broadcast scrape only, not the operator's powers
        ("metrics", "publish", "$JS.API.STREAM.PURGE.AUDIT"),
        ("metrics", "publish", "gw.evt.usage.edge"),
        ("metrics", "publish", subjects.metrics("auth")),
        ("metrics", "subscribe", "_INBOX_edge.>"),
    ],
)
async def test_server_refuses_what_a_user_may_not_do(stack: Stack, user: str, action: str, subject: str) -> None:
    errors = await _refused(stack, user, action, subject)
    assert any("permissions violation" in e.lower() for e in errors), errors


async def test_allowed_requests_still_work(stack: Stack) -> None:
    errors: list[str] = []
    nc = await _connect(stack, "edge", errors)
    try:
        reply = await nc.request(subjects.ping("vault"), b'{"request_id": "perm-test"}', timeout=2)
        assert b'"service":"vault"' in reply.data
    finally:
        await nc.close()
    assert not errors


async def test_the_metrics_user_scrapes_every_process(stack: Stack) -> None:
    from libs.stack import metrics_bridge

    errors: list[str] = []
    nc = await _connect(stack, "metrics", errors)
    try:
        answers = await metrics_bridge.collect(nc, window_s=1.0)
    finally:
        await nc.close()
    assert not errors
    assert {"auth", "guardrails", "vault", "metering", "audit", "edge"} <= {a.service for a in answers}, answers
