"""Request/reply endpoints on FastStream with Bastion's error convention.

Every endpoint decodes its request with a typed msgspec decoder, runs the handler and encodes
the reply. Whatever happens, the caller gets a reply: malformed input becomes
``Fault(bad_request)`` and an unexpected exception becomes ``Fault(internal)`` (logged with its
type only, never its message, which may quote secret input). Faults also set the
``Nats-Service-Error`` headers so generic NATS tooling can read them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
from faststream import Response
from faststream.nats import NatsBroker, NatsMessage
from opentelemetry import trace

from libs.contracts.codec import Codec, encode
from libs.contracts.errors import SERVICE_ERROR_CODE_HEADER, SERVICE_ERROR_HEADER, Code
from libs.contracts.messages import Fault
from libs.telemetry.bus import extract_context

log = logging.getLogger("bastion.rpc")
Req = TypeVar("Req")
Handler = Callable[[Req], Awaitable[msgspec.Struct]]


async def raw_body(msg: NatsMessage) -> bytes:
    """FastStream decoder that hands the handler the raw bytes (no JSON sniffing)."""
    return msg.body


def fault_response(fault: Fault) -> Response:
    """Encode a fault with the NATS service-error headers."""
    return Response(
        encode(fault),
        headers={SERVICE_ERROR_HEADER: fault.message, SERVICE_ERROR_CODE_HEADER: fault.code},
    )


async def dispatch(codec: Codec[Any], handler: Handler[Any], body: bytes, name: str) -> Response:
    """Decode, run and encode one request; never raises."""
    try:
        request = codec.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return fault_response(Fault(code=Code.BAD_REQUEST, message=f"malformed {name} request"))
    try:
        reply = await handler(request)
    except Exception as exc:  # last resort: the caller must never wait out a timeout
        log.exception("handler failed", extra={"endpoint": name, "error_type": type(exc).__name__})
        return fault_response(Fault(code=Code.INTERNAL, message="internal error", retryable=True))
    if isinstance(reply, Fault):
        return fault_response(reply)
    return Response(encode(reply))


def endpoint(
    broker: NatsBroker,
    subject: str,
    *,
    queue: str,
    request_type: Any,
    max_workers: int = 64,
) -> Callable[[Handler[Any]], Handler[Any]]:
    """Register ``handler`` on ``subject`` in queue group ``queue``.

    ``max_workers`` lets handlers that await I/O overlap (a FastStream subscriber otherwise
    processes one message at a time).
    """
    codec: Codec[Any] = Codec(request_type)
    tracer = trace.get_tracer("bastion.rpc")

    def register(handler: Handler[Any]) -> Handler[Any]:
        async def on_message(body: bytes, msg: NatsMessage) -> Response:
            started = time.perf_counter()
            with tracer.start_as_current_span(
                subject, context=extract_context(msg.headers), kind=trace.SpanKind.SERVER
            ) as span:
                response = await dispatch(codec, handler, body, subject)
                code = response.headers.get(SERVICE_ERROR_CODE_HEADER)
                if code:
                    span.set_attribute("bastion.error_code", str(code))
                span.set_attribute("bastion.duration_ms", (time.perf_counter() - started) * 1000)
                return response

        on_message.__name__ = f"on_{handler.__name__}"
        broker.subscriber(subject, queue=queue, decoder=raw_body, max_workers=max_workers)(on_message)
        return handler

    return register
