"""The one place RE2 options for tenant patterns are set."""

from __future__ import annotations

from typing import Any, Final

import re2

__all__ = ["compile_re2"]

# Per-pattern memory for the program plus DFA cache; small on purpose (many tenants, many rules). When the
# DFA cache is exhausted RE2 falls back to its NFA: still linear, just slower.
_MAX_MEM: Final = 1 << 20


def compile_re2(pattern: str, case_sensitive: bool = True) -> Any:
    """Compile ``pattern`` with the rule options; raises ``re2.error``."""
    options = re2.Options()
    options.log_errors = False  # rejected tenant patterns must not spam stderr
    options.max_mem = _MAX_MEM
    options.never_capture = True  # only the overall span is used; cheaper matching
    options.case_sensitive = case_sensitive
    return re2.compile(pattern, options)
