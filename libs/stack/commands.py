"""The operator's commands of ``python -m libs.stack``: organisations, key and certificate rotation,
the JetStream streams, dead letters, metrics, and the secret files for ``deploy/``.

They run against a local stack (its ``var`` directory) or, with ``--nats-url``/``--password-file``,
against a deployment's bus; ``libs/stack/__main__.py`` parses the command line and calls them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from libs.contracts.subjects import SERVICES
from libs.db.roles import SERVICE_ROLES
from libs.stack import nats_users, natsd, pg, pki, secrets_store
from libs.stack.config import StackConfig


def operator_parsers(sub: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--var", default=None)
    common.add_argument("--nats-url", default=None, help="default: the local stack's ($BASTION_NATS_URL)")
    common.add_argument("--password-file", default=None,
                        help="bus password (the operator's; metrics-bridge: the metrics user's), for a bus that"
                        " authenticates by password (default: the user's client certificate under var/tls)")  # fmt: skip
    sub.add_parser("streams", parents=[common], help="operator: create/update the JetStream streams and consumers")
    dl = sub.add_parser("deadletters", help="operator: events a consumer could not store")
    dls = dl.add_subparsers(dest="action", required=True)
    dls.add_parser("list", parents=[common], help="newest dead letters and max-delivery advisories").add_argument(
        "--limit", type=int, default=100)  # fmt: skip
    dls.add_parser("replay", parents=[common], help="publish one again on its original subject (once the cause is"
                   " fixed; consumers are idempotent, so a replay is stored at most once)").add_argument("id", type=int)  # fmt: skip
    sub.add_parser("metrics", parents=[common], help="operator: one replica's counters").add_argument(
        "service", choices=SERVICES)  # fmt: skip
    bridge = sub.add_parser("metrics-bridge", parents=[common], help="every process's metrics at"
                            " http://HOST:PORT/metrics, for Prometheus (a broadcast scrape per request, as the bus user metrics)")  # fmt: skip
    bridge.add_argument("--host", default="127.0.0.1")
    bridge.add_argument("--port", type=int, default=9464)
    bridge.add_argument("--fd", type=int, default=None, help="serve on this inherited listening socket instead"
                        " (the local stack's supervisor starts the bridge on the first scrape)")  # fmt: skip
    bridge.add_argument("--window", type=float, default=0.5, help="seconds to wait for answers per scrape")


def operator_command(args: argparse.Namespace) -> int:
    """``streams``, ``deadletters list|replay``, ``metrics`` as the bus operator; ``metrics-bridge`` as the bus
    user ``metrics`` (the broadcast scrape and nothing else)."""
    import asyncio
    import json

    from libs.stack import operator
    from libs.svc import streams
    from libs.svc.settings import load

    config = StackConfig.from_env(args.var)
    url = args.nats_url or os.environ.get("BASTION_NATS_URL") or config.nats_url
    user = "metrics" if args.command == "metrics-bridge" else nats_users.OPERATOR  # the bridge: scrape only
    if args.password_file:
        settings = operator.with_password(url, Path(args.password_file).read_text(encoding="utf-8").strip(), user)
    else:  # the local stack: the user's client certificate
        settings = operator.with_certificate(url, config.var, user)

    async def go() -> str:
        if args.command == "metrics-bridge":
            from libs.stack import metrics_bridge
            from libs.svc.bus import close_quietly, connect

            nc = await connect(settings, "bastion-metrics-bridge")  # reconnects for as long as it runs
            try:
                await metrics_bridge.serve(nc, args.host, args.port, args.window, fd=args.fd)
            finally:
                await close_quietly(nc)
            return ""
        if args.command == "streams":
            replicas = load(streams.StreamSettings).stream_replicas  # BASTION_STREAM_REPLICAS
            await operator.provision_streams(settings, replicas=replicas)
            return f"streams and consumers provisioned ({replicas} replica{'s' if replicas > 1 else ''})"
        async with operator.connected(settings) as nc:
            if args.command == "metrics":
                return await operator.service_metrics(nc, args.service)
            if args.action == "list":
                return json.dumps(await operator.list_dead_letters(nc, args.limit), indent=2)
            return json.dumps(await operator.replay(nc, args.id), indent=2)

    print(asyncio.run(go()))
    return 0


def rotate_master_key(config: StackConfig, *, retire_old: bool) -> int:
    """Prepend a fresh master key, let the running vault pick it up, rewrap, optionally retire the old."""
    from libs.crypto.keyring import Keyring, generate_spec

    keys = secrets_store.ensure(config.var)
    path = keys.master_keys_file
    ring = Keyring.from_spec(path.read_text(encoding="utf-8"))
    kid = f"mk{max(int(k[2:]) for k in ring.kids if k[2:].isdigit()) + 1}" if ring.kids else "mk1"
    path.write_text(generate_spec(kid) + "\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    print(f"added master key {kid}; waiting for the vault to reload the keyring", flush=True)
    time.sleep(5)  # the vault polls the key file every 2 s
    cluster = pg.Cluster(data=config.var / "pg" / "data", port=config.pg_port,
                         password=(config.var / "pg" / "superuser.password").read_text().strip())  # fmt: skip
    creds = secrets_store.password_files(config.var / "secrets", "db", SERVICE_ROLES)
    env = {**os.environ, "BASTION_DB_DSN": cluster.dsn(user=SERVICE_ROLES["vault"], password=creds["vault"]),
           "BASTION_MASTER_KEYS_FILE": str(path)}  # fmt: skip
    env.pop("BASTION_MASTER_KEYS", None)
    done = subprocess.run([sys.executable, "-m", "services.vault", "rotate-master"], env=env, check=False)
    if done.returncode != 0:
        print("rewrap failed; the old key stays in the ring", file=sys.stderr)
        return done.returncode
    if retire_old:
        path.write_text(generate_spec_line(path, kid) + "\n", encoding="utf-8")
        print(f"retired the old master key(s); the ring is now {kid} only", flush=True)
    return 0


def rotate_bus_certs(config: StackConfig) -> int:
    """New keys and certificates for nats-server and every bus user, then nats-server reloads its
    own (SIGHUP: open connections stay up). A process presents its new certificate from its next
    start on; the old ones stay valid until they expire (same CA), so nothing has to restart now."""
    import signal

    pki.renew(config.var, nats_users.PERMISSIONS, [config.host, "localhost"])
    pid = _running_nats(config)
    if pid is None:
        print("certificates issued; nats-server is not running (it reads them when it starts)")
        return 0
    os.kill(pid, signal.SIGHUP)
    print("certificates issued; nats-server reloaded its own (restart a service to move it to its new one)")
    return 0


def _running_nats(config: StackConfig) -> int | None:
    """The pid of this stack's nats-server, if it runs (a stale pid file names nobody, or someone else)."""
    try:
        pid = int((config.var / "run" / "nats.pid").read_text(encoding="utf-8"))
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    conf = str(natsd.config_path(config.var / "nats")).encode()
    return pid if cmdline and cmdline[0].endswith(b"nats-server") and conf in cmdline else None


