"""PII precision and reach: phones in international and national formats of many countries (validated by
libphonenumber), IPs told apart from version strings and product codes by their context."""

from __future__ import annotations

import pytest

from services.guardrails.detectors.engine import detect


def _found(text: str) -> list[tuple[str, str]]:
    return sorted((text[s.start : s.end], s.type) for s in detect(text, secrets=False))


@pytest.mark.parametrize(
    "value",
    [
        "+49 1523 7654321",  # a 7-digit subscriber group
        "+31 6 23456789",  # an 8-digit group
        "+43 1 5123456",
        "+358 40 7654321",
        "+57 310 7654321",
        "+92 300 7654321",
        "+20 10 07654321",
    ],
)
def test_international_numbers_with_long_groups(value: str) -> None:
    assert _found(f"Ring me on {value} tonight.") == [(value, "PHONE")]


@pytest.mark.parametrize(
    "value",
    ["020 7946 0321", "0171 2345678", "06 23456789", "0412 345 678", "021 654 3210", "050 765 4321", "(021) 5550123"],
)
def test_national_formats_with_a_phone_word(value: str) -> None:
    assert _found(f"My phone number is {value}, any time.") == [(value, "PHONE")]


def test_national_format_without_phone_context_is_not_a_phone() -> None:
    assert _found("The batch totals were 0171 2345678 and 06 23456789.") == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Call +1 415 867 2234 ext. 204 after lunch", "+1 415 867 2234"),
        ("Office: +44 161 496 0738 x15", "+44 161 496 0738"),
        ("phone (415) 867-2234, extension 31", "(415) 867-2234"),
    ],
)
def test_extension_is_not_part_of_the_span(text: str, value: str) -> None:
    assert _found(text) == [(value, "PHONE")]


@pytest.mark.parametrize(
    "text",
    [
        "Chrome 120.0.6099.109 crashed on startup",
        "Product code 0044 2079 460123 is discontinued",
        "the kernel is 16.19.7541.285 on that box",
        "catalog no. 536.843.4580 was withdrawn",
    ],
)
def test_version_strings_and_product_codes_are_not_phones(text: str) -> None:
    assert [t for t in _found(text) if t[1] == "PHONE"] == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("host=10.20.30.40 port=5432", "10.20.30.40"),
        ("connection from 10.0.0.1 refused", "10.0.0.1"),
        ("the server at 192.168.1.20 is down", "192.168.1.20"),
        ("Printer 192.168.1.50 is offline", "192.168.1.50"),
        ("IPs: 10.1.1.1, 3.11.4.2", "3.11.4.2"),
    ],
)
def test_addresses_in_address_context(text: str, value: str) -> None:
    assert (value, "IP_ADDRESS") in _found(text)


@pytest.mark.parametrize(
    "text",
    [
        "Python 3.11.4.2 is required",
        "SKU 10.20.30.40 is back in stock",
        "running v10.0.0.1 in staging",
        "build 2.3.4.5 fails on arm64",
        "upgrade to version 1.2.3.4",
        "Firmware 4.12.0.7 was released",
        "Windows 10.0.190.45 update broke printing",
        "part no. 12.34.56.78 fits the old chassis",
        "the 8.2.0.1 release notes mention it",
        "pin foo>=1.2.0.2 in requirements",
        "installed plugin acme-sync 5.2.40.1 last week",
    ],
)
def test_version_strings_and_product_codes_are_not_ips(text: str) -> None:
    assert [t for t in _found(text) if t[1] == "IP_ADDRESS"] == []
