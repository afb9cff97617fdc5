"""The stack's Python processes run with a fixed glibc mmap threshold (``MALLOC_ENV``), so argon2's
19 MiB working memory is returned once a verify is done instead of staying resident in every
worker thread that ever ran one (issue 11)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from libs.stack.__main__ import MALLOC_ENV

# Four verifies at once in the default to_thread pool (four worker threads, four arenas), then
# the growth of RSS over the start, in MiB, once all are done.
_SCRIPT = """
import asyncio
from libs.crypto.apikeys import KeyHasher

def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

async def main() -> None:
    hasher = KeyHasher()
    encoded = hasher.hash("sk-test-key")
    before = rss_mib()
    for _ in range(2):
        assert all(await asyncio.gather(*(hasher.verify_async(encoded, "sk-test-key") for _ in range(4))))
    print(round(rss_mib() - before, 1))

asyncio.run(main())
"""


def _growth_mib(extra_env: dict[str, str]) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | extra_env
    out = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tunables")
def test_argon2_memory_is_returned_after_verifies() -> None:
    assert _growth_mib(MALLOC_ENV) < 10


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tunables")
def test_without_the_setting_worker_threads_keep_it() -> None:
    """The check above can fail: glibc's default keeps ~19 MiB per thread that verified."""
    assert _growth_mib({}) > 30
