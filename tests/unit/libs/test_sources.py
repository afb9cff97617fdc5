"""Flood-limit sources: an IPv4 address, an IPv6 /64."""

from __future__ import annotations

import pytest

from libs.svc.sources import UNKNOWN, source_of


@pytest.mark.parametrize(
    ("address", "source"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::ffff", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.4", "198.51.100.4"),
        ("", UNKNOWN),
        ("not-an-ip", UNKNOWN),
    ],
)
def test_source_of(address: str, source: str) -> None:
    assert source_of(address) == source
