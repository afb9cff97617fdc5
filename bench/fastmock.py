"""A fixed-answer OpenAI-compatible upstream for benchmarks: as cheap as Python can serve HTTP.

    .venv/bin/python bench/fastmock.py --port 9100 [--delay-ms 50]

``POST /v1/chat/completions`` answers one fixed completion (JSON), or a fixed SSE stream of a few
chunks with usage when the body asks for ``"stream": true``; ``GET /v1/models`` lists one model.
``--delay-ms`` waits before the answer (the time an LLM would take). HTTP/1.1 keep-alive,
``Content-Length`` bodies only (what wrk, httpx and the gateway send); nothing is parsed beyond
the request line, the headers needed to find the body's end, and the stream flag. It is the
same upstream for the direct and the gateway runs, so its cost cancels out of "added" figures;
being an asyncio protocol (no framework) keeps its CPU small beside the stack's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re

_STREAM = re.compile(rb'"stream"\s*:\s*true')

COMPLETION = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1_700_000_000, "model": "gpt-4o-mini",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "The quick brown fox jumps over the lazy dog."},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 24, "completion_tokens": 10, "total_tokens": 34},
}, separators=(",", ":")).encode()  # fmt: skip


def _chunk(delta: dict[str, object], finish: str | None = None, usage: dict[str, int] | None = None) -> bytes:
    body: dict[str, object] = {
        "id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if usage is None else [],
    }  # fmt: skip
    if usage is not None:
        body["usage"] = usage
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


STREAM = b"".join([
    _chunk({"role": "assistant", "content": ""}),
    *(_chunk({"content": word}) for word in ("The quick ", "brown fox ", "jumps over ", "the lazy ", "dog.")),
    _chunk({}, finish="stop"),
    _chunk({}, usage={"prompt_tokens": 24, "completion_tokens": 10, "total_tokens": 34}),
    b"data: [DONE]\n\n",
])  # fmt: skip

MODELS = b'{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","owned_by":"bench"}]}'


def _response(body: bytes, content_type: bytes) -> bytes:
    return (b"HTTP/1.1 200 OK\r\ncontent-type: " + content_type + b"\r\ncontent-length: "
            + str(len(body)).encode() + b"\r\nconnection: keep-alive\r\n\r\n" + body)  # fmt: skip


JSON_RESPONSE = _response(COMPLETION, b"application/json")
SSE_RESPONSE = _response(STREAM, b"text/event-stream")
MODELS_RESPONSE = _response(MODELS, b"application/json")
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"


class Upstream(asyncio.Protocol):
    """One connection: requests are answered in order (pipelining is not needed by any client here)."""

    delay_s = 0.0

    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not an asyncio.Transport subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            self._answer(head.split(b" ", 2)[:2], body)

    def _answer(self, line: list[bytes], body: bytes) -> None:
        method, path = [*line, b"", b""][:2]
        if method == b"POST" and path.endswith(b"/chat/completions"):
            reply = SSE_RESPONSE if _STREAM.search(body) else JSON_RESPONSE
        elif method == b"GET" and path.endswith(b"/models"):
            reply = MODELS_RESPONSE
        else:
            reply = NOT_FOUND
        if self.delay_s > 0:
            asyncio.get_running_loop().call_later(self.delay_s, self._send, reply)
        else:
            self._send(reply)

    def _send(self, reply: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(reply)


async def serve(host: str, port: int, delay_ms: float) -> None:
    Upstream.delay_s = delay_ms / 1000
    server = await asyncio.get_running_loop().create_server(Upstream, host, port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        pass
    asyncio.run(serve(args.host, args.port, args.delay_ms))


if __name__ == "__main__":
    main()
