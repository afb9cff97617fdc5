"""Where the stack keeps its state and which ports it uses (all overridable)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

MOCK_OAUTH_CLIENT = ("mock-client", "mock-secret")
"""The local mock identity provider's fixed, public test client (``libs/mockoidc``)."""
DEMO_SUBJECT = "1001"
"""The mock's ``demo`` person (GitHub user id and OIDC ``sub``), linked to the demo owner."""


@dataclass(frozen=True)
class StackConfig:
    """Ports, paths and worker counts of one local stack."""

    var: Path
    edge_port: int = 8080
    api_port: int = 8081
    nats_port: int = 4222
    pg_port: int = 54329
    mock_port: int = 9009
    metrics_port: int = 9464
    """The metrics bridge (``libs/stack/metrics_bridge.py``) on ``host``; 0: not started."""
    oidc_port: int = 9010
    edge_workers: int = 1
    host: str = "127.0.0.1"
    https: bool = False
    """The edge and the management API serve HTTPS (``BASTION_HTTPS_CERT[_FILE]`` is set)."""

    @classmethod
    def from_env(cls, var: str | None = None) -> StackConfig:
        """Defaults, overridden by ``BASTION_*`` variables."""
        env = os.environ

        def port(name: str, default: int) -> int:
            return int(env.get(name, default))

        return cls(
            var=Path(var or env.get("BASTION_VAR", "var")).resolve(),
            edge_port=port("BASTION_EDGE_PORT", 8080),
            api_port=port("BASTION_API_PORT", 8081),
            nats_port=port("BASTION_NATS_PORT", 4222),
            pg_port=port("BASTION_PG_PORT", 54329),
            mock_port=port("BASTION_MOCK_PORT", 9009),
            metrics_port=port("BASTION_METRICS_PORT", 9464),
            oidc_port=port("BASTION_OIDC_PORT", 9010),
            edge_workers=port("BASTION_EDGE_WORKERS", 1),
            https=bool(env.get("BASTION_HTTPS_CERT") or env.get("BASTION_HTTPS_CERT_FILE")),
        )

    @property
    def logs(self) -> Path:
        """Per-process log files."""
        return self.var / "logs"

    @property
    def nats_url(self) -> str:
        """The bus (TLS only: ``libs/stack/pki.py``)."""
        return f"tls://{self.host}:{self.nats_port}"

    @property
    def edge_url(self) -> str:
        """The data plane."""
        return f"{self.scheme}://{self.host}:{self.edge_port}"

    @property
    def api_url(self) -> str:
        """The management API."""
        return f"{self.scheme}://{self.host}:{self.api_port}"

    @property
    def scheme(self) -> str:
        """``https`` or ``http``, for the edge and the management API."""
        return "https" if self.https else "http"

    @property
    def mock_url(self) -> str:
        """The built-in mock provider's OpenAI base URL."""
        return f"http://{self.host}:{self.mock_port}/v1"

    @property
    def oidc_url(self) -> str:
        """The built-in mock identity provider (GitHub Enterprise and OIDC; ``libs/mockoidc``)."""
        return f"http://{self.host}:{self.oidc_port}"


def read_env(path: Path) -> dict[str, str]:
    """Parse a ``KEY=value`` file (``var/demo.env``)."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and not key.startswith("#"):
            out[key.strip()] = value.strip()
    return out
