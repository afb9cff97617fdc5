"""The checkpointer signs only heads that follow from the last signed checkpoint (docs/audit.md,
"The checkpointer signs only what follows from what it signed"), and says so when they do not."""

from __future__ import annotations

import logging

import asyncpg
import pytest

from services.audit import checkpoints
from services.audit import store as audit_store
from tests.integration import test_audit_trail as base
from tests.integration.test_audit_trail import SIGNER, _as_attacker, _event, _org, _verify

pools = base.pools

pytestmark = pytest.mark.integration

Pools = tuple[asyncpg.Pool, asyncpg.Pool, asyncpg.Pool]


async def _heads(admin: asyncpg.Pool, org: str) -> list[int]:
    rows = await admin.fetch("SELECT chain_seq FROM audit.checkpoints WHERE org_id = $1 AND kind = 'head' ORDER BY 1",
                             org)  # fmt: skip
    return [r["chain_seq"] for r in rows]


async def test_a_head_that_does_not_rehash_from_the_last_checkpoint_is_not_signed(
    pools: Pools, dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A replica that just started (nothing remembered) still re-hashes the rows since the last
    signed checkpoint: an edited row there leaves the head unsigned and logs the alarm."""
    audit, _, admin = pools
    org = await _org(dsn, "cpedit")
    await audit_store.append_batch(audit, [_event(org, i) for i in range(3)])
    await checkpoints.checkpoint(audit, SIGNER)
    await audit_store.append_batch(audit, [_event(org, i) for i in range(3, 6)])
    await _as_attacker(dsn, "UPDATE audit.events SET success = false WHERE org_id = $1 AND chain_seq = 5", org)
    checkpoints._remembered.clear()  # a fresh replica: no checkpoint remembered, no rows written by it
    checkpoints.runs.clear()
    with caplog.at_level(logging.ERROR, logger="bastion.audit"):
        await checkpoints.checkpoint(audit, SIGNER)
    assert await _heads(admin, org) == [3]
    alarms = [r for r in caplog.records if r.getMessage() == "audit chain tampered" and r.org_id == org]
    assert [(r.chain_seq, r.reason) for r in alarms] == [
        (5, "the chain does not follow from the last signed checkpoint")
    ]


async def test_a_deleted_latest_checkpoint_is_written_back_and_alarmed(
    pools: Pools, dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Deleting the newest checkpoints (rows untouched) hides nothing yet, but the checkpointer
    remembers the one it signed: it is written back, the chain is not signed meanwhile, the alarm
    is logged; the tick after, the chain goes on."""
    audit, api, admin = pools
    org = await _org(dsn, "cpdel")
    await audit_store.append_batch(audit, [_event(org, i) for i in range(3)])
    await checkpoints.checkpoint(audit, SIGNER)
    await audit_store.append_batch(audit, [_event(org, i) for i in range(3, 6)])
    await checkpoints.checkpoint(audit, SIGNER)
    await _as_attacker(dsn, "DELETE FROM audit.checkpoints WHERE org_id = $1 AND chain_seq > 3", org)
    await audit_store.append(audit, _event(org, 6))
    with caplog.at_level(logging.ERROR, logger="bastion.audit"):
        await checkpoints.checkpoint(audit, SIGNER)
    assert await _heads(admin, org) == [3, 6]
    assert any(r.getMessage() == "audit chain tampered" and r.org_id == org and r.chain_seq == 6
               for r in caplog.records)  # fmt: skip
    await checkpoints.checkpoint(audit, SIGNER)
    assert await _heads(admin, org) == [3, 6, 7]
    assert (await _verify(api, org)).ok
