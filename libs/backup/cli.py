"""``backup create|restore``, shared by ``python -m libs.stack backup`` and ``bastion backup``.

This module imports only :mod:`argparse` at load time: the stack's supervisor builds its parser
from it and must stay light (tests/unit/libs/test_stack_footprint.py).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    """Add ``backup create`` and ``backup restore`` to a subparsers object."""
    backup = sub.add_parser("backup", help="operator: encrypted backup and restore of a stack")
    actions = backup.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="write one sealed archive (database, streams, keyring metadata)")
    create.add_argument("--var", default=None, help="the stack's state directory (default: ./var or $BASTION_VAR)")
    create.add_argument("--out", required=True, help="directory the archive goes into")
    create.add_argument("--keep", type=int, default=None, help="then delete all but the newest N archives there")
    create.add_argument("--dsn-file", default=None, help="superuser DSN in a file (default: the local cluster's)")
    create.add_argument("--nats-url", default=None, help="default: the local stack's ($BASTION_NATS_URL)")
    create.add_argument("--password-file", default=None, help="operator bus password (default: var/secrets)")
    create.add_argument("--include-secrets", action="store_true",
                        help="also the master keyring and pepper, sealed under a passphrase")  # fmt: skip
    create.add_argument("--passphrase-file", default=None, help="default: $BASTION_BACKUP_PASSPHRASE")
    restore = actions.add_parser("restore", help="bring a fresh local stack directory back from an archive")
    restore.add_argument("archive")
    restore.add_argument("--var", default=None)
    restore.add_argument("--force", action="store_true", help="replace a database that is not empty")
    restore.add_argument("--passphrase-file", default=None, help="for an archive made with --include-secrets")
    backup.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Do it; a refusal is one line on stderr and exit status 1."""
    from libs.backup.errors import BackupError

    try:
        if args.action == "create":
            sys.stdout.write(_create(args) + "\n")
        else:
            _restore(args)
    except BackupError as exc:
        sys.stderr.write(f"backup {args.action}: {exc}\n")
        return 1
    return 0


def _create(args: argparse.Namespace) -> str:
    from libs.backup import create, keys
    from libs.backup.errors import BackupError
    from libs.stack import operator, pg, secrets_store
    from libs.stack.config import StackConfig

    config = StackConfig.from_env(args.var)
    env = os.environ
    local = not args.dsn_file  # the local stack's own cluster and secrets, else a deployment's files
    if local:
        if not (config.var / "pg" / "superuser.password").exists():
            raise BackupError(f"no local stack in {config.var} (give --var, or --dsn-file for a deployment)")
        secrets_store.ensure(config.var)
    dsn = _read(args.dsn_file) if args.dsn_file else pg.existing(config.var / "pg", config.pg_port).dsn()
    url = args.nats_url or env.get("BASTION_NATS_URL") or config.nats_url
    if args.password_file:  # a deployment whose bus authenticates by password
        bus = operator.with_password(url, _read(args.password_file))
    else:  # the local stack: the operator's client certificate
        bus = operator.with_certificate(url, config.var)
    master = Path(env.get("BASTION_MASTER_KEYS_FILE") or config.var / "secrets" / "master.keys")
    pepper = env.get("BASTION_KEY_PEPPER") or _read(
        env.get("BASTION_KEY_PEPPER_FILE") or config.var / "secrets" / "key_pepper"
    )
    source = create.Source(var=config.var, db_dsn=dsn, bus=bus, master_keys_file=master, pepper=pepper)
    passphrase = keys.read_passphrase(args.passphrase_file) if args.include_secrets else None
    return str(create.create(source, Path(args.out), config.var, passphrase=passphrase, keep=args.keep))


def _read(path: str | Path) -> str:
    return Path(path).read_text(encoding="utf-8").strip()


def _restore(args: argparse.Namespace) -> None:
    from libs.backup import keys, restore
    from libs.stack.config import StackConfig

    config = StackConfig.from_env(args.var)
    passphrase = None
    if args.passphrase_file or os.environ.get(keys.PASSPHRASE_ENV):
        passphrase = keys.read_passphrase(args.passphrase_file)
    counts = restore.restore(config, Path(args.archive), passphrase=passphrase, force=args.force)
    sys.stdout.write(f"restored into {config.var}: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + "\n")
