"""Test doubles shared by unit tests (never used by integration or end-to-end tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from libs.contracts.messages import DeadLetter


@dataclass(frozen=True)
class _Sequence:
    stream: int
    consumer: int


@dataclass(frozen=True)
class _Metadata:
    stream: str
    sequence: _Sequence
    num_delivered: int


@dataclass
class FakeDelivery:
    """A JetStream delivery as nats-py hands it over: subject, data, metadata, and the four
    acknowledgements — each recorded in ``acks``; like the server, a second final one is refused."""

    subject: str
    data: bytes
    seq: int
    num_delivered: int = 1
    stream: str = "USAGE"
    acks: list[str] = field(default_factory=list)

    @property
    def metadata(self) -> _Metadata:
        return _Metadata(self.stream, _Sequence(self.seq, self.seq), self.num_delivered)

    def _final(self, what: str) -> None:
        if any(a in ("ack", "term") or a.startswith("nak") for a in self.acks):
            raise RuntimeError(f"{what} after a final acknowledgement ({self.acks})")
        self.acks.append(what)

    async def ack(self) -> None:
        self._final("ack")

    async def nak(self, delay: float | None = None) -> None:
        self._final("nak" if delay is None else f"nak:{delay:g}")

    async def term(self) -> None:
        self._final("term")

    async def in_progress(self) -> None:
        self.acks.append("progress")


class FakeSource:
    """Hands out the given batches one after the other, then ``[]`` (stopped and drained)."""

    def __init__(self, *batches: list[FakeDelivery]) -> None:
        self._batches = list(batches)

    async def next_batch(self) -> list[Any]:
        return self._batches.pop(0) if self._batches else []

    def held(self) -> list[Any]:
        return [d for batch in self._batches for d in batch]


class Letters:
    """A dead-letter filer that keeps what it is given (or fails while ``failing``)."""

    def __init__(self) -> None:
        self.filed: list[DeadLetter] = []
        self.failing = False

    async def __call__(self, letter: DeadLetter) -> None:
        if self.failing:
            raise ConnectionError("DEADLETTER unreachable")
        self.filed.append(letter)
