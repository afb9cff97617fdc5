"""Markers by folder: tests under integration/ and e2e/ get their marker automatically; the
session stack (tests/stack.py) is shared by the end-to-end and security tests; the canary
leak check runs after everything else."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.stack"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = str(item.path)
        if "/tests/integration/" in path:
            item.add_marker(pytest.mark.integration)
        elif "/tests/e2e/" in path:
            item.add_marker(pytest.mark.e2e)
    # the canary scan reads what the whole run left behind (logs, traces, spools, JetStream, a dump)
    items.sort(key=lambda item: item.path.name == "test_zz_canary.py")
