"""FastStream helpers for the durable consumers."""

from __future__ import annotations

from faststream.nats import NatsMessage


async def raw_body(msg: NatsMessage) -> bytes:
    """Decoder that hands the handler the raw bytes.

    Without it FastStream json-decodes any body that parses as JSON and a ``body: bytes``
    handler then fails validation (STACK-NOTES, "JSON sniffing").
    """
    return msg.body
