"""PII detectors: expected spans (by substring) and hard negatives, written to the annotation guidelines."""

from __future__ import annotations

import pytest

from services.guardrails.detectors.engine import detect
from services.guardrails.detectors.pii_numeric import luhn_ok

CASES: list[tuple[str, list[tuple[str, str]]]] = [
    # e-mail: plain, obfuscated (hard tier), placeholders
    ("Email me at maria.gonzalez+news@fastmail.fm, thanks!", [("maria.gonzalez+news@fastmail.fm", "EMAIL")]),
    ("<a href='mailto:j.doe@acme-corp.co.uk'>mail</a>", [("j.doe@acme-corp.co.uk", "EMAIL")]),
    ("contact: rahul dot mehta at gmail dot com", [("rahul dot mehta at gmail dot com", "EMAIL")]),
    ("write to lena[at]posteo[dot]de for access", [("lena[at]posteo[dot]de", "EMAIL")]),
    ("ping ops (at) brightwave (dot) io asap", [("ops (at) brightwave (dot) io", "EMAIL")]),
    ("encoded: alice%40wonder.org in the query string", [("alice%40wonder.org", "EMAIL")]),
    ("send to bob＠kagi.jp please", [("bob＠kagi.jp", "EMAIL")]),
    ("test@example.com and admin@foo.test and x@y.invalid are docs", []),
    ("meet me at home.com tomorrow", []),
    # phones
    ("Call (212) 555-0143 for the fictional line", []),
    ("Call me: 212-836-4471 or +49 30 901820 (office)", [("212-836-4471", "PHONE"), ("+49 30 901820", "PHONE")]),
    ("Order #212-836-4471 has shipped", []),
    ("Order no. 415-867-2234 shipped", []),
    ("SKU 415-867-2234-B is out of stock", []),
    ("WhatsApp +91 98201 55443 ext. 12", [("+91 98201 55443", "PHONE")]),
    ("Tel. +33 6 12 34 56 78", [("+33 6 12 34 56 78", "PHONE")]),
    ("my cell: 07481 163868", [("07481 163868", "PHONE")]),
    ("Released on 2024-05-17 at 10:30", []),
    # SSN
    ("SSN: 123-45-6789 is the famous example", []),
    ("ssn 401-82-7710 on file", [("401-82-7710", "SSN")]),
    ("social security number 401827710", [("401827710", "SSN")]),
    ("last 4 of SSN: 7710", []),
    ("ITIN 912-70-1234 is not an SSN", []),
    ("bad area 666-12-3456 and group 401-00-7710", []),
    # cards
    ("card 5500 0000 0000 0004 (test)", []),
    ("Mastercard 2223 0031 2200 3222 is a test card", []),
    ("Pay with 4024 0071 4566 3711 today", [("4024 0071 4566 3711", "CREDIT_CARD")]),
    ("Amex 3782 822463 10005", []),
    ("tracking 1Z999AA10123456784", []),
    # IPs
    (
        "Server at 10.0.12.7:8080 and [2001:470:1f0b:1a::2]:443",
        [("10.0.12.7", "IP_ADDRESS"), ("2001:470:1f0b:1a::2", "IP_ADDRESS")],
    ),
    ("upgrade to version 10.2.3.4 tonight", []),
    ("OID 1.3.6.1.4.1.311 is Microsoft", []),
    ("MAC 00:1a:2b:3c:4d:5e on eth0", []),
    ("use std::vector and a::b in C++", []),
    ("subnet 172.16.0.0/12 includes 172.16.4.20", [("172.16.0.0", "IP_ADDRESS"), ("172.16.4.20", "IP_ADDRESS")]),
    ("localhost is 127.0.0.1 and ::1, docs use 198.51.100.7 and 2001:db8::5", []),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_pii_cases(text: str, expected: list[tuple[str, str]]) -> None:
    got = sorted((text[s.start : s.end], s.type) for s in detect(text, secrets=False))
    assert got == sorted(expected)


def test_luhn() -> None:
    assert luhn_ok("4539148803436467")
    assert not luhn_ok("4539148803436468")


def _complete(prefix: str, length: int = 16) -> str:
    body = prefix + ("3948271605" * 2)[: length - 1 - len(prefix)]
    return next(body + str(d) for d in range(10) if luhn_ok(body + str(d)))


@pytest.mark.parametrize(
    ("prefix", "length"),
    [
        ("2221", 16),
        ("2720", 16),
        ("51", 16),
        ("55", 16),
        ("4", 13),
        ("4", 19),
        ("34", 15),
        ("6011", 16),
        ("65", 19),
        ("3528", 16),
    ],
)
def test_brand_prefixes(prefix: str, length: int) -> None:
    digits = _complete(prefix, length)
    spans = detect(f"card {digits} ok", secrets=False)
    assert [s.type for s in spans] == ["CREDIT_CARD"]


@pytest.mark.parametrize(
    ("prefix", "length"), [("2720", 15), ("2721", 16), ("2220", 16), ("56", 16), ("1", 16), ("4", 17)]
)
def test_bad_brand_or_length(prefix: str, length: int) -> None:
    digits = _complete(prefix, length)
    assert detect(f"card {digits} ok", secrets=False) == [] or detect(f"card {digits} ok")[0].type != "CREDIT_CARD"


def test_luhn_failure_is_not_a_card() -> None:
    digits = _complete("4539", 16)
    bad = digits[:-1] + str((int(digits[-1]) + 1) % 10)
    assert detect(f"card {bad} ok", secrets=False) == []


def test_offsets_are_code_points() -> None:
    text = "héllo 🌳 reach me: ana.ruiz@correo.es"
    (span,) = detect(text)
    assert text[span.start : span.end] == "ana.ruiz@correo.es"
