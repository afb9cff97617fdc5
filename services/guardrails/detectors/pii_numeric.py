"""CREDIT_CARD, SSN and PHONE detectors: shape regex -> cheap checks -> validation."""

from __future__ import annotations

import functools
import re
from typing import Final

import phonenumbers

from .models import Span

__all__ = ["find_cards", "find_phones", "find_ssns", "luhn_ok"]

# ---------------------------------------------------------------------------------------------- cards
_CARD: Final = re.compile(r"(?<![\w.,/+-])(\d(?:[ -]?\d){12,18})(?![\w/+]|[ -]?\d|[.,]\d)")
_TEST_CARDS: Final = frozenset(
    {
        "4242424242424242", "4111111111111111", "5555555555554444", "4000056655665556",
        "5105105105105100", "5200828282828210", "2223003122003222", "378282246310005",
        "371449635398431", "6011111111111117", "6011000990139424", "3530111333300000",
        "3566002020360505", "4012888888881881", "4000000000000002", "4000000000000077",
        "4000000000003220", "4000000000009995", "6011981111111113", "30569309025904",
        "38520000023237", "4222222222222", "5454545454545454", "4000000000000010",
        "4012000033330026", "4000000000000341", "4917610000000000", "3714496353984312",
        "4444333322221111", "5425233430109903", "2222420000001113", "6011000000000004",
        "5500000000000004", "378734493671000", "3566111111111113", "6200000000000005", "4005550000000001",
        "2223000048400011", "4000002500003155",
        "4000002760003184", "4000000000003063", "4000000000000101", "6011000400000000",
    }
)  # fmt: skip
_CARD_CTX_NEG: Final = re.compile(
    r"(?:order|tracking|invoice|account|acct|iban|isbn|sku|serial|imei|ref(?:erence)?|"
    r"transaction|txn|id|no\.?|#)\s*[:#]?\s*$",
    re.IGNORECASE,
)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i & 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _brand_ok(d: str) -> bool:
    n = len(d)
    if d[0] == "4":
        return n in (13, 16, 19)
    p2, p4 = int(d[:2]), int(d[:4])
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return n == 16
    if p2 in (34, 37):
        return n == 15
    if p4 == 6011 or p2 == 65 or 644 <= int(d[:3]) <= 649 or 622126 <= int(d[:6]) <= 622925:
        return 16 <= n <= 19
    if 3528 <= p4 <= 3589:
        return 16 <= n <= 19
    if p2 in (36, 38) or 300 <= int(d[:3]) <= 305:
        return n == 14
    if p2 == 62:  # UnionPay
        return 16 <= n <= 19
    return False


def _grouping_ok(raw: str) -> bool:
    seps = {c for c in raw if not c.isdigit()}
    if not seps:
        return True
    if len(seps) > 1:
        return False
    groups = raw.split(seps.pop())
    return all(len(g) >= 3 for g in groups[:-1]) and len(groups[-1]) >= 1 and len(groups) <= 5


def find_cards(text: str, lo: int = 0, hi: int | None = None) -> list[Span]:
    out: list[Span] = []
    for m in _CARD.finditer(text, lo, len(text) if hi is None else hi):
        raw = m.group(1)
        d = raw.replace(" ", "").replace("-", "")
        if not (13 <= len(d) <= 19) or not _grouping_ok(raw) or not _brand_ok(d):
            continue
        if d in _TEST_CARDS or len(set(d)) <= 2 or not luhn_ok(d):
            continue
        if d.isdigit() and raw == d and _CARD_CTX_NEG.search(text[max(0, m.start() - 20) : m.start()]):
            continue
        out.append(Span(m.start(1), m.end(1), "CREDIT_CARD"))
    return out


# ----------------------------------------------------------------------------------------------- SSNs
_SSN: Final = re.compile(r"(?<![\w.+/-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w/]|[.-]\d|[ -]\d{2,})")
_SSN_BARE: Final = re.compile(r"(?<![\w.+/-])(\d{3})(\d{2})(\d{4})(?![\w/]|[.-]\d)")
_SSN_CTX: Final = re.compile(
    r"\b(?:ssn|ssns|s\.s\.n\.?|social security(?: number| no\.?| #)?|social sec\.?|ss#|ss no\.?)\b",
    re.IGNORECASE,
)
_SSN_PARTIAL: Final = re.compile(r"(?:last|final)\s+(?:4|four)|ending\s+in", re.IGNORECASE)
_SSN_NEG_CTX: Final = re.compile(
    r"(?:order|tracking|invoice|sku|part|item|serial|ticket|case|routing|account|acct|isbn|zip|phone|tel|"
    r"fax|call|mobile|ein|itin)\b[^.\n]{0,12}$",
    re.IGNORECASE,
)
_SSN_EXAMPLES: Final = frozenset({"078051120", "123456789", "219099999", "457555462"})


