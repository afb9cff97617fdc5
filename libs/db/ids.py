"""Resource ids: a short type prefix and 16 random hex characters (no separators, so a project
id can sit inside an API key)."""

from __future__ import annotations

import secrets


def new_id(prefix: str) -> str:
    """``org…``, ``prj…``, ``key…``: prefix plus 64 random bits in hex."""
    return prefix + secrets.token_hex(8)
