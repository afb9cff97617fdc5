"""Build something heavy the first time it is needed, off the event loop.

Sign-in with OAuth (authlib, httpx2, joserfc), passkeys (py_webauthn, pyOpenSSL) and TOTP
(pyotp, cryptography's AES-GCM) took the auth process's peak RSS on import from 34 to 53 MB
(issue 11 made every process small); people sign in rarely, so those libraries load on the first
request that needs them, in a thread, so key verification on the same process goes on meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Lazy(Generic[T]):
    """``await lazy.get()``: the value ``factory`` builds, built once."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._value: T | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> T:
        """The value, building it in a thread the first time."""
        if self._value is None:
            async with self._lock:
                if self._value is None:
                    self._value = await asyncio.to_thread(self._factory)
        return self._value
