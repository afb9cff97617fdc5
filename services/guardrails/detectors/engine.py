"""Guardrail detection engine: one call scans a text for PII, secrets and prompt injection.

Pure Python, no I/O. Span offsets are Python ``str`` indices into the ORIGINAL text, end exclusive.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

from libs.contracts.guard_types import redaction_label

from .gate import Gate, GateHits
from .injection import GATE_TAGS as _INJECTION_TAGS
from .injection import score_injection
from .models import API_KEY_ALIASED, Injection, ScanResult, Span
from .pii_email import GATE_TAGS as _EMAIL_TAGS
from .pii_email import find_emails
from .pii_ip import find_ipv4, find_ipv6
from .pii_numeric import find_cards, find_phones, find_ssns
from .secrets import GATE_TAGS as _SECRET_TAGS
from .secrets import find_secrets

__all__ = ["Injection", "ScanResult", "Span", "TypedSpan", "detect", "redact", "scan", "scan_typed"]

_NO_INJECTION: Final = Injection(0.0, "benign")
# digit runs that could hold a card, SSN, phone or IPv4 address; the numeric detectors only look there
_NUMRUN: Final = re.compile(r"[+(0-9][0-9 ().+\-]{5,40}[0-9]")
_NUMERIC: Final = (find_cards, find_ssns, find_ipv4, find_phones)
_GATE: Final = Gate({**_INJECTION_TAGS, **_SECRET_TAGS, **_EMAIL_TAGS})


class TypedSpan(NamedTuple):
    """A span plus whether it is a provider key/token (reported as API_KEY under the PII labels)."""

    start: int
    end: int
    type: str
    api_key: bool


def _free(taken: list[TypedSpan], s: int, e: int) -> bool:
    return not any(t.start < e and s < t.end for t in taken)


def _shared_gate(text: str) -> GateHits | None:
    """One Aho-Corasick pass serving all detectors; only for ASCII text, where ``lower()`` keeps offsets and
    equals the injection scorer's casefolded normalisation."""
    return _GATE.scan("\n" + text.lower()) if text.isascii() else None


def _detect(text: str, pii: bool, secrets: bool, found: GateHits | None) -> list[TypedSpan]:
    out: list[TypedSpan] = []
    if secrets and len(text) >= 8:
        for f in find_secrets(text, found):
            out.append(TypedSpan(f.start, f.end, f.type, f.api_key or f.type in API_KEY_ALIASED))
    if pii:
        n = len(text)
        windows = [(max(0, m.start() - 1), min(n, m.end() + 3)) for m in _NUMRUN.finditer(text)]
        spans: list[Span] = []
        for finder in _NUMERIC:
            if finder is find_ipv4:
                spans.extend(find_ipv6(text))
            for lo, hi in windows:
                spans.extend(finder(text, lo, hi))
        spans.extend(find_emails(text, found))
        for sp in spans:  # detector priority order: first one wins an overlap
            if _free(out, sp.start, sp.end):
                out.append(TypedSpan(sp.start, sp.end, sp.type, False))
    out.sort()
    return out


def detect(text: str, *, pii: bool = True, secrets: bool = True) -> list[TypedSpan]:
    """All PII/secret spans, non-overlapping, sorted by start. Secrets win over PII on overlap;
    among PII the order is card > SSN > IPv6 > IPv4 > phone > e-mail."""
    return _detect(text, pii, secrets, _shared_gate(text))


def scan_typed(
    text: str, *, pii: bool = True, secrets: bool = True, injection: bool = True
) -> tuple[list[TypedSpan], Injection]:
    """Like ``scan`` but keeps the API_KEY alias flag of each span (used by the batch scanner)."""
    found = _shared_gate(text)
    spans = _detect(text, pii, secrets, found) if pii or secrets else []
    inj = score_injection(text, found) if injection else _NO_INJECTION
    return spans, inj


def scan(text: str, *, pii: bool = True, secrets: bool = True, injection: bool = True) -> ScanResult:
    typed, inj = scan_typed(text, pii=pii, secrets=secrets, injection=injection)
    return ScanResult(spans=[Span(t.start, t.end, t.type) for t in typed], injection=inj)


def redact(text: str, spans: list[Span]) -> str:
    """Replace every span with ``[REDACTED_<TYPE>]``. Overlapping or touching-inside spans are merged;
    the merged region takes the type of its longest member."""
    ordered = sorted(
        (s for s in spans if 0 <= s.start < s.end <= len(text)), key=lambda s: (s.start, -(s.end - s.start))
    )
    merged: list[tuple[int, int, str, int]] = []  # start, end, type, length of the type's span
    for s in ordered:
        length = s.end - s.start
        if merged and s.start < merged[-1][1]:
            ms, me, mt, ml = merged[-1]
            if length > ml:
                mt, ml = s.type, length
            merged[-1] = (ms, max(me, s.end), mt, ml)
        else:
            merged.append((s.start, s.end, s.type, length))
    parts: list[str] = []
    pos = 0
    for ms, me, mt, _ in merged:
        parts.append(text[pos:ms])
        parts.append(redaction_label(mt))
        pos = me
    parts.append(text[pos:])
    return "".join(parts)
