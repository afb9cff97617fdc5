"""IP_ADDRESS detector: IPv4/IPv6 literals parsed by ``ipaddress``; excludes documentation ranges, loopback,
netmasks, version strings, requirement pins, OIDs, MACs and ``a::b`` code; spans exclude ports and prefixes."""

from __future__ import annotations

import ipaddress
import re
from typing import Final

from .models import Span

__all__ = ["find_ips", "find_ipv4", "find_ipv6"]

_IPV4: Final = re.compile(r"(?<![\w.:-])(\d{1,3}(?:\.\d{1,3}){3})(?![\w-]|\.\d)")
_IPV6_LOOSE: Final = re.compile(r"(?<![\w:.-])([0-9A-Fa-f:]{2,}[0-9A-Fa-f.:]*)")
# the word right before names a version, a document section or a product/part identifier
_VERSION_CTX: Final = re.compile(
    r"(?:\bversion|\bver\.?|\bv|\bbuild|\brelease|\bfirmware|\bfw|\bsdk|\boid|\brev(?:ision)?|\bpatch|"
    r"\bupdate|\bkernel|\bdriver|\bbios|\bapi|\bschema|\bsection|\bchapter|\bfigure|\btable|\bstep|"
    r"\bclause|\brule|\bitem|\bversions?\s+\w+|\bsku|\bpart|\bmodel|\bproduct|\bcatalog(?:ue)?|\bserial|"
    r"\bcode|\bref(?:erence)?|\blot|\bbatch|\bisbn)"
    r"(?:\s+(?:no\.?|nr\.?|number|code|#))?\s*[:=#]?\s*[\"'(]?$",
    re.IGNORECASE,
)
# "package foo 3.7.2.74", "plugin bar 2.0.1.3": a named software artefact, then its version
_ARTEFACT_CTX: Final = re.compile(
    r"\b(?:package|library|lib|module|plugin|extension|app|crate|gem|image|binary|tool)\s+[\w.@/-]+\s+$",
    re.IGNORECASE,
)
# package requirement pins (pkg>=1.2.0.2, pkg==…); a bare "=" is an assignment (host=10.0.0.1)
_REQ_CTX: Final = re.compile(r"(?:[<>=!~^]=|===|[<>^~])\s*$")
# words that put a dotted quad in an address role; they outweigh the weaker version cues below
_ADDR_CTX: Final = re.compile(
    r"\b(?:ips?|ipv4|addr|address(?:es)?|hosts?|hostname|servers?|nodes?|gateway|gw|dns|"
    r"resolver|nameserver|proxy|peer|client|src|dst|source|dest|destination|router|route|ping|ssh|scp|curl|"
    r"wget|telnet|nc|nmap|connect\w*|listen\w*|bind|upstream|endpoint|vm|instance|machine|printer|camera|nas|"
    r"device|firewall|whitelist\w*|allowlist\w*|blocklist\w*|block\w*|ban\w*|allow\w*|deny|denied|attacker|"
    r"origin|remote|local|public|private|internal|external|static|lease\w*|assigned|subnet|lan|wan|vpn|"
    r"interface|eth\d|wlan\d|inet)\b",
    re.IGNORECASE,
)
_ADDR_AFTER: Final = re.compile(r"(?::\d|/\d|\s+(?:port|on port)\b)", re.IGNORECASE)
# weaker version cues: a product name right before ("Python 3.11.4.2", "Chrome …") or a release word after
_NAME_BEFORE: Final = re.compile(r"\b[A-Z][A-Za-z+#]+\s+$")
_VERSION_AFTER: Final = re.compile(
    r"\s*(?:-?(?:release|update|build|version|beta|alpha|rc\d*|patch|hotfix|changelog|lts)\b|"
    r"(?:is|was)\s+(?:out|released)\b|(?:and|or)\s+(?:later|newer|above|higher)\b)",
    re.IGNORECASE,
)
_MASK_CTX: Final = re.compile(r"(?:netmask|subnet mask|mask)\s*[:=]?\s*[\"']?$", re.IGNORECASE)
_V6_HINT: Final = re.compile(r"[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:")
_V6_PLACEHOLDER: Final = ipaddress.ip_network("2001:db8::/32")
_V4_PLACEHOLDERS: Final = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "127.0.0.0/8")
)


def _version_like(text: str, start: int, end: int) -> bool:
    """A product name before or a release word after, with no address word nearby on the same line."""
    pre = text[max(0, start - 40) : start]
    pre = pre[pre.rfind("\n") + 1 :]
    if not (_NAME_BEFORE.search(pre) or _VERSION_AFTER.match(text, end, end + 24)):
        return False
    return not (_ADDR_CTX.search(pre) or _ADDR_AFTER.match(text, end, end + 12))


def _v4_ok(text: str, start: int, value: str) -> bool:
    try:
        addr = ipaddress.IPv4Address(value)
    except ValueError:
        return False
    if any(addr in n for n in _V4_PLACEHOLDERS) or addr.is_unspecified or value == "255.255.255.255":
        return False
    pre = text[max(0, start - 24) : start]
    if _VERSION_CTX.search(pre) or _MASK_CTX.search(pre) or _REQ_CTX.search(pre) or _ARTEFACT_CTX.search(pre):
        return False
    if _version_like(text, start, start + len(value)):
        return False
    return not value.startswith("255.")  # netmask-like


def _v6_ok(value: str, pre: str = "") -> bool:
    if _MASK_CTX.search(pre.rstrip("'\"= ") + " ") or value.lower().startswith("ffff:ffff"):
        return False  # netmasks
    try:
        addr = ipaddress.IPv6Address(value)
    except ValueError:
        return False
    if addr in _V6_PLACEHOLDER or addr.is_loopback or addr.is_unspecified:
        return False
    groups = [g for g in value.split(":") if g]
    if len(groups) >= 3:
        return True
    # "a::b", "abc::def" are code, "fe80::1" is an address: need a group with a digit and 3+ chars
    return any(len(g) >= 3 and any(c.isdigit() for c in g) for g in groups)


def find_ipv4(text: str, lo: int = 0, hi: int | None = None) -> list[Span]:
    out: list[Span] = []
    for m in _IPV4.finditer(text, lo, len(text) if hi is None else hi):
        if _v4_ok(text, m.start(), m.group(1)):
            out.append(Span(m.start(1), m.end(1), "IP_ADDRESS"))
    return out


def find_ips(text: str) -> list[Span]:
    """IPv6 first; IPv4 literals embedded in an IPv6 one (``::ffff:a.b.c.d``) are not reported twice."""
    out = find_ipv6(text)
    for sp in find_ipv4(text):
        if not any(o.start <= sp.start and sp.end <= o.end for o in out):
            out.append(sp)
    return out


def find_ipv6(text: str) -> list[Span]:
    out: list[Span] = []
    if "::" in text or _V6_HINT.search(text):
        for m in _IPV6_LOOSE.finditer(text):
            value = m.group(1)
            # trim trailing punctuation colon or dot ("… fe80::1:" / "… 2a01::1.")
            while value and value[-1] in ".:" and not value.endswith("::"):
                value = value[:-1]
            if value.count(":") < 2 or not _v6_ok(value, text[max(0, m.start(1) - 24) : m.start(1)]):
                continue
            # MACs (6 groups of 2) never parse as IPv6 without "::", so they are rejected above
            s, e = m.start(1), m.start(1) + len(value)
            out.append(Span(s, e, "IP_ADDRESS"))
    return out
