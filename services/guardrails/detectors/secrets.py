"""Secret detectors: provider keys, PEM private keys, JWTs, AWS secret keys and generic credentials.

Each finding carries ``api_key``: whether it is a provider key/token (reported as API_KEY when the
caller wants the PII label set) rather than a password or private key.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final, NamedTuple

from .gate import Gate, GateHits
from .secret_rules import PROVIDER_RULES, RULE_PREFIXES, entropy, looks_placeholder

__all__ = ["Finding", "find_secrets"]


class Finding(NamedTuple):
    start: int
    end: int
    type: str
    api_key: bool


_AWS_SECRET: Final = re.compile(r"(?<![A-Za-z0-9/+=])([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])")
_AWS_SECRET_CTX: Final = re.compile(r"aws|secret[_ ]?access|AKIA|ASIA", re.IGNORECASE)

# key = value assignments: KEY=..., "key": "value", key: value, KEY='value' -- found from the keyword hit
_KEY_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_KEY_OK: Final = re.compile(
    r"passw|passphrase|passcode|(?:^|[_.-])pass(?:$|[_.-])|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|"
    r"auth[_-]?key|private[_-]?key|credential|signing[_-]?key|encryption[_-]?key|master[_-]?key|session[_-]?key|"
    r"bearer|(?:^|[_.-])pat(?:$|[_.-])",
    re.IGNORECASE,
)
_VALUE_AT: Final = re.compile(
    r"[\"']?\s*(?:=|:=|:|=>|->)\s*"
    r"(?:(?P<q>[\"'`])(?P<qv>[^\"'`\n]{4,256})(?P=q)|(?P<v>[^\s\"'`,;)}\]]{4,256}))"
)
_KEY_SPLIT: Final = re.compile(r"[_.\-\s]+|(?<=[a-z])(?=[A-Z])")
_BAD_TOKENS: Final = frozenset(
    [
        "hash",
        "hashed",
        "digest",
        "sha",
        "sha1",
        "sha256",
        "sha512",
        "md5",
        "checksum",
        "integrity",
        "commit",
        "uuid",
        "nonce",
        "id",
        "ids",
        "url",
        "uri",
        "path",
        "file",
        "name",
        "env",
        "type",
        "length",
        "len",
        "max",
        "min",
        "count",
        "expiry",
        "expires",
        "expiration",
        "ttl",
        "timeout",
        "format",
        "header",
        "field",
        "public",
        "pub",
        "hint",
        "policy",
        "reset",
        "limit",
        "limits",
        "usage",
        "endpoint",
        "size",
        "arn",
        "ref",
        "version",
        "ver",
        "prefix",
        "suffix",
        "label",
        "passed",
        "passes",
        "passenger",
        "passport",
        "bypass",
        "compass",
        "pattern",
        "regex",
        "tokens",
        "tokenizer",
        "keyboard",
        "keyword",
        "keys",
        "placeholder",
        "example",
        "sample",
        "dummy",
        "mask",
        "masked",
        "rotation",
        "rotate",
        "algorithm",
        "algo",
        "encoding",
    ]
)


def _bad_key(key: str) -> bool:
    tokens = [t.lower() for t in _KEY_SPLIT.split(key) if t]
    return any(t in _BAD_TOKENS for t in tokens)


_NL_PASSWORD: Final = re.compile(
    r"\b(?:password|passcode|passphrase|pwd|pin code|wifi key|secret)\s+(?:is|was|will be|=|:)\s*[\"'“]?"
    r"(?P<v>[^\s\"'”]{6,64}?)[\"'”]?(?=[.,;!?]?(?:\s|$))",
    re.IGNORECASE,
)
# a key or token named in prose: "my api key is …", "datadog api key: …", "the access token was …"
_NL_KEY: Final = re.compile(
    r"\b(?:api[ -]?key|access[ -]?key|secret[ -]?key|license key|auth(?:entication)? token|access token|"
    r"api token|bearer token|personal access token|refresh token|token|key)\s*(?:is|was|:|=|-)\s*[\"'“`]?"
    r"(?P<v>[A-Za-z0-9][A-Za-z0-9_\-.+/=]{15,127}?)[\"'”`]?(?=[.,;!?)]?(?:\s|$))",
    re.IGNORECASE,
)
_WORDY: Final = re.compile(r"[A-Za-z]{3,}")
_URL_CRED: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s:/@]{1,64}:(?P<v>[^\s@/]{3,128})@[\w.-]+")
_BEARER: Final = re.compile(r"\bBearer\s+(?P<v>[A-Za-z0-9._~+/-]{20,}=*)")
_CLI_PASS: Final = re.compile(r"(?:--password[= ]|-p(?=\S))(?P<v>[^\s\"']{6,64})")
_VALUE_REJECT: Final = re.compile(
    r"^(?:\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|\$\(.*\)|%[A-Za-z_]+%|os\.environ.*|env\(.*|process\.env.*|"
    r"getenv.*|[A-Za-z_][A-Za-z0-9_.]*\(.*|[A-Za-z_]+\.[A-Za-z_.]+|true|false|null|none|nil|"
    r"sha\d+-[A-Za-z0-9+/=]+|data:.*|https?://.*|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|"
    r"\d{1,8}|[a-z]+(?:[ _-][a-z]+)*)$",
    re.IGNORECASE,
)


_ASCII_LOWER: Final = {c: c + 32 for c in range(65, 91)}
GATE_TAGS: Final[dict[str, tuple[str, ...]]] = {
    **{f"s:rule{i}": words for i, words in enumerate(RULE_PREFIXES)},
    "s:assign": ("pass", "pwd", "secret", "token", "key", "cred", "bearer", "pat"),
    "s:aws": ("aws", "secret_access", "secretaccess", "akia", "asia"),
    "s:url": ("://",),
    "s:cli": ("--password", " -p"),
    "s:nl": ("password", "passcode", "passphrase", "pwd", "pin code", "wifi key", "secret"),
    "s:bearer": ("bearer",),
    "s:nlkey": ("key", "token"),
}
_GATE: Final = Gate(GATE_TAGS)
_OWN_TAGS: Final = frozenset(GATE_TAGS)


_PATH_LIKE: Final = re.compile(
    r"^(?:/|\./|\.\./|~/|[A-Za-z]:\\)|\.(?:creds|json|pem|key|txt|ya?ml|env|cfg|conf|ini|p12|pfx|crt|toml)$"
)


def _jwt_ok(token: str) -> bool:
    head = token.split(".", 1)[0]
    try:
        raw = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
    except (binascii.Error, ValueError):
        return False
    return b'"alg"' in raw or b'"typ"' in raw or b'"kid"' in raw


def _generic_value_ok(value: str, strict: bool) -> bool:
    if len(value) < 6 or _VALUE_REJECT.match(value) or _PATH_LIKE.search(value) or looks_placeholder(value):
        return False
    classes = sum(
        (any(c.islower() for c in value), any(c.isupper() for c in value), any(c.isdigit() for c in value),
         any(not c.isalnum() for c in value))
    )  # fmt: skip
    if strict:
        return classes >= 3 or (classes >= 2 and entropy(value) >= 3.0 and len(value) >= 10)
    return classes >= 2 or entropy(value) >= 3.5


def _key_like(value: str) -> bool:
    """A random-looking key: letters and digits, varied, not words joined by separators
    ("user_id_2024_customer", "gpt-4o-mini-2024-07-18"), not a template or placeholder."""
    if len(value) < 16 or not any(c.isdigit() for c in value) or not any(c.isalpha() for c in value):
        return False
    parts = re.split(r"[_.\-/+=]", value)
    if len(parts) > 1 and sum(1 for p in parts if _WORDY.fullmatch(p)) >= 2:
        return False
    return entropy(value) >= 3.2 and _generic_value_ok(value, strict=True)


def _overlaps(out: list[Finding], s: int, e: int) -> bool:
    return any(f.start < e and s < f.end for f in out)


def _assignments(text: str, ends: list[int], out: list[Finding]) -> None:
    n = len(text)
    seen: set[int] = set()
    for end in ends:
        ks = ke = end  # start offset of the keyword
        while ks > 0 and text[ks - 1] in _KEY_CHARS:
            ks -= 1
        while ke < n and text[ke] in _KEY_CHARS:
            ke += 1
        if ke in seen:
            continue
        seen.add(ke)
        key = text[ks:ke].strip(".-")
        if not key or not _KEY_OK.search(key) or _bad_key(key):
            continue
        m = _VALUE_AT.match(text, ke)
        if m is None:
            continue
        grp = "qv" if m.group("qv") is not None else "v"
        val = m.group(grp)
        s, e = m.span(grp)
        if not val or not _generic_value_ok(val, strict=grp == "v") or _overlaps(out, s, e):
            continue
        low = key.lower()
        api_key = "pass" not in low and "pwd" not in low and "secret" not in low
        out.append(Finding(s, e, "GENERIC_SECRET", api_key))


def find_secrets(text: str, found: GateHits | None = None) -> list[Finding]:
    """``found``: positions from a shared gate over ``"\\n" + text.lower()`` (ASCII text only)."""
    if found is None:
        low = text.lower()
        if len(low) != len(text):  # non-ASCII case mappings can change lengths; keep offsets aligned
            low = text.translate(_ASCII_LOWER)
        found = _GATE.scan("\n" + low)
    if not found.tags & _OWN_TAGS:
        return []
    out: list[Finding] = []
    for i, (typ, pat, grp, alias) in enumerate(PROVIDER_RULES):
        if f"s:rule{i}" not in found:
            continue
        pos = found.starts(f"s:rule{i}", -1)
        lo = max(0, pos[0] - 60)
        hi = len(text) if typ in ("PRIVATE_KEY", "JWT") else min(len(text), pos[-1] + 1200)
        for m in pat.finditer(text, lo, hi):
            s, e = m.span(grp)
            val = m.group(grp)
            if typ == "PRIVATE_KEY":
                val = val.rstrip()
                e = s + len(val)
            elif typ == "JWT":
                if not _jwt_ok(val):
                    continue
            elif looks_placeholder(val) or (typ != "SLACK_TOKEN" and entropy(val) < 3.0):
                continue
            if not _overlaps(out, s, e):
                out.append(Finding(s, e, typ, alias))
    if "s:aws" in found:
        for m in _AWS_SECRET.finditer(text):
            val = m.group(1)
            if (
                any(c.islower() for c in val) and any(c.isupper() for c in val) and any(c.isdigit() for c in val)
                and entropy(val) >= 4.0 and not looks_placeholder(val) and not _overlaps(out, *m.span(1))
            ):  # fmt: skip
                near = text[max(0, m.start() - 120) : m.start()]
                if _AWS_SECRET_CTX.search(near):
                    out.append(Finding(m.start(1), m.end(1), "AWS_SECRET_KEY", True))
    if "s:assign" in found:
        _assignments(text, found.starts("s:assign", -1), out)
    for tag, pat in (("bearer", _BEARER), ("url", _URL_CRED), ("cli", _CLI_PASS), ("nl", _NL_PASSWORD)):
        if f"s:{tag}" not in found or (tag == "url" and "@" not in text):
            continue
        for m in pat.finditer(text):
            val = m.group("v")
            s, e = m.span("v")
            if _overlaps(out, s, e) or not _generic_value_ok(val, strict=pat is _NL_PASSWORD):
                continue
            out.append(Finding(s, e, "GENERIC_SECRET", pat is _BEARER))
    if "s:nlkey" in found:
        for m in _NL_KEY.finditer(text):
            s, e = m.span("v")
            if not _overlaps(out, s, e) and _key_like(m.group("v")):
                out.append(Finding(s, e, "GENERIC_SECRET", True))
    return out
