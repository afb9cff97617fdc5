"""The stack supervisor (``python -m libs.stack run``) lives as long as the stack: it must not keep
the database driver, the bus client or the crypto libraries in memory (issue 11: they cost it
~60 MB). Migrations, seeding, the bus users' config and the streams run in child processes."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("asyncpg", "nats", "faststream", "cryptography", "argon2", "litestar", "msgspec", "urllib.request", "asyncio")


def _modules_after_import(module: str) -> set[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


def test_the_supervisor_imports_none_of_the_services_libraries() -> None:
    loaded = _modules_after_import("libs.stack.__main__")
    assert sorted(m for m in HEAVY if m in loaded) == []


def test_the_heavy_steps_still_have_their_libraries() -> None:
    """The check above can fail: the modules that do the heavy work do load them."""
    assert {"asyncpg", "argon2"} <= _modules_after_import("libs.stack.seed")
    assert "nats" in _modules_after_import("libs.stack.operator")
