"""``python -m libs.stack run``: the whole stack on embedded defaults, one command.

The supervising process stays small (it lives as long as the stack): it imports only what it
needs to spawn, watch and stop processes. Everything that needs the database driver, the bus
client or the crypto libraries — migrations, logins, seeding, the bus users' config, JetStream
streams — runs in short-lived child processes (``prepare``, ``streams``) that exit before the
services start, so their imports and heaps are not kept for the stack's lifetime.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from libs.backup import cli as backup_cli
from libs.contracts.subjects import SERVICES
from libs.db.roles import SERVICE_ROLES
from libs.stack import commands, nats_users, natsd, pg, pki, secrets_store
from libs.stack.config import MOCK_OAUTH_CLIENT, StackConfig, read_env
from libs.stack.supervisor import Proc, Supervisor, listening_socket
from libs.svc.rotation import Rotation

MALLOC_ENV = {
    # glibc raises its mmap threshold to the size of the last freed mmapped block (up to 32 MiB):
    # after the first argon2 verify (19 MiB, in a worker thread) every later one is served from,
    # and stays resident in, that thread's arena (auth: +19 MB for good). Setting the threshold
    # (to glibc's default, 128 KiB) turns the adjustment off: big blocks stay mmapped and are
    # returned on free. (MALLOC_ARENA_MAX=2 was measured too and changed nothing: few threads.)
    "MALLOC_MMAP_THRESHOLD_": "131072",
}
"""glibc malloc settings for the stack's Python processes (issue 11, docs/performance.md "Memory")."""

POOL_SIZES = {"auth": 3, "vault": 3, "guardrails": 2, "metering": 4, "audit": 3, "api": 3}
"""Database connections per process on the local stack (``BASTION_POOL_SIZE``; the services'
own defaults, 5-10, are for deployments). Every PostgreSQL backend costs 2-9 MB; under load a
route or policy cache expiring for 16 requests at once had the vault open 12 connections and
guardrails 6, which a burst then waits out on 2-3 (each a short query)."""


def _service_env(
    config: StackConfig, cluster: pg.Cluster, name: str, extra: dict[str, str], db_passwords: dict[str, str]
) -> dict[str, str]:
    env = dict(os.environ)
    role = SERVICE_ROLES.get(name)
    env.update(
        BASTION_NATS_URL=config.nats_url,
        BASTION_DB_DSN=cluster.dsn(user=role, password=db_passwords[name]) if role else "",
        BASTION_TRACE_FILE=str(config.var / "traces" / f"{name}.jsonl"),
        # events journaled until JetStream acks them; replicas of a service share the directory,
        # so one takes over what a killed sibling left
        BASTION_SPOOL_DIR=str(config.var / "spool" / name),
        BASTION_SPOOL_KEYS_FILE=str(secrets_store.spool_keys_file(config.var / "secrets", name)),
        BASTION_INSTANCE=f"{name}-{os.getpid()}",
        PYTHONUNBUFFERED="1",
    )
    for var, value in MALLOC_ENV.items():
        env.setdefault(var, value)  # an operator's own value wins
    if name in POOL_SIZES:
        env.setdefault("BASTION_POOL_SIZE", str(POOL_SIZES[name]))
    # Providers may reach non-public addresses only where the operator says; the local stack's
    # own mock provider listens on config.host (an operator's own value wins).
    env.setdefault("BASTION_UPSTREAM_ALLOW", f"{config.host}/32")
    env.update(extra)
    return env


def _local_identity_provider(config: StackConfig, secret: str) -> dict[str, str]:
    """Point GitHub and Google sign-in at the mock, unless the operator configured real ones."""
    if os.environ.get("GITHUB_CLIENT_ID") or os.environ.get("GOOGLE_CLIENT_ID"):
        return {}
    client_id, _ = MOCK_OAUTH_CLIENT
    return {
        "GITHUB_CLIENT_ID": client_id,
        "GITHUB_CLIENT_SECRET": secret,
        "GITHUB_BASE_URL": config.oidc_url,
        "GOOGLE_CLIENT_ID": client_id,
        "GOOGLE_CLIENT_SECRET": secret,
        "GOOGLE_ISSUER": config.oidc_url,
    }


