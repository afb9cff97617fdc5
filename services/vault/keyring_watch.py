"""The master keyring, reloaded when its file changes (no restart, no failed request).

Rotation adds a new key at the front of the file; every vault replica picks it up within
``POLL_S``; data keys are then rewrapped online (``python -m services.vault rotate-master``);
the old key can be removed from the file afterwards. Unwrapped data keys cached in memory stay
valid throughout: rewrapping changes the wrapping, not the data key.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from libs.crypto.keyring import Keyring, KeyringError

log = logging.getLogger("bastion.vault.keyring")
POLL_S = 2.0
FILE_VAR = "BASTION_MASTER_KEYS_FILE"


class KeyringHolder:
    """The current keyring; ``reload()`` swaps it when the file's content changed."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._env = dict(os.environ if environ is None else environ)
        self.ring = Keyring.from_env(self._env)
        path = self._env.get(FILE_VAR)
        self._path = Path(path) if path else None
        self._stamp = self._path.stat().st_mtime_ns if self._path else 0

    async def reload(self) -> None:
        """Pick up a changed key file; a broken file keeps the current ring (logged, no key material)."""
        if self._path is None:
            return
        try:
            stamp = self._path.stat().st_mtime_ns
            if stamp == self._stamp:
                return
            ring = Keyring.from_env(self._env)
        except (OSError, KeyringError) as exc:
            log.error("master key file not reloaded", extra={"error_type": type(exc).__name__})
            return
        self.ring, self._stamp = ring, stamp
        log.info("master keyring reloaded", extra={"kids": ",".join(ring.kids)})
