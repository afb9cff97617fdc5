"""Checks sent ahead of auth's answer: the principal a key had when last verified here
(:class:`KeyHints`), one request's authentication in flight (:class:`PendingAuth`), and when
checks made for a hint stand for auth's fresh answer (:func:`same_scope`)."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from typing import Any

from libs.contracts.messages import Principal


class KeyHints:
    """The principal each key had when this process last saw it verified, by a keyed digest of
    the key (never the key itself), so its checks can start while auth verifies it again.

    A hint grants nothing: auth's answer is awaited for every request. Any refusal of a key drops
    its hint; entries expire after ``ttl_s`` and the table is bounded.
    """

    def __init__(self, *, max_size: int = 10_000, ttl_s: float = 300.0) -> None:
        self._secret = secrets.token_bytes(32)
        self._max_size, self._ttl = max_size, ttl_s
        self._hints: dict[bytes, tuple[float, Principal]] = {}

    def digest(self, key: str) -> bytes:
        """A keyed BLAKE2b digest of ``key`` (the key is not recoverable from it)."""
        return hashlib.blake2b(key.encode(), key=self._secret, digest_size=16).digest()

    def get(self, digest: bytes) -> Principal | None:
        hit = self._hints.get(digest)
        if hit is None:
            return None
        if hit[0] < time.monotonic():
            del self._hints[digest]
            return None
        return hit[1]

    def put(self, digest: bytes, principal: Principal) -> None:
        if digest not in self._hints and len(self._hints) >= self._max_size:
            self._hints.clear()  # keys come from clients: keep the table bounded
        self._hints[digest] = (time.monotonic() + self._ttl, principal)

    def drop(self, digest: bytes) -> None:
        self._hints.pop(digest, None)

    def __len__(self) -> int:
        return len(self._hints)


class PendingAuth:
    """One request's authentication, started at once; :meth:`principal` awaits its outcome (the
    verified principal, IP allow-list checked, or the refusal) as often as needed."""

    def __init__(self, task: asyncio.Task[Principal], hint: Principal | None) -> None:
        self._task = task
        self.hint = hint
        """The key's principal when last verified here, if any: for checks sent ahead of auth."""

    @property
    def done(self) -> bool:
        return self._task.done()

    async def principal(self) -> Principal:
        """The verified principal; raises the refusal (401/403) or 503."""
        return await self._task


def same_scope(hint: Principal, principal: Principal) -> bool:
    """Checks made for ``hint`` stand for ``principal``: same key, organisation and project."""
    return (hint.key_id, hint.org_id, hint.project_id) == (principal.key_id, principal.org_id, principal.project_id)


def swallow(future: asyncio.Future[Any]) -> None:
    """Retrieve a finished future's exception, so an unawaited one is never reported as lost."""
    if not future.cancelled():
        future.exception()
