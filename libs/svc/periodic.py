"""Background work every few seconds, as a resource a service enters and leaves."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable


@contextlib.asynccontextmanager
async def every(seconds: float, tick: Callable[[], Awaitable[None]]) -> AsyncIterator[None]:
    """Run ``tick`` every ``seconds`` while the context is open; cancelled on exit.

    ``tick`` handles its own errors: one that raises ends the loop, so it must not.
    """

    async def loop() -> None:
        while True:
            await asyncio.sleep(seconds)
            await tick()

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
