"""Review of h/audit: the read-only AUDIT stream user (``audit_reader``) and what it can make the
server publish for it."""

from __future__ import annotations

import asyncio

import nats
import pytest

from libs.contracts import subjects
from libs.svc.bus import settled
from tests.e2e.test_bus_permissions import _connect
from tests.stack import Stack

AIMED_AT = "gw.audit.review"  # a subject another user (the audit service's) subscribes to


async def _pull_into(stack: Stack, reply: str) -> list[str]:
    """As ``audit_reader``: one pull request on its durable whose reply subject is ``reply``."""
    errors: list[str] = []
    nc = await _connect(stack, "audit_reader", errors)
    try:
        await nc.publish(f"$JS.API.CONSUMER.MSG.NEXT.{subjects.AUDIT_STREAM}.{subjects.AUDIT_FORWARD_DURABLE}",
                         b'{"batch": 1, "no_wait": true}', reply=reply)  # fmt: skip
        await nc.flush()
        await asyncio.sleep(0.5)
    finally:
        await nc.close()
    return errors


async def _delivered_elsewhere(stack: Stack) -> list[str]:
    errors: list[str] = []
    victim = await _connect(stack, "audit", errors)
    try:
        sub = await victim.subscribe(AIMED_AT)
        await settled(victim)
        refused = await _pull_into(stack, AIMED_AT)
        try:
            msg = await sub.next_msg(timeout=2)
        except nats.errors.TimeoutError:
            return []
        return [f"{msg.subject} ({len(msg.data)} bytes) delivered to {AIMED_AT}; server errors {refused}"]
    finally:
        await victim.close()


@pytest.mark.e2e
@pytest.mark.xfail(
    strict=True,
    reason="nats-server does not check a pull request's reply subject; closing it needs "
    "a push consumer into the reader's inbox or a separate account (docs/threat-model.md, Known gaps)",
)
def test_the_read_only_reader_cannot_aim_stored_events_at_other_subjects(stack: Stack) -> None:
    """``audit_reader`` may publish pull requests for its durable, and a pull request's reply
    subject — which no permission checks — is where JetStream delivers what was pulled. Naming
    another service's subject makes the server publish stored audit events (IPs, user agents,
    every organisation's) onto it, with the reader's durable's ack subject as their reply: the
    "read-only" user publishes, through the server, to any subject (docs/audit.md: "publishes
    nothing else"). A push consumer delivering into ``_INBOX_audit_reader.…``, with no
    ``MSG.NEXT`` permission, would keep it to reading. (Re-ingesting a pulled event into ``AUDIT``
    by naming an audit subject was tried: the stream did not take it.)"""
    wrong = asyncio.run(_delivered_elsewhere(stack))
    assert wrong == [], wrong
