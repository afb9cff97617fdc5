"""One encoder and one typed decoder per message, created once and reused."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

T = TypeVar("T")

_encoder = msgspec.json.Encoder()


def encode(message: Any) -> bytes:
    """Encode a bus message as JSON bytes."""
    return _encoder.encode(message)


class Codec(Generic[T]):
    """Typed JSON decoder for one message type (or tagged union)."""

    __slots__ = ("_decoder",)

    def __init__(self, message_type: Any) -> None:
        self._decoder: msgspec.json.Decoder[T] = msgspec.json.Decoder(message_type)

    def decode(self, data: bytes) -> T:
        """Decode ``data``; raises ``msgspec.DecodeError`` (a ``ValidationError`` too) on bad input."""
        return self._decoder.decode(data)
