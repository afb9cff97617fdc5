"""Runs last in the e2e session: no key or token created by the suite appears in any log line,
trace, audit row or database dump (only hashes and masks may be stored)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from libs.stack import pg
from tests.stack import Stack


def _secret_part(secret: str) -> str:
    # For Bastion keys and tokens the random part is what must never leak (prefix and project id
    # are not secret); anything else (provider keys) must not appear at all.
    if secret.startswith(("sk-proj_", "bst_adm_")):
        return secret.rsplit("_", 1)[-1]
    return secret


def test_no_created_secret_in_logs_traces_or_database(stack: Stack) -> None:
    secrets = [_secret_part(s) for s in stack.created_secrets]
    assert len(secrets) >= 3  # the demo key and token, plus what the suite created
    texts: dict[str, str] = {}
    spooled = (stack.var / "spool").glob("*/*.spool")  # event journals (binary; searched as text)
    for path in [*(stack.var / "logs").glob("*.log"), *(stack.var / "traces").glob("*.jsonl"), *spooled,
                 stack.var / "stack.out"]:  # fmt: skip
        texts[str(path)] = Path(path).read_text(errors="replace")
    dump = subprocess.run(
        [str(pg.bin_dir() / "pg_dump"), "--data-only", stack.superuser_dsn],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "auth.api_keys" in dump or "api_keys" in dump
    texts["pg_dump"] = dump
    assert any(p.endswith(".jsonl") and t for p, t in texts.items()), "no traces were written"
    # The stack's banner shows the demo key on purpose (README: "prints the base URL, the key").
    demo = _secret_part(stack.env["BASTION_API_KEY"])
    leaks = [
        (where, s[:6])
        for where, text in texts.items()
        for s in secrets
        if s in text and not (where.endswith("stack.out") and s == demo)
    ]
    assert not leaks, leaks
