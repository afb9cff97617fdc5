"""bus.settled: the PONG it waits for follows every command written before it, on the wire.

A scripted protocol peer (INFO, then PONG to every PING) records the order in which commands
arrive. nats-py's own flush() lets its PING overtake a SUB still in the client's pending buffer;
settled() must not.
"""

from __future__ import annotations

import asyncio
import json

import nats

from libs.svc import bus


class Peer:
    """Just enough of a NATS server: records each command line in arrival order."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        info = {"server_id": "peer", "version": "2.10.0", "proto": 1, "max_payload": 1048576, "headers": True}
        writer.write(b"INFO " + json.dumps(info).encode() + b"\r\n")
        while line := await reader.readline():
            self.lines.append(line.split(b" ", 1)[0].strip())
            if line.startswith(b"PING"):
                writer.write(b"PONG\r\n")
                await writer.drain()
        writer.close()


async def _commands_after(settle: bool) -> list[bytes]:
    peer = Peer()
    port = await peer.start()
    nc = await nats.connect(f"nats://127.0.0.1:{port}", allow_reconnect=False)
    try:
        await nc.flush()
        peer.lines.clear()

        async def ignore(_msg: object) -> None:
            return None

        await nc.subscribe("t.one", cb=ignore)
        if settle:
            await bus.settled(nc)
        else:
            await nc.flush()
        return list(peer.lines)  # what the peer had received when the last PONG was answered
    finally:
        await nc.close()
        assert peer.server is not None
        peer.server.close()


async def test_nats_py_flush_alone_can_answer_before_the_sub_is_sent() -> None:
    # the reason settled() exists: if nats-py stops doing this, settled() can become flush()
    assert (await _commands_after(settle=False))[0] == b"PING"


async def test_settled_answers_only_after_the_sub_reached_the_server() -> None:
    got = await _commands_after(settle=True)
    assert b"SUB" in got
    assert got[-1] == b"PING", got
    assert got.index(b"SUB") < len(got) - 1, got
