"""One whole stack per test session: ``python -m libs.stack run`` on free ports in a temp dir.

A pytest plugin (``pytest_plugins`` in tests/conftest.py), so the end-to-end and the security
tests share the one session stack."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from libs.stack import operator, seed
from libs.stack.config import read_env
from libs.svc.bus import credentials
from tests import canary
from tests.canary import Canaries
from tests.helpers import free_port


@dataclass
class Stack:
    var: Path
    env: dict[str, str] = field(repr=False)  # secrets: never in a failure report
    edge: str
    api: str
    mock: str
    proc: subprocess.Popen[bytes]
    ports: dict[str, int]
    created_secrets: list[str] = field(repr=False)
    canaries: Canaries | None = None
    """Planted by the fixture as soon as the stack is up (tests/canary.py)."""

    @property
    def base_url(self) -> str:
        return self.env["BASTION_BASE_URL"]

    @property
    def api_key(self) -> str:
        return self.env["BASTION_API_KEY"]

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.env['BASTION_ADMIN_TOKEN']}"}

    def pid(self, service: str) -> int:
        return int((self.var / "run" / f"{service}.pid").read_text())

    @property
    def superuser_dsn(self) -> str:
        password = (self.var / "pg" / "superuser.password").read_text().strip()
        return f"postgresql://postgres:{password}@127.0.0.1:{self.ports['PG']}/bastion"

    @property
    def bus_url(self) -> str:
        return f"tls://127.0.0.1:{self.ports['NATS']}"

    def bus_options(self, user: str) -> dict[str, Any]:
        """nats-py options to connect as ``user``: its client certificate, as the stack's processes do."""
        return credentials(operator.with_certificate(self.bus_url, self.var, user))

    def admin(self, token: str | None = None) -> httpx.Client:
        token = token or self.env["BASTION_ADMIN_TOKEN"]
        return httpx.Client(base_url=self.api, headers={"authorization": f"Bearer {token}"}, timeout=15)

    @property
    def pepper(self) -> bytes:
        """The key pepper, for minting keys and tokens as the superuser (other tenants)."""
        encoded = (self.var / "secrets" / "key_pepper").read_text().strip()
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))

    def new_org(self, name: str) -> dict[str, str]:
        """Another organisation with a project, an API key and an owner token (made as the superuser);
        the key and token are added to ``created_secrets``."""

        async def make() -> dict[str, str]:
            conn = await asyncpg.connect(self.superuser_dsn)
            try:
                async with conn.transaction():
                    org = await seed.create_org(conn, f"{name} {time.time_ns()}")
                    project = await seed.create_project(conn, org, name.lower())
                    key = await seed.create_api_key(conn, self.pepper, org, project, f"{name} key")
                    token = await seed.create_admin_token(conn, self.pepper, org, "owner", f"{name} owner")
            finally:
                await conn.close()
            return {"org": org, "project": project, "key": key, "token": token}

        made = asyncio.run(make())
        self.created_secrets.extend([made["key"], made["token"]])
        return made

    def sign_in(self, org: str, role: str = "owner", *, mfa: bool = True) -> dict[str, str]:
        """A new person, member of ``org`` with ``role``, and a session of theirs, made as the
        superuser through auth's own SQL (what a sign-in does once the person proved who they
        are; ``mfa``: with a second factor shown); the session secret is added to ``created_secrets``."""
        from libs.crypto import apikeys

        secret = apikeys.generate_session_secret()
        user = f"usr{time.time_ns()}"

        async def make() -> str:
            conn = await asyncpg.connect(self.superuser_dsn)
            try:
                await conn.execute("INSERT INTO auth.users (id, email) VALUES ($1, $2)", user, f"{user}@example.com")
                await conn.execute("INSERT INTO auth.memberships (org_id, user_id, role) VALUES ($1, $2, $3)",
                                   org, user, role)  # fmt: skip
                return str(await conn.fetchval(
                    "SELECT id FROM auth.start_session($1, $2, $3, $4, 'test', '', '', now() + interval '1 hour', $5)",
                    f"ses_{user}", apikeys.lookup_digest(self.pepper, secret), user, org, mfa))  # fmt: skip
            finally:
                await conn.close()

        session_id = asyncio.run(make())
        self.created_secrets.append(secret)
        return {"user": user, "session": session_id, "secret": secret}

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted((self.var / "logs").glob("*.log")))


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    var = tmp_path_factory.mktemp("stack")
    ports = {name: free_port() for name in ("EDGE", "API", "NATS", "PG", "MOCK", "METRICS", "OIDC")}
    env = dict(os.environ)
    env.update({f"BASTION_{k}_PORT": str(v) for k, v in ports.items()})
    env.update(
        BASTION_EDGE_WORKERS="2",
        BASTION_METERING_REPLICAS="2",
        BASTION_AUTH_REPLICAS="2",
        BASTION_MAX_BODY_BYTES=str(256 * 1024),
        BASTION_RATE_LIMIT="100000",
        BASTION_DEFAULT_MAX_TOKENS="2048",  # not the Anthropic adapter's own 4096: tests see which one is sent
        ORIGIN_URLS="https://console.example.test",
        # Small enough that a flood from one test client exhausts it (tests/e2e/test_auth_flood.py);
        # known-good keys and per-source budgets keep everyone else unaffected.
        BASTION_MISS_RATE_PER_S="50",
        BASTION_AUTH_FAIL_WINDOW_S="2",
    )
    out = (var / "stack.out").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "libs.stack", "run", "--var", str(var)],
                            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    ready = var / "run" / "ready"
    deadline = time.monotonic() + 120
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("stack did not start:\n" + (var / "stack.out").read_text(errors="replace")[-4000:])
        time.sleep(0.1)
    demo = read_env(var / "demo.env")
    stack = Stack(var=var, env=demo, edge=f"http://127.0.0.1:{ports['EDGE']}", api=demo["BASTION_ADMIN_URL"],
                mock=f"http://127.0.0.1:{ports['MOCK']}", proc=proc, ports=ports,
                created_secrets=[demo["BASTION_API_KEY"], demo["BASTION_ADMIN_TOKEN"]])  # fmt: skip
    # Canaries first, so the whole suite runs with them present (tests/security/test_zz_canary.py).
    stack.canaries = canary.plant(stack)
    canary.exercise(stack, stack.canaries)
    yield stack
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=40)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    out.close()