def build_procs(
    config: StackConfig, cluster: pg.Cluster, keys: secrets_store.StackSecrets, db_passwords: dict[str, str]
) -> list[Proc]:
    """Every process of the stack, in start order."""
    py = sys.executable
    conf = natsd.config_path(config.var / "nats")  # written by `prepare`
    per_service: dict[str, dict[str, str]] = {
        # sign-in through the local mock identity provider, as "GitHub (Enterprise)" and "Google"
        "auth": {
            "BASTION_KEY_PEPPER": keys.pepper,
            **_local_identity_provider(config, keys.oauth_client_secret),
            # passkeys cannot be bound to an IP address: locally the console is http://localhost:<api port>
            "PASSKEY_RP_ID": os.environ.get("PASSKEY_RP_ID", "localhost"),
            "PASSKEY_ORIGINS": os.environ.get("PASSKEY_ORIGINS", f"http://localhost:{config.api_port}"),
        },
        # plain HTTP locally: the session cookie cannot be Secure (nor a __Host- cookie) here
        "api": {
            "BASTION_API_HOST": config.host,
            "BASTION_API_PORT": str(config.api_port),
            "AUTH_SECRET_FILE": str(keys.auth_secret_file),
            "BASTION_COOKIE_SECURE": "false",
            "BASTION_PUBLIC_URL": config.api_url,
            "BASTION_AUDIT_PUBLIC_KEYS": keys.audit_public_key,
        },
        "audit": {"BASTION_AUDIT_SIGNING_KEY_FILE": str(keys.audit_signing_key_file)},
        "vault": {"BASTION_MASTER_KEYS_FILE": str(keys.master_keys_file)},
        "edge": {
            "BASTION_EDGE_HOST": config.host,
            "BASTION_EDGE_PORT": str(config.edge_port),
            "BASTION_EDGE_WORKERS": str(config.edge_workers),
        },
    }
    procs = [
        # the JetStream store is encrypted by the server itself; only nats-server gets its key
        Proc("nats", [str(natsd.binary()), "-c", str(conf)], {**natsd.env(), natsd.JETSTREAM_KEY_ENV: keys.jetstream_key},
             config.logs / "nats.log", infrastructure=True)
    ]  # fmt: skip
    procs.append(Proc("mockllm", [py, "-m", "libs.mockllm", "--host", config.host, "--port", str(config.mock_port)],
                      dict(os.environ), config.logs / "mockllm.log"))  # fmt: skip
    # the mock identity provider starts on its first connection (a local sign-in): until then it
    # costs nothing (Litestar + uvicorn + joserfc: ~45 MB that a stack nobody signs in to would carry)
    oidc = _on_demand_socket(config.host, config.oidc_port, "mock identity provider", "BASTION_OIDC_PORT")
    procs.append(Proc("mockoidc", [py, "-m", "libs.mockoidc", "--fd", str(oidc.fileno())],
                      {**os.environ, "BASTION_MOCK_OAUTH_SECRET": keys.oauth_client_secret},
                      config.logs / "mockoidc.log", listen=oidc))  # fmt: skip
    for name in (*SERVICES, "edge", "api"):
        # BASTION_<SERVICE>_REPLICAS runs several processes of a bus service (queue groups and the
        # shared durable consumers split the work); the second one is "<name>-2", and so on.
        replicas = int(os.environ.get(f"BASTION_{name.upper()}_REPLICAS", "1")) if name in SERVICES else 1
        for i in range(1, replicas + 1):
            label = name if i == 1 else f"{name}-{i}"
            env = _service_env(config, cluster, name, per_service.get(name, {}), db_passwords)
            # its own client certificate: under mutual TLS the bus server maps it to the user `name`
            env.update(BASTION_NATS_USER=name, BASTION_INSTANCE=f"{label}-{os.getpid()}", **pki.env(config.var, name))
            procs.append(Proc(label, [py, "-m", f"services.{name}"], env, config.logs / f"{label}.log"))
    if config.metrics_port:  # every process's metrics for Prometheus, as the bus user metrics (0: off)
        # started on the first scrape, like the identity provider: ~28 MB that a stack nobody
        # scrapes would carry (the scrape that starts it waits in the socket's backlog)
        metrics = _on_demand_socket(config.host, config.metrics_port, "metrics bridge", "BASTION_METRICS_PORT")
        procs.append(Proc("metrics", [py, "-m", "libs.stack", "metrics-bridge", "--var", str(config.var),
                                      "--nats-url", config.nats_url, "--fd", str(metrics.fileno())],
                          dict(os.environ), config.logs / "metrics.log", listen=metrics))  # fmt: skip
    return procs


def _on_demand_socket(host: str, port: int, what: str, setting: str) -> socket.socket:
    """The listening socket of a process started on its first connection; a taken port is a
    one-line error naming the setting that moves it."""
    try:
        return listening_socket(host, port)
    except OSError as exc:
        raise SystemExit(f"the {what}'s port {host}:{port} is not free ({exc.strerror}); set {setting}") from None


def _ready(host: str, port: int, path: str, *, https: bool = False) -> tuple[bool, str]:
    """GET ``path`` over HTTP/1.0 (a socket, not urllib: the supervisor keeps no HTTP client
    in memory for a probe made at start-up only); (200?, body or the error's type)."""
    try:
        with socket.create_connection((host, port), timeout=1) as raw:
            conn = _tls_probe(raw, host) if https else raw
            conn.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\n\r\n".encode())
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
    except OSError as exc:
        return False, type(exc).__name__
    head, _, body = answer.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1:2]
    return status == [b"200"], body.decode(errors="replace")


