"""``python -m services.audit.verify [--org ORG | --all]``: verify audit chains for an operator.

Reads with the audit service's own database login (``BASTION_DB_DSN[_FILE]``), each chain in its
organisation's transaction; ``--org ''`` (the default) is the chain of rows no organisation could
be tied to (refused credentials), which no tenant can read. Trusted keys: ``BASTION_AUDIT_PUBLIC_KEYS``
(or the public half of ``BASTION_AUDIT_SIGNING_KEY``). Prints one JSON report per chain; exits 1
if any is broken.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import msgspec

from libs.audit import stored
from libs.audit.chain import Report
from libs.audit.signing import Signer, TrustedKeys
from libs.db.pool import create_pool
from libs.svc.settings import load
from services.audit.settings import AuditSettings


class _Keys(msgspec.Struct, frozen=True):
    audit_public_keys: list[str] = []


async def main(orgs: list[str] | None) -> int:
    settings = load(AuditSettings)
    trusted = TrustedKeys.parse(load(_Keys).audit_public_keys)
    if not trusted.keys and settings.audit_signing_key:
        signer = Signer.from_seed(settings.audit_signing_key)
        trusted = TrustedKeys({signer.key_id: signer.public})
    if not trusted.keys:
        print("no trusted key: set BASTION_AUDIT_PUBLIC_KEYS", file=sys.stderr)  # noqa: T201 - an operator command
        return 2
    pool = await create_pool(settings.db_dsn, max_size=2)
    broken = 0
    try:
        if orgs is None:
            orgs = [r["org_id"] for r in await pool.fetch("SELECT org_id FROM audit.chains ORDER BY org_id")]
        for org in orgs:
            async for step in stored.verify(pool, org, trusted):
                if isinstance(step, Report):
                    print(msgspec.json.encode(step).decode())  # noqa: T201 - an operator command
                    broken += not step.ok
                else:
                    print(f"{org or '(no organisation)'}: checked {step} records …", file=sys.stderr)  # noqa: T201 - an operator command
    finally:
        await pool.close()
    return 1 if broken else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m services.audit.verify", description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--org", default="", help="organisation id ('' = rows of no organisation)")
    group.add_argument("--all", action="store_true", help="every chain")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(None if args.all else [args.org])))
