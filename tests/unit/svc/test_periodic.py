from __future__ import annotations

import asyncio

from libs.svc.periodic import every


async def test_ticks_while_open_and_stops_on_exit() -> None:
    ticks: list[int] = []

    async def tick() -> None:
        ticks.append(1)

    async with every(0.01, tick):
        await asyncio.sleep(0.08)
    seen = len(ticks)
    await asyncio.sleep(0.05)
    assert seen >= 3
    assert len(ticks) == seen  # nothing runs after the context closed