def _tls_probe(raw: socket.socket, host: str) -> socket.socket:
    """The probe over TLS, imported only when HTTPS is on. It checks that our own child answers,
    sends nothing secret and reads nothing but the status: the certificate is not verified here
    (an operator's may name a public host, not 127.0.0.1)."""
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    return ctx.wrap_socket(raw, server_hostname=host)


def _banner(config: StackConfig, env: dict[str, str], elapsed: float) -> str:
    base = env["BASTION_BASE_URL"]
    return f"""
Bastion is ready in {elapsed:.1f}s.
  data plane   {base}
  management   {env["BASTION_ADMIN_URL"]}
  API key      {env["BASTION_API_KEY"]}
  sign in      {env["BASTION_ADMIN_URL"]}/v1/signin/github   (GitHub (local): the demo organisation's owner)
  demo env     {config.var / "demo.env"}
  logs         {config.logs}/
  metrics      {f"http://{config.host}:{config.metrics_port}/metrics" if config.metrics_port else "off"}

Try it:
  curl -s {base}/chat/completions \\
    -H "Authorization: Bearer {env["BASTION_API_KEY"]}" -H "Content-Type: application/json" \\
    -d '{{"model": "{env.get("BASTION_DEMO_MODEL", "mock-gpt-4o-mini")}", "messages": [{{"role": "user", "content": "Hello"}}]}}'

Press Ctrl-C to stop.
"""


def run(config: StackConfig) -> int:
    """Bring the stack up, supervise it, tear it down on Ctrl-C/SIGTERM."""
    started = time.monotonic()
    for sub in ("logs", "traces", "run"):
        (config.var / sub).mkdir(parents=True, exist_ok=True)
    cluster = pg.init(config.var / "pg", config.pg_port)
    pg.start(cluster, config.logs / "postgres.log")
    supervisor: Supervisor | None = None
    try:
        if not _child_step(config, "prepare"):
            print("stack preparation failed (database, logins, seed or bus users); see above", file=sys.stderr)
            return 1
        keys = secrets_store.ensure(config.var)  # made by `prepare` on first start; read here
        db_passwords = secrets_store.password_files(config.var / "secrets", "db", SERVICE_ROLES)
        env_file = config.var / "demo.env"
        rotation = Rotation.from_env(os.environ, "BASTION_LOG")  # _MAX_MB, _BACKUPS, _MAX_AGE_DAYS
        supervisor = Supervisor(build_procs(config, cluster, keys, db_passwords), rotation=rotation,
                                other_logs=(config.logs / "postgres.log",))  # fmt: skip
        supervisor.procs[0].start()
        natsd.wait_port(config.host, config.nats_port)
        if not _child_step(config, "streams", "--nats-url", config.nats_url):
            print("could not provision the JetStream streams; see above", file=sys.stderr)
            return 1
        for proc in supervisor.procs[1:]:
            if not proc.on_demand:
                proc.start()
        _write_pids(config, supervisor)
        deadline = time.monotonic() + 60
        while not (probe := _ready(config.host, config.edge_port, "/readyz", https=config.https))[0]:
            if time.monotonic() > deadline:
                print(f"stack did not become ready within 60s ({probe[1]}); see {config.logs}", file=sys.stderr)
                return 1
            supervisor.tick()
            time.sleep(0.1)
        print(_banner(config, read_env(env_file), time.monotonic() - started), flush=True)
        (config.var / "run" / "ready").write_text(str(os.getpid()), encoding="utf-8")
        supervisor.run_forever(on_restart=lambda: _write_pids(config, supervisor))
        return 0
    finally:
        with contextlib.suppress(FileNotFoundError):
            (config.var / "run" / "ready").unlink()
        if supervisor is not None:
            supervisor.stop()
        pg.stop(cluster)


def _child_step(config: StackConfig, *argv: str) -> bool:
    """Run ``python -m libs.stack <argv> --var <var>`` to completion: work whose imports (database
    driver, bus client, crypto) the long-lived supervisor should not keep."""
    cmd = [sys.executable, "-m", "libs.stack", *argv, "--var", str(config.var)]
    return subprocess.run(cmd, stdout=subprocess.DEVNULL, check=False).returncode == 0


