"""Static ReDoS-shape check for regex rules: nested unbounded quantifiers and ambiguous alternations.

Runs only on patterns RE2 already accepted, so the scanner can be lenient about syntax. It flags:

* a repeated group containing an unbounded quantifier: ``(a+)+``, ``(.*)*``, ``(.*a){20}``
  (a small bounded outer count such as ``(?:\\s+\\w+){0,3}`` is allowed);
* a repeated alternation whose branches can match the same text: ``(a|a)*``, ``(\\d|[0-9])+``.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Final

import re2

from .re2opts import compile_re2
from .spec import RuleError

__all__ = ["NESTED_BOUNDED_MAX", "check_structure"]

NESTED_BOUNDED_MAX: Final = 3  # largest outer count allowed around a group with an unbounded quantifier
_INF: Final = -1
_COUNTED: Final = re.compile(r"\{(\d+)(,(\d*))?\}")
# characters used to test whether two single-character branches overlap
_SAMPLE: Final = "".join(chr(c) for c in range(128)) + "\u00a0\u00e9\u00df\u0416\u03b1\u4e2d\u0663\u2003\U0001f600"
_MAX_ATOM_BRANCHES: Final = 16


@dataclass
class _Group:
    start: int  # index of the first character of the group body
    unbounded: bool = False  # body contains an unbounded quantifier
    bars: list[int] = field(default_factory=list)  # indices of top-level "|"


@dataclass
class _Closed:
    unbounded: bool
    branches: list[str]


def _skip_class(p: str, i: int) -> int:
    """Index just past the character class starting at ``p[i] == '['``."""
    j = i + 1
    if j < len(p) and p[j] == "^":
        j += 1
    if j < len(p) and p[j] == "]":  # a leading "]" is literal
        j += 1
    while j < len(p) and p[j] != "]":
        if p[j] == "\\":
            j += 2
        elif p.startswith("[:", j):
            end = p.find(":]", j + 2)
            j = end + 2 if end >= 0 else j + 1
        else:
            j += 1
    return j + 1


def _skip_escape(p: str, i: int) -> int:
    """Index just past the escape starting at ``p[i] == '\\'``."""
    if i + 1 >= len(p):
        return i + 1
    c = p[i + 1]
    if c == "Q":  # literal text up to \E
        end = p.find("\\E", i + 2)
        return len(p) if end < 0 else end + 2
    if c in "pPx" and i + 2 < len(p) and p[i + 2] == "{":
        end = p.find("}", i + 3)
        return len(p) if end < 0 else end + 1
    return i + 2


def _quantifier(p: str, i: int) -> tuple[int, int] | None:
    """(max count or _INF, index past it incl. a lazy '?') for a quantifier at ``p[i]``, else None."""
    c = p[i]
    if c in "*+":
        hi, j = _INF, i + 1
    elif c == "?":
        hi, j = 1, i + 1
    elif c == "{":
        m = _COUNTED.match(p, i)
        if m is None:
            return None
        hi = int(m.group(1)) if m.group(2) is None else (int(m.group(3)) if m.group(3) else _INF)
        j = m.end()
    else:
        return None
    if j < len(p) and p[j] == "?":
        j += 1
    return hi, j


def _group_body_start(p: str, i: int) -> tuple[int, bool]:
    """For ``p[i] == '('``: (index of the body, whether this opens a group rather than a flag directive)."""
    if not p.startswith("(?", i):
        return i + 1, True
    j = i + 2
    if j < len(p) and p[j] in "P<":
        end = p.find(">", j)
        return (len(p) if end < 0 else end + 1), True
    while j < len(p) and (p[j].isalpha() or p[j] == "-"):
        j += 1
    if j < len(p) and p[j] == ":":
        return j + 1, True
    return j + 1, False  # "(?i)" sets flags for the rest of the enclosing group


def check_structure(pattern: str, case_sensitive: bool = True) -> None:
    """Raise ``RuleError`` if ``pattern`` has a nested-quantifier or ambiguous-alternation shape."""
    p = pattern
    stack: list[_Group] = [_Group(0)]
    last: _Closed | None = None  # the atom just before the current position, if it was a group
    i = 0
    while i < len(p):
        c = p[i]
        q = _quantifier(p, i)
        if q is not None:
            hi, i = q
            if last is not None:
                _check_repeated_group(last, hi, case_sensitive)
            if hi == _INF:
                stack[-1].unbounded = True
            last = None
            continue
        last = None
        if c == "\\":
            i = _skip_escape(p, i)
        elif c == "[":
            i = _skip_class(p, i)
        elif c == "(":
            body, is_group = _group_body_start(p, i)
            if is_group:
                stack.append(_Group(body))
            i = body
        elif c == ")" and len(stack) > 1:
            group = stack.pop()
            edges = [group.start - 1, *group.bars, i]
            branches = [p[a + 1 : b] for a, b in itertools.pairwise(edges)]
            stack[-1].unbounded |= group.unbounded
            last = _Closed(group.unbounded, branches)
            i += 1
        elif c == "|":
            stack[-1].bars.append(i)
            i += 1
        else:
            i += 1


def _check_repeated_group(group: _Closed, hi: int, case_sensitive: bool) -> None:
    if hi != _INF and hi <= 1:
        return
    if group.unbounded and (hi == _INF or hi > NESTED_BOUNDED_MAX):
        raise RuleError(
            "pattern has a nested quantifier (a repeated group containing +, * or {n,}, e.g. (a+)+ or (.*a){20}); "
            "rewrite it without the nesting"
        )
    if len(group.branches) > 1 and _branches_overlap(group.branches, case_sensitive):
        raise RuleError(
            "pattern repeats an alternation whose branches can match the same text (e.g. (a|a)* or (\\d|[0-9])+); "
            "make the branches mutually exclusive"
        )


def _single_atom(branch: str) -> bool:
    if len(branch) == 1:
        return branch not in "()|"
    if branch.startswith("\\"):
        return _skip_escape(branch, 0) == len(branch) and not branch.startswith("\\Q")
    if branch.startswith("["):
        return _skip_class(branch, 0) == len(branch)
    return False


def _branches_overlap(branches: list[str], case_sensitive: bool) -> bool:
    if len(set(branches)) < len(branches):
        return True
    atoms = [b for b in branches if _single_atom(b)][:_MAX_ATOM_BRANCHES]
    if len(atoms) < 2:
        return False
    accepted: list[frozenset[str]] = []
    for atom in atoms:
        chars = _charset(atom, case_sensitive)
        if any(chars & other for other in accepted):
            return True
        accepted.append(chars)
    return False


def _charset(atom: str, case_sensitive: bool) -> frozenset[str]:
    """The sample characters a single-character atom matches (empty if it does not compile on its own)."""
    try:
        regex = compile_re2(atom, case_sensitive)
    except re2.error:
        return frozenset()
    return frozenset(ch for ch in _SAMPLE if regex.fullmatch(ch) is not None)