def _ssn_valid(area: str, group: str, serial: str) -> bool:
    a = int(area)
    if a in {0, 666} or a >= 900 or group == "00" or serial == "0000":
        return False
    return (area + group + serial) not in _SSN_EXAMPLES


def find_ssns(text: str, lo: int = 0, hi: int | None = None) -> list[Span]:
    out: list[Span] = []
    hi = len(text) if hi is None else hi
    for m in _SSN.finditer(text, lo, hi):
        if not _ssn_valid(m.group(1), m.group(3), m.group(4)):
            continue
        pre = text[max(0, m.start() - 30) : m.start()]
        if _SSN_NEG_CTX.search(pre) and not _SSN_CTX.search(pre):
            continue
        # space-separated without SSN context: not when it continues a longer digit group ("+1 555 12 3456")
        spaced = m.group(2) == " " and not _SSN_CTX.search(text[max(0, m.start() - 60) : m.start()])
        if spaced and (re.search(r"\d[ -]?$", pre) or "+" in pre[-4:]):
            continue
        out.append(Span(m.start(), m.end(), "SSN"))
    low = text[max(0, lo - 80) : hi].lower()
    if ("ssn" in low or "social" in low or "ss#" in low or "s.s.n" in low or "ss no" in low) and _SSN_CTX.search(
        text, max(0, lo - 80), hi
    ):
        for m in _SSN_BARE.finditer(text, lo, hi):
            pre = text[max(0, m.start() - 60) : m.start()]
            if not _SSN_CTX.search(pre) or _SSN_PARTIAL.search(pre[-20:]):
                continue
            if _ssn_valid(m.group(1), m.group(2), m.group(3)):
                out.append(Span(m.start(), m.end(), "SSN"))
    return out


# --------------------------------------------------------------------------------------------- phones
_PHONE: Final = re.compile(
    r"(?<![\w+#/.,:-])((?:\+|00)\d{1,3}[ .-]?)?((?:\(\d{1,5}\)|\d{1,6})(?:(?:[ .-]{1,2}|(?<=\)))\(?\d{1,10}\)?){0,5}|"
    r"\d{8,15})"
    r"(?![\w@/]|[.,-]\d)"
)
_PHONE_CTX_WORDS: Final = (
    "phone", "tel ", "tel:", "tel.", "telephone", "call", "mobile", "mobil", "cell", "whatsapp", "whats app",
    "signal", "sms", "text me", "fax", "contact", "reach", "ring", "dial", "number", "hotline", "helpline",
    "landline", "numéro", "téléphone", "appeler", "telefon", "anrufen", "teléfono", "llamar", "telefone",
    "telefono", "chiamare", "電話", "电话", "номер", "телефон", "handy",
)  # fmt: skip
_PHONE_NEG_WORDS: Final = frozenset(
    [
        "sku",
        "part",
        "item",
        "order",
        "tracking",
        "invoice",
        "serial",
        "model",
        "product",
        "ref",
        "reference",
        "case",
        "ticket",
        "account",
        "acct",
        "isbn",
        "po",
        "id",
        "batch",
        "lot",
        "shipment",
        "parcel",
        "confirmation",
        "booking",
        "policy",
        "claim",
        "routing",
        "iban",
        "version",
        "build",
        "zip",
        "postcode",
        "patent",
        "record",
        "file",
        "catalog",
        "catalogue",
    ]
)
_NUMBER_WORDS: Final = frozenset({"no", "number", "num", "nr", "id", "#", "code"})


def _negative_context(low_pre: str) -> bool:
    """The word right before the number (skipping "no."/"number"/"#") names a non-phone identifier."""
    words = low_pre[-30:].replace("#", " # ").split()
    for _ in range(2):
        if not words:
            return False
        w = words.pop().strip(".:#=()[]")
        if w in _PHONE_NEG_WORDS:
            return True
        if w and w not in _NUMBER_WORDS:
            return False
    return False


