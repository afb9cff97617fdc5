"""Who is "one source" for flood limits and failed-auth aggregation.

An IPv4 address is one source; an IPv6 address counts as its /64, since a single subscriber is
routinely given a whole /64 and could otherwise mint a fresh address per request. An
IPv4-mapped IPv6 address is its IPv4 address. Anything unparsable (no peer, a Unix socket) is
the one source ``"unknown"``.
"""

from __future__ import annotations

import ipaddress

UNKNOWN = "unknown"


def source_of(address: str) -> str:
    """The flood-limit source of a client address."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return UNKNOWN
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
