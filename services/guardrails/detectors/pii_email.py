"""EMAIL detector: plain, obfuscated ("[at]", "dot", other languages, letter-spaced, full-width, %40)."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from .gate import Gate, GateHits
from .models import Span

__all__ = ["GATE_TAGS", "find_emails"]

_LOCAL: Final = r"[A-Za-z0-9](?:[A-Za-z0-9._%+'-]{0,62}[A-Za-z0-9_%+-])?"
_LABEL: Final = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN_EMAIL: Final = re.compile(
    rf"(?<![A-Za-z0-9._%+-])({_LOCAL})(?:@|＠|﹫|%40)((?:{_LABEL}\.)+[A-Za-z]{{2,24}})(?![A-Za-z0-9-]|\.[A-Za-z0-9])"
)
# Obfuscated forms: "[at]", "(at)", "{at}", " at ", " AT ", "arroba", ... with "dot" words for the dots.
_AT_WORDS: Final = r"at|arroba|arobase|chez|bei|klammeraffe|malpa|małpa|chiocciola|собака|アット"
_DOT_WORDS: Final = r"dot|punto|point|punkt|ponto|kropka|punt|точка|ドット"
_AT: Final = rf"(?:\s*[\[\(\{{<]\s*(?:{_AT_WORDS}|@)\s*[\]\)\}}>]\s*|\s+(?:{_AT_WORDS})\s+|\s+@\s+)"
_DOT: Final = rf"(?:\s*[\[\(\{{<]\s*(?:{_DOT_WORDS}|\.)\s*[\]\)\}}>]\s*|\s+(?:{_DOT_WORDS})\s+|\.)"
_OBF_EMAIL: Final = re.compile(
    rf"(?<![\w.])([A-Za-z0-9][A-Za-z0-9_+-]*(?:{_DOT}[A-Za-z0-9_+-]+)*){_AT}"
    rf"([A-Za-z0-9][A-Za-z0-9-]*(?:{_DOT}[A-Za-z0-9-]+)*{_DOT}([A-Za-z]{{2,12}}))(?![\w])",
    re.IGNORECASE,
)
# Letter-spaced: "j o h n @ g m a i l . c o m"
_SPACED_EMAIL: Final = re.compile(
    r"(?<!\S)((?:[A-Za-z0-9._-] ){2,})(?:@|＠) ((?:(?:[A-Za-z0-9-] )+\. )+(?:[A-Za-z] )+[A-Za-z])(?![A-Za-z0-9])"
)
_FULLWIDTH: Final = re.compile("[\uff01-\uff5e]")
_OBF_TRIGGER: Final = re.compile(rf"[\[\(\{{<]\s*(?:{_AT_WORDS}|@)\s*[\]\)\}}>]|\s(?:{_AT_WORDS})\s", re.IGNORECASE)
_AT_SIGNS: Final = ("@", "＠", "﹫", "%40")


def _at_positions(text: str) -> list[int]:
    out: list[int] = []
    for sign in _AT_SIGNS:
        i = text.find(sign)
        while i != -1 and len(out) < 200:
            out.append(i)
            i = text.find(sign, i + 1)
    return out


_OBF_GATE: Final = (
    " at ",
    "arroba",
    "arobase",
    "chez",
    " bei ",
    "klammeraffe",
    "malpa",
    "małpa",
    "chiocciola",
    "собака",
    "アット",
)
_DOT_GATE: Final = (
    "dot",
    "punto",
    "point",
    "punkt",
    "ponto",
    "kropka",
    "punt",
    "точка",
    "ドット",
    "].",
    ").",
)
_COMMON_TLDS: Final = frozenset(
    [
        "com",
        "org",
        "net",
        "edu",
        "gov",
        "io",
        "co",
        "de",
        "uk",
        "fr",
        "es",
        "it",
        "nl",
        "se",
        "no",
        "dk",
        "fi",
        "pl",
        "cz",
        "ch",
        "at",
        "be",
        "pt",
        "ru",
        "jp",
        "cn",
        "in",
        "br",
        "au",
        "ca",
        "mx",
        "us",
        "info",
        "biz",
        "dev",
        "app",
        "ai",
        "me",
        "tv",
        "eu",
        "ie",
        "nz",
        "za",
        "kr",
        "tw",
        "hk",
        "sg",
        "ar",
        "cl",
        "pe",
        "ro",
        "hu",
        "gr",
        "tr",
        "il",
        "ua",
        "sk",
        "si",
        "hr",
        "bg",
        "lt",
        "lv",
        "ee",
        "is",
        "lu",
        "mail",
        "email",
        "cloud",
        "tech",
        "online",
        "site",
        "xyz",
    ]
)
_PLACEHOLDER_DOMAINS: Final = ("example.com", "example.org", "example.net", "localhost")
_PLACEHOLDER_TLDS: Final = ("example", "test", "invalid", "localhost", "local")


def _placeholder_domain(domain: str) -> bool:
    d = domain.lower().rstrip(".")
    if d in _PLACEHOLDER_DOMAINS or any(d.endswith("." + p) for p in _PLACEHOLDER_DOMAINS):
        return True
    return d.rsplit(".", 1)[-1] in _PLACEHOLDER_TLDS


def _norm_obf(part: str) -> str:
    return re.sub(rf"{_DOT}", ".", part, flags=re.IGNORECASE)


GATE_TAGS: Final[dict[str, tuple[str, ...]]] = {
    "p:bracket": tuple(f"{o}{sp}{a}" for o in "[({<" for sp in ("", " ") for a in ("at", "@")),
    "p:dot": _DOT_GATE,
    "p:at": _OBF_GATE,
}
_GATE: Final = Gate(GATE_TAGS)


def _fullwidth_emails(text: str, taken: list[Span]) -> list[Span]:
    """Addresses typed in full-width forms (ｋｉｍ＠ｎａｖｅｒ．ｃｏｍ): NFKC maps each to one ASCII character,
    so offsets carry over when the length is unchanged."""
    norm = unicodedata.normalize("NFKC", text)
    if len(norm) != len(text):
        return []
    out: list[Span] = []
    for m in _PLAIN_EMAIL.finditer(norm):
        if _placeholder_domain(m.group(2)) or any(s.start < m.end() and m.start() < s.end for s in taken):
            continue
        out.append(Span(m.start(), m.end(), "EMAIL"))
    return out


def find_emails(text: str, found: GateHits | None = None) -> list[Span]:
    """``found``: positions from a shared gate over ``"\\n" + text.lower()``; computed here when None."""
    out: list[Span] = []
    ats = _at_positions(text)
    seen: set[int] = set()
    for at in ats:
        for m in _PLAIN_EMAIL.finditer(text, max(0, at - 70), min(len(text), at + 260)):
            if m.start() in seen:
                continue
            seen.add(m.start())
            if text[m.start() - 3 : m.start()] == "://" or _placeholder_domain(m.group(2)):
                continue
            # "user:pass@host" inside a URL is a credential, not an address
            pre = text[max(0, m.start() - 40) : m.start()]
            if re.search(r"://[^\s/@]*:$", pre):
                continue
            out.append(Span(m.start(), m.end(), "EMAIL"))
    if ats and (" @" in text or "@ " in text):
        for m in _SPACED_EMAIL.finditer(text):
            local = m.group(1).replace(" ", "")
            domain = m.group(2).replace(" ", "")
            if len(local) < 2 or _placeholder_domain(domain):
                continue
            end = m.end(2)
            if not any(s.start < end and m.start() < s.end for s in out):
                out.append(Span(m.start(), end, "EMAIL"))
    if not text.isascii() and _FULLWIDTH.search(text):
        out.extend(_fullwidth_emails(text, out))
    if found is None:
        found = _GATE.scan("\n" + text.lower())
    bracket = "p:bracket" in found
    spelled = "p:dot" in found and "p:at" in found
    if (bracket or spelled) and _OBF_TRIGGER.search(text):
        for m in _OBF_EMAIL.finditer(text):
            if "@" in m.group(0) and " " not in m.group(0):
                continue  # plain address, handled above
            tld = m.group(3).lower()
            raw_at = text[m.end(1) : m.start(2)]
            bracketed = any(c in raw_at for c in "[({<")
            if not bracketed and tld not in _COMMON_TLDS:
                continue
            domain = _norm_obf(m.group(2))
            if "." not in domain or _placeholder_domain(domain):
                continue
            if not bracketed and not re.search(rf"\s(?:{_DOT_WORDS})\s", m.group(2), re.IGNORECASE):
                continue  # "meet me at home.com" style; require a spelled-out dot with a spelled-out at
            if any(s.start < m.end() and m.start() < s.end for s in out):
                continue
            out.append(Span(m.start(), m.end(), "EMAIL"))
    return out
