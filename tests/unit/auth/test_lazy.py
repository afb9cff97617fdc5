"""Sign-in libraries load on first use only: an auth process that only verifies keys stays small."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from services.auth.lazy import Lazy


async def test_built_once_even_when_asked_concurrently() -> None:
    built: list[int] = []

    def build() -> int:
        built.append(1)
        return 42

    lazy = Lazy(build)
    assert await asyncio.gather(*(lazy.get() for _ in range(5))) == [42] * 5
    assert built == [1]


def test_starting_auth_loads_no_sign_in_library() -> None:
    code = ("import sys, libs.svc.natsimport, services.auth.app; "
            "print(sorted(m for m in ('authlib', 'joserfc', 'webauthn', 'pyotp', 'httpx2', 'OpenSSL') if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
