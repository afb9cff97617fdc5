"""Synthetic PII probes: phones across countries and formats, IPs in address context, and PII-free texts
full of version strings and product codes.

Generated from templates and a seed (``phonenumbers`` example numbers, random version tuples), written
alongside the detectors: these are development probes that show a change's effect per format, not a
held-out score. Records use the dev set's format (``id``, ``text``, ``spans``, ``negatives``).
"""

from __future__ import annotations

import random
from typing import Any

import phonenumbers as pn

__all__ = ["make_probes"]

REGIONS = (
    "GB", "DE", "FR", "IN", "AU", "IT", "ES", "NL", "BR", "JP", "MX", "SE", "PL", "CH", "AT", "BE", "IE", "ZA",
    "NG", "KE", "SG", "HK", "KR", "CN", "RU", "TR", "AR", "CO", "CL", "PT", "DK", "NO", "FI", "NZ", "PH", "ID",
    "VN", "TH", "EG", "SA", "AE", "IL", "UA", "CZ", "HU", "RO", "GR", "PK", "BD", "MY",
)  # fmt: skip
_PHONE_CTX = ("Call me on {} after six.", "Tel: {}", "My mobile is {}, text anytime.", "Reach the office at {} please.")
_IP_CTX = (
    "Connection from {} was refused.",
    "The server at {} is down again.",
    "ping {} times out",
    "Please whitelist {} on the firewall.",
    "host={} port=5432",
)
_VERSION_CTX = (
    "Upgrade the agent to version {}.",
    "We are running v{} in staging.",
    "build {} fails on arm64",
    "Chrome {} crashed on startup.",
    "Python {} is required.",
    "Firmware {} was released yesterday.",
    "Windows {} update broke printing.",
    "Installed package foo {} from the mirror.",
    "SKU {} is out of stock.",
    "Model {} ships next week.",
)
_CODE_CTX = (
    "Product code {} is discontinued.",
    "Part number {} fits the older chassis.",
    "SKU {} is back in stock.",
    "Item {} was added to your cart.",
    "Order {} has shipped.",
    "Tracking {} shows it at the depot.",
)


def _span(tmpl: str, value: str, kind: str) -> tuple[str, dict[str, Any]]:
    text = tmpl.format(value)
    start = text.index(value)
    return text, {"start": start, "end": start + len(value), "type": kind}


def _phones(rng: random.Random) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for region in REGIONS:
        for kind in (pn.PhoneNumberType.MOBILE, pn.PhoneNumberType.FIXED_LINE):
            ex = pn.example_number_for_type(region, kind)
            if ex is None:
                continue
            for fmt in (pn.PhoneNumberFormat.INTERNATIONAL, pn.PhoneNumberFormat.E164, pn.PhoneNumberFormat.NATIONAL):
                value = pn.format_number(ex, fmt)
                text, span = _span(rng.choice(_PHONE_CTX), value, "PHONE")
                out.append({"id": f"phone-{region}-{kind}-{fmt}", "text": text, "spans": [span], "negatives": []})
    for i, value in enumerate(("+44 20 7946 0321", "+1 415 867 2234", "(415) 867-2234", "+49 30 901820")):
        for j, ext in enumerate((" ext. 204", " x204", " ext 7", ", extension 31")):
            text, span = _span("Call {} during office hours.", value + ext, "PHONE")
            span["end"] = span["start"] + len(value)
            out.append({"id": f"phone-ext-{i}-{j}", "text": text, "spans": [span], "negatives": []})
    return out


def _ips(rng: random.Random) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(40):
        first = rng.choice((10, 172, 192, rng.randint(11, 223)))
        value = {
            10: f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            172: f"172.{rng.randint(16, 31)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            192: f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        }.get(first, f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}")
        text, span = _span(rng.choice(_IP_CTX), value, "IP_ADDRESS")
        out.append({"id": f"ip-{i}", "text": text, "spans": [span], "negatives": []})
    return out


def _negatives(rng: random.Random) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(60):
        third = rng.randint(0, 255) if i % 2 else rng.randint(0, 9999)  # half of them also parse as IPv4
        parts = [rng.randint(1, 30), rng.randint(0, 20), third, rng.randint(0, 255)]
        value = ".".join(map(str, parts))
        text, span = _span(rng.choice(_VERSION_CTX), value, "x")
        out.append({"id": f"ver-{i}", "text": text, "spans": [], "negatives": [{**span, "kind": "version_string"}]})
    for i in range(60):
        shape = rng.choice(("NNN-NNN-NNNN", "NNNN NNNN NNNN", "00NN NNNN NNNNNN", "NNNNNNNNNN", "NNN.NNN.NNNN"))
        value = "".join(str(rng.randint(0, 9)) if c == "N" else c for c in shape)
        text, span = _span(rng.choice(_CODE_CTX), value, "x")
        out.append({"id": f"code-{i}", "text": text, "spans": [], "negatives": [{**span, "kind": "product_code"}]})
    return out


def make_probes(seed: int = 15) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(seed)
    return {"phones": _phones(rng), "ips": _ips(rng), "pii_free": _negatives(rng)}
