"""A process the supervisor starts on its first connection (the local stack's mock identity
provider): nothing runs until a client connects, that client is served by the process (its
connection waited in the backlog), and a crash is restarted on the same socket."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

from libs.stack.supervisor import Proc, Supervisor, listening_socket

# serves one line per connection on the inherited listening socket (fd in argv), forever
_SERVER = """
import os, socket, sys
sock = socket.socket(fileno=int(sys.argv[1]))
while True:
    conn, _ = sock.accept()
    line = conn.recv(100)
    if line == b"crash":
        os._exit(3)
    conn.sendall(b"pid " + str(os.getpid()).encode() + b": " + line)
    conn.close()
"""


def _ask(port: int, text: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(text)
        return conn.recv(100)


def _tick_until(supervisor: Supervisor, proc: Proc, running: bool, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while (proc.pid is not None) != running:
        assert time.monotonic() < deadline, f"{proc.name} running={not running} after {timeout}s"
        supervisor.tick()
        time.sleep(0.02)


def test_an_on_demand_process_starts_on_its_first_connection_and_restarts_on_the_same_socket(tmp_path: Path) -> None:
    sock = listening_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    proc = Proc("lazy", [sys.executable, "-c", _SERVER, str(sock.fileno())], dict(os.environ), tmp_path / "lazy.log",
                listen=sock)  # fmt: skip
    supervisor = Supervisor([proc], echo=False)
    try:
        supervisor.start_all()
        for _ in range(5):
            supervisor.tick()
        assert proc.popen is None, "started before anyone connected"

        client = socket.create_connection(("127.0.0.1", port), timeout=10)  # waits in the backlog
        client.sendall(b"first")
        _tick_until(supervisor, proc, running=True)
        first_pid = proc.pid
        assert client.recv(100) == f"pid {first_pid}: first".encode()
        client.close()
        assert _ask(port, b"second") == f"pid {first_pid}: second".encode()

        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(b"crash")
            assert conn.recv(100) == b""
        _tick_until(supervisor, proc, running=False)
        _tick_until(supervisor, proc, running=True)  # restarted with backoff, same listening socket
        assert proc.pid != first_pid
        assert _ask(port, b"after") == f"pid {proc.pid}: after".encode()
    finally:
        supervisor.stop()
    assert sock.fileno() == -1, "the supervisor closes the listening socket on stop"
