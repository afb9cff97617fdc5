"""``regex`` rules on RE2 (linear-time, no backtracking) with creation-time complexity limits."""

from __future__ import annotations

from typing import Any, Final

import re2

from .re2opts import compile_re2
from .redos import check_structure
from .spec import MAX_HITS_PER_RULE, RuleError, check_keys, clip

__all__ = ["MAX_PATTERN_LEN", "MAX_PROGRAM_SIZE", "PatternMatcher", "compile_pattern"]

MAX_PATTERN_LEN: Final = 1000
# RE2 is linear in the text, but the constant grows with the compiled program when the DFA gives up and the
# NFA runs (e.g. "a.{100}c": ~800 instructions, ~1.5 us/char). The cap keeps the worst case near 3 us/char
# while still admitting one broad Unicode class such as \pL+ (~1200 instructions).
MAX_PROGRAM_SIZE: Final = 1500
_FLAGS: Final = frozenset("ims")
_KEYS: Final = frozenset({"pattern", "flags"})
# Probe texts for patterns that match the empty string (a zero-width hit is meaningless and would make
# finditer report one hit per position).
_EMPTY_PROBES: Final = ("", "a", " ", "ab a\n1_ .-\u00e9")


class PatternMatcher:
    """Compiled pattern; ``find`` returns non-empty, non-overlapping (start, end) in original offsets."""

    __slots__ = ("_regex",)

    def __init__(self, regex: Any) -> None:
        self._regex = regex

    def find(self, text: str) -> list[tuple[int, int]]:
        hits: list[tuple[int, int]] = []
        # ASCII text goes in as bytes (byte offsets == str indices, ~2x faster); otherwise the wrapper maps
        # RE2's UTF-8 offsets back to str indices in one linear pass
        subject: str | bytes = text.encode("ascii") if text.isascii() else text
        for seen, m in enumerate(self._regex.finditer(subject), 1):
            if seen > MAX_HITS_PER_RULE:
                # fail closed: the uninspected rest of the text is one hit
                hits.append((hits[-1][1] if hits else 0, len(text)))
                break
            start, end = m.span()
            if end > start:
                hits.append((start, end))
        return hits


def compile_pattern(config: dict[str, Any]) -> PatternMatcher:
    """Validate a ``regex`` config and compile it."""
    check_keys(config, _KEYS)
    pattern = config.get("pattern")
    if not isinstance(pattern, str) or not pattern:
        raise RuleError("config 'pattern' must be a non-empty string")
    if len(pattern) > MAX_PATTERN_LEN:
        raise RuleError(f"pattern is too long: {len(pattern)} characters (at most {MAX_PATTERN_LEN})")
    flags = config.get("flags", "")
    if not isinstance(flags, str) or not set(flags) <= _FLAGS or len(set(flags)) != len(flags):
        raise RuleError(f"config 'flags' {clip(flags)} must be a string of distinct letters from 'ims'")
    case_sensitive = "i" not in flags
    inline = "".join(sorted(set(flags) - {"i"}))
    source = f"(?{inline}){pattern}" if inline else pattern
    try:
        regex = compile_re2(source, case_sensitive)
    except re2.error as exc:
        raise RuleError(f"invalid pattern: {_re2_reason(exc)}") from None
    size = max(regex.programsize, regex.reverseprogramsize)
    if regex.reverseprogramsize < 0 or size > MAX_PROGRAM_SIZE:  # -1: the reverse program ran out of memory
        raise RuleError(
            f"pattern is too complex (compiled size {size}, at most {MAX_PROGRAM_SIZE}): "
            "avoid large counted repetitions like .{200} and broad Unicode classes"
        )
    # Nested or ambiguous quantifiers cost nothing extra on RE2, but they are rejected anyway: they are a
    # classic ReDoS shape, and a rule must stay safe if it is ever evaluated by a backtracking engine.
    check_structure(pattern, case_sensitive)
    for probe in _EMPTY_PROBES:
        if any(m.end() == m.start() for m in regex.finditer(probe)):
            raise RuleError("pattern can match the empty string; it must always consume at least one character")
    return PatternMatcher(regex)


def _re2_reason(exc: Exception) -> str:
    reason = exc.args[0] if exc.args else ""
    if isinstance(reason, bytes):
        reason = reason.decode("utf-8", "replace")
    reason = str(reason)
    hint = ""
    if "invalid perl operator: (?" in reason or "invalid named capture group" in reason:
        hint = " (look-ahead/look-behind are not supported)"
    elif "invalid escape sequence: \\" in reason and reason[-1:].isdigit():
        hint = " (backreferences are not supported)"
    elif "bad repetition operator" in reason:
        hint = " (possessive quantifiers are not supported)"
    elif "invalid repetition size" in reason:
        hint = " (counted repetition is limited to {1000})"
    elif reason.endswith("\\Z"):
        hint = " (use \\z for the end of the text)"
    if len(reason) > 80:
        reason = reason[:77] + "..."
    return reason + hint
