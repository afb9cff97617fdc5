"""Adversarial review of the egress policy (issue 10, item 7): address forms an attacker can
write in a base URL that the policy must refuse. Nothing here connects anywhere."""

from __future__ import annotations

import ipaddress

import pytest

from libs.svc.egress import BadBaseUrl, EgressPolicy, check_base_url

STRICT = EgressPolicy()

# Python 3.11's ``is_global`` calls all of these global:
#  - ``::a.b.c.d``  IPv4-compatible (deprecated, RFC 4291 2.5.5.1): routed to IPv4 by hosts with
#    automatic tunnelling (sit) — ``::127.0.0.1`` is loopback there;
#  - ``::ffff:0:a.b.c.d``  IPv4-translated (SIIT, RFC 2765): a translator forwards it to a.b.c.d;
#  - ``fec0::/10``  site-local (deprecated, RFC 3879), still the inside of some networks.
HIDDEN = ["::127.0.0.1", "::7f00:1", "::169.254.169.254", "::10.0.0.1",
          "::ffff:0:127.0.0.1", "::ffff:0:a9fe:a9fe", "fec0::1", "feff::1"]  # fmt: skip


@pytest.mark.parametrize("address", HIDDEN)
def test_deprecated_ipv6_forms_of_internal_addresses_are_refused(address: str) -> None:
    assert STRICT.why_refused(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", HIDDEN)
def test_a_base_url_naming_them_is_refused_when_stored(address: str) -> None:
    with pytest.raises(BadBaseUrl):
        check_base_url(f"https://[{address}]/v1", STRICT)


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2606:4700:4700::1111"])
def test_public_destinations_over_nat64_and_native_ipv6_stay_allowed(address: str) -> None:
    assert STRICT.why_refused(ipaddress.ip_address(address)) is None
