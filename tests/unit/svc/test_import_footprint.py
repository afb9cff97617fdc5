"""What each service process imports (issue 11: every library a process imports stays in its
memory for its lifetime, ~4-8 MB each for aiohttp and Litestar)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
NO_AIOHTTP = ("auth", "guardrails", "vault", "metering", "audit", "api")


def _loaded(*modules: str) -> set[str]:
    code = "import json, sys\n" + "".join(f"import {m}\n" for m in modules) + "print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return set(json.loads(out.stdout))


@pytest.mark.parametrize("service", NO_AIOHTTP)
def test_a_bus_service_runs_nats_without_aiohttp(service: str) -> None:
    assert "aiohttp" not in _loaded("libs.svc.natsimport", f"services.{service}.app")


def test_without_natsimport_nats_would_bring_aiohttp() -> None:
    """The check above can fail: nats-py imports aiohttp when it can."""
    assert "aiohttp" in _loaded("services.audit.app")


def test_aiohttp_stays_importable_after_natsimport() -> None:
    code = "import libs.svc.natsimport, nats.aio.transport as t, aiohttp; print(t.aiohttp is None, aiohttp.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["True", "aiohttp"]


@pytest.mark.parametrize("service", NO_AIOHTTP)
def test_natsimport_is_the_mains_first_project_import(service: str) -> None:
    tree = ast.parse((ROOT / "services" / service / "__main__.py").read_text(encoding="utf-8"))
    ours = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            ours += [a.name for a in node.names if a.name.startswith(("libs", "services"))]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(("libs", "services")):
            ours.append(node.module or "")
    assert ours[:1] == ["libs.svc.natsimport"]


def test_the_vault_does_not_load_litestar() -> None:
    assert "litestar" not in _loaded("libs.svc.natsimport", "services.vault.app")


@pytest.mark.parametrize("service", ["edge", "api"])
def test_the_http_services_do_not_load_httpx(service: str) -> None:
    """The egress policy is imported without the vault's httpx client (libs/svc/egress_httpx.py)."""
    assert "httpx" not in _loaded("libs.svc.natsimport", f"services.{service}.app")


def test_the_vault_does_load_httpx() -> None:
    """The check above can fail: the vault's provider tests use httpx."""
    assert "httpx" in _loaded("libs.svc.natsimport", "services.vault.app")


def test_the_management_api_registers_no_pydantic_plugin() -> None:
    code = (
        "import json, sys\nimport services.api.app as a\napp = a.build_app()\n"
        "print(json.dumps(['pydantic' in sys.modules, sorted(type(p).__name__ for p in app.plugins)]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    loaded, plugins = json.loads(out.stdout.strip().splitlines()[-1])
    assert not loaded
    assert not [p for p in plugins if "Pydantic" in p]


def test_the_edge_loads_cryptography_for_its_sealed_event_journal() -> None:
    """The edge journals every event it publishes, sealed with AES-GCM (issue 16), so it needs
    cryptography; what it no longer loads is httpx and pydantic (above)."""
    assert "cryptography" in _loaded("services.edge.app")
