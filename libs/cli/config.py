"""Where the CLI finds the management API: the environment, else ``var/demo.env``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CliConfig:
    """Admin URL and token."""

    admin_url: str
    admin_token: str

    def __repr__(self) -> str:
        return f"CliConfig(admin_url={self.admin_url!r}, admin_token=<redacted>)"


def _read_env_file(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def load() -> CliConfig:
    """``BASTION_ADMIN_URL`` / ``BASTION_ADMIN_TOKEN``, falling back to ``var/demo.env``."""
    file_env = _read_env_file(Path(os.environ.get("BASTION_ENV_FILE", "var/demo.env")))
    url = os.environ.get("BASTION_ADMIN_URL") or file_env.get("BASTION_ADMIN_URL") or "http://127.0.0.1:8081"
    token = os.environ.get("BASTION_ADMIN_TOKEN") or file_env.get("BASTION_ADMIN_TOKEN") or ""
    return CliConfig(admin_url=url.rstrip("/"), admin_token=token)
