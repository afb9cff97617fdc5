"""What every ``bastion`` command shares: the management API client, printing an answer, query parameters."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from libs.cli.config import load


def client() -> Any:
    """An HTTP client for the management API, authenticated with the configured token."""
    import httpx

    config = load()
    if not config.admin_token:
        sys.exit("no management token: set BASTION_ADMIN_TOKEN or run `make run` to create var/demo.env")
    return httpx.Client(
        base_url=config.admin_url, headers={"authorization": f"Bearer {config.admin_token}"}, timeout=30
    )


def show(response: Any) -> int:
    """Print the answer's JSON (or its status and text); the exit status: 0 unless an error."""
    try:
        body = response.json()
    except ValueError:
        body = {"status": response.status_code, "detail": response.text[:500]}
    print(json.dumps(body, indent=2, default=str))
    return 0 if response.status_code < 400 else 1


def params(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    """The named options that were given."""
    return {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}


def comma_list(value: str | None) -> list[str] | None:
    """``"a, b,c"`` as ``["a", "b", "c"]`` (``None`` when the option was not given)."""
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]