def generate_spec_line(path: Path, kid: str) -> str:
    """The line of ``kid`` in a key file."""
    for entry in path.read_text(encoding="utf-8").replace(",", "\n").split():
        if entry.startswith(f"{kid}:"):
            return entry
    raise LookupError(kid)


def create_org(config: StackConfig, name: str, plan: str) -> int:
    """Create an organisation with a default project and an owner token on a running local stack."""
    import asyncio

    from libs.stack import seed

    keys = secrets_store.ensure(config.var)
    cluster = pg.init(config.var / "pg", config.pg_port)

    async def make() -> tuple[str, str, str]:
        import asyncpg

        pepper = seed.decode_pepper(keys.pepper)
        conn = await asyncpg.connect(cluster.dsn())
        try:
            async with conn.transaction():
                org_id = await seed.create_org(conn, name, plan=plan)
                project_id = await seed.create_project(conn, org_id, "default")
                token = await seed.create_admin_token(conn, pepper, org_id, "owner", "initial owner token")
        finally:
            await conn.close()
        return org_id, project_id, token

    org_id, project_id, token = asyncio.run(make())
    print(f"organisation {org_id} (project {project_id})\nowner token (shown once): {token}")
    return 0


def db_auth(directory: Path, host: str, port: int, database: str, *, ca_file: str | None = None) -> int:
    """``db_<service>.password`` (made once) and ``db_<service>.dsn`` for every service role: the
    migrate job gives each role LOGIN with its password, each service connects with its DSN (with
    ``ca_file``: over TLS only, the server's certificate verified against it, name included)."""
    passwords = secrets_store.password_files(directory, "db", SERVICE_ROLES)
    query = f"?sslmode=verify-full&sslrootcert={ca_file}" if ca_file else ""
    for service, password in passwords.items():
        dsn_file = directory / f"db_{service}.dsn"
        dsn_file.write_text(f"postgresql://{SERVICE_ROLES[service]}:{password}@{host}:{port}/{database}{query}\n",
                            encoding="utf-8")  # fmt: skip
        dsn_file.chmod(0o600)
        print(f"{dsn_file.name}")
    return 0


def db_tls(directory: Path, host: str) -> int:
    """A CA (``<dir>/tls/ca.crt``) and PostgreSQL's certificate for ``host`` (``postgres.crt``,
    ``postgres.key``, 0600), each made once; compose mounts them (``compose.yaml``)."""
    pki.ensure_ca(directory)
    leaf = pki.ensure_leaf(directory, "postgres", [host])
    for path in (pki.ca_cert(directory), leaf.cert, leaf.key):
        print(path)
    return 0