_DOTTED_QUAD: Final = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")  # IPs and netmasks, never phones
_DATE_LIKE: Final = re.compile(r"^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4})$")
# national formats are tried against these regions (most phone users first); a number counts as a phone when
# it is valid in one of them and a phone word is near (see find_phones)
_NATIONAL_REGIONS: Final = (
    "GB", "DE", "FR", "IN", "AU", "IT", "ES", "NL", "BR", "JP", "MX", "SE", "PL", "CH", "AT", "BE", "IE", "PT",
    "DK", "NO", "FI", "NZ", "ZA", "NG", "KE", "EG", "SA", "AE", "IL", "TR", "RU", "UA", "CZ", "HU", "RO", "GR",
    "PK", "BD", "ID", "MY", "PH", "TH", "VN", "SG", "HK", "KR", "CN", "TW", "AR", "CO", "CL", "PE",
)  # fmt: skip


_NANP_SHAPE: Final = re.compile(r"(?:1[ .-]?)?(?:\(\d{3}\)\s?|\d{3}[ .-])\d{3}[ .-]\d{4}")


def _nanp_shaped(raw: str) -> bool:
    """US-style grouping: judged by the NANP rules alone (incl. the 555-01xx fiction range)."""
    return _NANP_SHAPE.fullmatch(raw) is not None


def _nanp_fiction(d: str) -> bool:
    d = d[1:] if len(d) == 11 and d[0] == "1" else d
    return len(d) == 10 and d[3:6] == "555" and 100 <= int(d[6:]) <= 199


def _nanp_ok(d: str) -> bool:
    if len(d) == 11 and d[0] == "1":
        d = d[1:]
    if len(d) != 10 or d[0] in "01" or d[3] in "01" or d[1:3] == "11":
        return False
    return not (d[3:6] == "555" and 100 <= int(d[6:]) <= 199)


@functools.lru_cache(maxsize=4096)  # conversations resend the same numbers every turn
def _intl_ok(digits: str, strong_ctx: bool) -> bool:
    try:
        num = phonenumbers.parse("+" + digits, None)
    except phonenumbers.NumberParseException:
        return False
    if num.country_code == 1:
        return _nanp_ok(digits)
    if phonenumbers.is_valid_number(num):
        return True
    return strong_ctx and phonenumbers.is_possible_number(num)


@functools.lru_cache(maxsize=4096)
def _national_ok(raw: str) -> bool:
    for region in _NATIONAL_REGIONS:
        try:
            num = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(num):
            return True
    return False


def _sentence_ctx(text: str, start: int) -> bool:
    """A phone word earlier in the same sentence ("our number is X; the French one is 01 42 ...")."""
    pre = text[max(0, start - 120) : start]
    cut = max(pre.rfind(". "), pre.rfind("\n"), pre.rfind("? "), pre.rfind("! "))
    low = pre[cut + 1 :].lower()
    return any(w in low for w in _PHONE_CTX_WORDS)


def find_phones(text: str, lo: int = 0, hi: int | None = None) -> list[Span]:
    out: list[Span] = []
    for m in _PHONE.finditer(text, lo, len(text) if hi is None else hi):
        prefix, body = m.group(1) or "", m.group(2)
        raw = prefix + body
        digits = "".join(c for c in raw if c.isdigit())
        if not 7 <= len(digits) <= 15 or _DATE_LIKE.match(raw) or _DOTTED_QUAD.match(raw):
            continue
        if raw.count("(") != raw.count(")"):
            continue
        pre = text[max(0, m.start() - 40) : m.start()].lower()
        if _negative_context(pre):
            continue
        ctx = any(w in pre for w in _PHONE_CTX_WORDS)
        has_sep = any(c in raw for c in " .-()")
        if prefix.startswith(("+", "00")):
            intl = digits if prefix.startswith("+") else digits[2:]
            if "(0)" in body:  # "+44 (0)20 ...", "+49 (0)30 ...": the national trunk 0 is not dialled from abroad
                intl = "".join(c for c in (prefix + body.replace("(0)", "", 1)) if c.isdigit())
                intl = intl if prefix.startswith("+") else intl[2:]
            if not _intl_ok(intl, ctx):
                continue
        elif _nanp_ok(digits) and (has_sep or ctx):
            if not has_sep and len(digits) == 10 and not ctx:
                continue
            if has_sep and not ctx and not _nanp_shaped(raw):
                continue  # "16.19.7541.285", "120.0.6099.109": version-like groupings, not 3-3-4
            if len({c for c in raw if not c.isdigit() and c not in "()"}) > 1 and "(" not in raw:
                continue  # mixed separators like 123.456-7890 are rarely phones
        elif (
            (ctx or _sentence_ctx(text, m.start()))
            and has_sep
            and not (_nanp_shaped(raw) and _nanp_fiction(digits))
            and _national_ok(raw)
        ):
            pass
        else:
            continue
        out.append(Span(m.start(), m.end(), "PHONE"))
    return out
