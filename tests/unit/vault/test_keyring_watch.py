from __future__ import annotations

import os
from pathlib import Path

from libs.crypto import aead
from libs.crypto.keyring import generate_spec
from services.vault import envelope
from services.vault.keyring_watch import KeyringHolder


async def test_reload_picks_up_a_new_primary_and_ignores_a_broken_file(tmp_path: Path) -> None:
    path = tmp_path / "master.keys"
    path.write_text(generate_spec("mk1") + "\n")
    holder = KeyringHolder({"BASTION_MASTER_KEYS_FILE": str(path)})
    dek, wrapped = envelope.new_wrapped_dek(holder.ring, "org1")
    path.write_text(generate_spec("mk2") + "\n" + path.read_text())
    os.utime(path, ns=(1, 1))  # a different mtime, whatever the clock resolution
    await holder.reload()
    assert holder.ring.primary.kid == "mk2"
    assert envelope.unwrap_dek(holder.ring, "org1", wrapped.kid, wrapped.blob) == dek  # old wraps still open
    rewrapped = aead.rewrap(holder.ring, wrapped, envelope.dek_aad("org1"))
    assert rewrapped.kid == "mk2"
    path.write_text("not a key spec")
    os.utime(path, ns=(2, 2))
    await holder.reload()
    assert holder.ring.primary.kid == "mk2"  # kept the working ring
