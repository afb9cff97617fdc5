"""Online master-key rotation: rewrap every tenant's data key under the primary master key.

Each tenant is rewrapped in its own transaction (row locked), so resolves continue throughout
(the data key itself does not change). Safe to run again: keys already under the primary are
skipped. ``python -m services.vault rotate-master`` with the vault's environment.
"""

from __future__ import annotations

from collections.abc import Callable

import asyncpg

from libs.crypto import aead
from libs.crypto.keyring import Keyring
from libs.db.pool import tenant_tx
from services.vault import envelope


async def rewrap_all(pool: asyncpg.Pool, keyring: Keyring, progress: Callable[[str], None]) -> tuple[int, int]:
    """Rewrap data keys not under ``keyring.primary``; returns (rewrapped, total)."""
    tenants = await pool.fetch("SELECT org_id, kid FROM vault.tenants_with_data_keys()")
    done = 0
    for index, row in enumerate(tenants, 1):
        if row["kid"] == keyring.primary.kid:
            continue
        async with tenant_tx(pool, row["org_id"]) as conn:
            current = await conn.fetchrow(
                "SELECT kid, wrapped FROM vault.data_keys WHERE org_id = $1 FOR UPDATE", row["org_id"]
            )
            if current is None or current["kid"] == keyring.primary.kid:
                continue
            wrapped = aead.rewrap(
                keyring, aead.WrappedKey(kid=current["kid"], blob=bytes(current["wrapped"])), envelope.dek_aad(row["org_id"])
            )  # fmt: skip
            await conn.execute(
                "UPDATE vault.data_keys SET kid = $2, wrapped = $3, rotated_at = now() WHERE org_id = $1",
                row["org_id"], wrapped.kid, wrapped.blob,
            )  # fmt: skip
        done += 1
        progress(f"rewrapped {index}/{len(tenants)} tenant data keys (now under {keyring.primary.kid})")
    return done, len(tenants)