def prepare(config: StackConfig) -> int:
    """Before the bus starts (a child of ``run``): database, migrations, service logins, the demo
    tenant (first start) or its URLs (later starts), the bus's CA and certificates, and nats.conf
    with the bus users."""
    import asyncio

    from libs.db import migrate, roles
    from libs.stack import seed

    keys = secrets_store.ensure(config.var)
    if not os.environ.get("BASTION_BACKUP_KEYS_FILE"):
        secrets_store.backup_keys_file(config.var / "secrets")
    cluster = pg.existing(config.var / "pg", config.pg_port)
    asyncio.run(pg.ensure_database(cluster))
    asyncio.run(migrate.apply(cluster.dsn()))
    db_passwords = secrets_store.password_files(config.var / "secrets", "db", roles.SERVICE_ROLES)
    asyncio.run(roles.enable_logins(cluster.dsn(), "bastion", db_passwords))
    env_file = config.var / "demo.env"
    if not env_file.exists():
        demo = asyncio.run(seed.seed(cluster.dsn(), keys.pepper, config))
        seed.write_env(env_file, config, demo)
    else:
        seed.refresh_urls(env_file, config)
    # mutual TLS on the bus: a private CA and one certificate per process, made once (libs/stack/pki.py)
    pki.ensure(config.var, nats_users.PERMISSIONS, [config.host, "localhost"])
    server = pki.pair(config.var, pki.SERVER)
    natsd.write_config(config.var / "nats", config.host, config.nats_port, nats_users.tls_authorization_block(),
                       encrypted=True, tls=natsd.ServerTls(server.cert, server.key, pki.ca_cert(config.var)))  # fmt: skip
    return 0


def _write_pids(config: StackConfig, supervisor: Supervisor | None) -> None:
    if supervisor is None:
        return
    for proc in supervisor.procs:
        if proc.pid:
            (config.var / "run" / f"{proc.name}.pid").write_text(str(proc.pid), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(prog="python -m libs.stack", description="Bastion's local stack")
    sub = parser.add_subparsers(dest="command", required=True)
    run_p = sub.add_parser("run", help="start everything and supervise it")
    run_p.add_argument("--var", default=None, help="state directory (default: ./var or $BASTION_VAR)")
    # internal steps of `run`, in child processes so that the supervisor stays small
    sub.add_parser("prepare").add_argument("--var", default=None)
    org_p = sub.add_parser("create-org", help="operator: create an organisation and print its owner token once")
    org_p.add_argument("name")
    org_p.add_argument("--plan", default="free", choices=["free", "pro", "enterprise"])
    org_p.add_argument("--var", default=None)
    rot_p = sub.add_parser("rotate-master-key", help="add a new master key, rewrap every tenant data key online")
    rot_p.add_argument("--var", default=None)
    rot_p.add_argument("--retire-old", action="store_true", help="drop the old keys from the ring once rewrapped")
    sub.add_parser("rotate-bus-certs", help="issue every bus certificate again (same CA) and reload nats-server"
                   " online: connections stay up, new ones use the new certificates").add_argument("--var", default=None)  # fmt: skip
    auth_p = sub.add_parser("nats-auth", help="print a NATS authorization block (fresh passwords) for deploy/")
    auth_p.add_argument("--secrets-dir", required=True, help="where the per-user password files go")
    db_p = sub.add_parser("db-auth", help="per-service database passwords and DSN files for deploy/")
    db_p.add_argument("--secrets-dir", required=True)
    db_p.add_argument("--host", default="postgres")
    db_p.add_argument("--port", type=int, default=5432)
    db_p.add_argument("--database", default="bastion")
    db_p.add_argument("--ca-file", default=None, help="the CA certificate's path inside the containers: DSNs then"
                      " require TLS and verify the server (sslmode=verify-full)")  # fmt: skip
    tls_p = sub.add_parser("db-tls", help="a CA and PostgreSQL's server certificate for deploy/ (made once)")
    tls_p.add_argument("--secrets-dir", required=True, help="they go under <dir>/tls")
    tls_p.add_argument("--host", default="postgres", help="the name clients connect to (the certificate's SAN)")
    commands.operator_parsers(sub)
    backup_cli.add_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "backup":
        return int(args.func(args))
    if args.command in ("streams", "deadletters", "metrics", "metrics-bridge"):
        return commands.operator_command(args)
    if args.command == "nats-auth":
        print(nats_users.authorization_block(nats_users.passwords(Path(args.secrets_dir))))
        return 0
    if args.command == "db-auth":
        return commands.db_auth(Path(args.secrets_dir), args.host, args.port, args.database, ca_file=args.ca_file)
    if args.command == "db-tls":
        return commands.db_tls(Path(args.secrets_dir), args.host)
    config = StackConfig.from_env(args.var)
    if args.command == "run":
        return run(config)
    if args.command == "prepare":
        return prepare(config)
    if args.command == "create-org":
        return commands.create_org(config, args.name, args.plan)
    if args.command == "rotate-bus-certs":
        return commands.rotate_bus_certs(config)
    if args.command == "rotate-master-key":
        return commands.rotate_master_key(config, retire_old=args.retire_old)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
