"""The consumers' Batcher on its own: gathering, stream order, and every failure mode settling
every submitter (libs/svc/consumers.py)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from libs.svc.consumers import Batcher, Rejected


async def _submit_all(batcher: Batcher, items: list[tuple[str, int]]) -> list[BaseException | None]:
    results = await asyncio.gather(*(batcher.submit(event, order) for event, order in items), return_exceptions=True)
    return [r if isinstance(r, BaseException) else None for r in results]


async def test_events_submitted_together_are_one_batch_in_stream_order() -> None:
    batches: list[list[str]] = []

    async def one(event: str) -> bool:
        raise AssertionError("not stored one by one")

    async def many(events: list[str]) -> list[Rejected | None]:
        batches.append(events)
        return [Rejected("claims", "no") if e == "bad" else None for e in events]

    batcher = Batcher(one, many, wait_s=0.01)
    results = await _submit_all(batcher, [("c", 3), ("a", 1), ("bad", 2), ("d", 4)])
    assert batches == [["a", "bad", "c", "d"]]
    assert [type(r).__name__ if r else None for r in results] == [None, None, "Rejected", None]


async def test_a_full_batch_is_stored_at_once() -> None:
    sizes: list[int] = []

    async def many(events: list[str]) -> list[Rejected | None]:
        sizes.append(len(events))
        return [None] * len(events)

    batcher = Batcher(many, many, max_size=3, wait_s=60)  # type: ignore[arg-type]
    await asyncio.wait_for(_submit_all(batcher, [(str(i), i) for i in range(6)]), timeout=5)
    assert sizes == [3, 3]


async def test_a_transient_failure_fails_every_submitter_to_retry_in_place() -> None:
    async def one(event: str) -> bool:
        raise AssertionError("not stored one by one")

    async def many(events: list[str]) -> list[Rejected | None]:
        raise asyncpg.CannotConnectNowError("starting up")

    results = await _submit_all(Batcher(one, many, wait_s=0.01), [("a", 1), ("b", 2)])
    assert all(isinstance(r, asyncpg.CannotConnectNowError) for r in results)


@pytest.mark.parametrize("fault", ["permanent", "bug", "wrong_length"])
async def test_any_other_failure_stores_the_batch_one_by_one_isolating_the_poison(fault: str) -> None:
    singles: list[str] = []

    async def one(event: str) -> bool:
        singles.append(event)
        if event == "poison":
            raise asyncpg.CharacterNotInRepertoireError("invalid byte sequence")
        return True

    async def many(events: list[str]) -> list[Rejected | None]:
        if fault == "permanent":
            raise asyncpg.CharacterNotInRepertoireError("invalid byte sequence")
        if fault == "bug":
            raise RuntimeError("a bug")
        return [None]  # one outcome for three events

    results = await _submit_all(Batcher(one, many, wait_s=0.01), [("a", 1), ("poison", 2), ("b", 3)])
    assert singles == ["a", "poison", "b"]
    assert results[0] is None
    assert isinstance(results[1], asyncpg.CharacterNotInRepertoireError)
    assert results[2] is None
