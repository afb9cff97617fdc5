"""Rule specification, hit and error types shared by every rule kind, plus the hard limits."""

from __future__ import annotations

import re
from typing import Any, Final

import msgspec

__all__ = [
    "ACTIONS",
    "KINDS",
    "MAX_HITS_PER_RULE",
    "MAX_RULES",
    "SCOPES",
    "RuleError",
    "RuleHit",
    "RuleSpec",
    "check_keys",
    "clip",
    "get_bool",
    "validate_header",
]

KINDS: Final = ("blocked_terms", "regex", "topic_restriction")
ACTIONS: Final = ("block", "warn", "redact")
SCOPES: Final = ("org", "project")
MAX_RULES: Final = 200  # per tenant policy (org + project rules together)
# Past this many hits one rule stops looking and reports the rest of the text as one hit: bounded work per
# text, and fail-closed (a redact rule then redacts everything it did not get to inspect).
MAX_HITS_PER_RULE: Final = 1000
_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}")
_RESERVED_PREFIX: Final = "builtin."  # the built-in policy's rule ids; a tenant must not impersonate them


class RuleError(ValueError):
    """Invalid rule; the message is safe to show to the tenant (input is never echoed beyond a short clip)."""


class RuleSpec(msgspec.Struct, frozen=True, kw_only=True):
    """A tenant-defined rule as stored and submitted through the management API."""

    id: str
    kind: str  # "blocked_terms" | "regex" | "topic_restriction"
    action: str  # "block" | "warn" | "redact"
    monitor: bool = False  # record a finding, do not act on it
    config: dict[str, Any] = {}
    scope: str = "org"  # "org" | "project"


class RuleHit(msgspec.Struct, frozen=True):
    """One match of one rule: offsets are ``str`` indices into the ORIGINAL text, end exclusive."""

    rule_id: str
    type: str
    action: str
    monitor: bool
    start: int
    end: int


def clip(value: object, limit: int = 40) -> str:
    """Short ``repr`` of user input for an error message (never echoes a huge value)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def validate_header(spec: RuleSpec) -> None:
    """Check everything except the kind-specific config; messages are not yet prefixed with the rule id."""
    if not isinstance(spec.id, str) or not _ID.fullmatch(spec.id):
        raise RuleError(
            f"invalid rule id {clip(spec.id)}: use 1-128 characters from A-Z a-z 0-9 _ . : / - "
            "starting with a letter or digit"
        )
    if spec.id.startswith(_RESERVED_PREFIX):
        raise RuleError(f"rule id {clip(spec.id)}: the prefix {_RESERVED_PREFIX!r} is reserved for built-in rules")
    if spec.kind not in KINDS:
        raise RuleError(f"rule {spec.id!r}: unknown kind {clip(spec.kind)}; expected one of {', '.join(KINDS)}")
    if spec.action not in ACTIONS:
        raise RuleError(f"rule {spec.id!r}: unknown action {clip(spec.action)}; expected one of {', '.join(ACTIONS)}")
    if spec.scope not in SCOPES:
        raise RuleError(f"rule {spec.id!r}: unknown scope {clip(spec.scope)}; expected one of {', '.join(SCOPES)}")
    if not isinstance(spec.monitor, bool):
        raise RuleError(f"rule {spec.id!r}: monitor must be a boolean")
    if not isinstance(spec.config, dict):
        raise RuleError(f"rule {spec.id!r}: config must be an object")


def check_keys(config: dict[str, Any], allowed: frozenset[str]) -> None:
    """Reject unknown config keys: a typo like ``case_sensitve`` must not silently change matching."""
    unknown = sorted(str(k) for k in config if k not in allowed)
    if unknown:
        raise RuleError(f"unknown config key(s) {clip(unknown, 60)}; allowed: {', '.join(sorted(allowed))}")


def get_bool(config: dict[str, Any], key: str, default: bool) -> bool:
    value = config.get(key, default)
    if not isinstance(value, bool):
        raise RuleError(f"config {key!r} must be true or false")
    return value
