"""A responder that has subscribed and settled is reachable at once from any other connection.

nats-py 2.16 writes a flush's PING straight to the socket while the SUB it follows may still sit in
the client's pending buffer, so ``flush()`` can return before the server has the subscription: a
request sent right after it then gets "no responders" (seen in ~3% of tries here). A service
reports itself ready after subscribing, so that window is a 503 on a freshly started replica.
"""

from __future__ import annotations

import nats
import nats.errors

from libs.svc import bus

SUBJECT = "t.settled"
TRIES = 600


async def _unreachable_after(url: str, settle: bool) -> int:
    missed = 0
    caller = await nats.connect(url)
    try:
        for _ in range(TRIES):
            responder = await nats.connect(url)

            async def answer(msg: nats.aio.msg.Msg) -> None:
                await msg.respond(b"ok")

            await responder.subscribe(SUBJECT, cb=answer)
            if settle:
                await bus.settled(responder)
            else:
                await responder.flush()
            try:
                await caller.request(SUBJECT, b"?", timeout=2)
            except nats.errors.NoRespondersError:
                missed += 1
            await responder.close()
    finally:
        await caller.close()
    return missed


async def test_a_settled_subscription_is_visible_to_the_next_request(nats_url: str) -> None:
    assert await _unreachable_after(nats_url, settle=True) == 0
