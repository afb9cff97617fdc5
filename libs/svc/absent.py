"""Make installed but unwanted libraries look absent to one import or call (issue 11).

Several dependencies load optional integrations whenever the library they integrate with is
installed: nats-py loads aiohttp for ``ws://`` URLs, Litestar registers Pydantic plugins. Each
such library stays in the process's memory for its lifetime (4-8 MB of PSS each). Inside
:func:`absent`, importing one of ``names`` raises ``ImportError`` (what the integrations
expect when it is not installed); afterwards it is importable again, so code that really
uses it still can. A library already loaded is left alone: it costs nothing more.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def absent(*names: str) -> Iterator[None]:
    """Within the block, ``import <name>`` fails for every one of ``names`` not yet imported."""
    hidden = [name for name in names if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # how import marks a module as missing
    try:
        yield
    finally:
        for name in hidden:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]
