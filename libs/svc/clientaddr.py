"""The client's address, as the HTTP services (edge and management API) see it.

The socket peer is the client, unless the peer is an **explicitly configured** trusted proxy;
only then is the forwarding header read, right to left, skipping further trusted proxies, and
the first address that is not one of them is the client. Nothing else may change the address:
the ASGI server's own proxy-header handling is switched off (uvicorn trusts 127.0.0.1 by
default, so anything on the host could otherwise claim any address), and an entry that is not
an IP address stops the walk at the last proxy that vouched for it.

Every line of the header counts, in order (``X-Forwarded-For: a`` then ``X-Forwarded-For: b``
is ``a, b``). ``Forwarded`` (RFC 7239) is understood when it is the configured header.
Addresses are normalised (ports dropped, IPv4-mapped IPv6 shown as IPv4), so a key's IPv4
allow-list matches a client reached over a dual-stack socket.

The middleware puts the result in ``scope["client"]``, so the key allow-list, the per-IP rate
limit and the audit trail all read the same, single answer; the raw peer stays in
``scope["state"]["peer"]``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the vault imports this module (via egress) without Litestar
    from litestar.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def networks(cidrs: Iterable[str], setting: str = "trusted_proxies") -> tuple[Network, ...]:
    """Parse a CIDR list setting; a bad entry is a configuration error (raised at start, naming
    ``setting``)."""
    parsed = []
    for cidr in cidrs:
        try:
            parsed.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"{setting}: {cidr!r} is not an IP network") from exc
    return tuple(parsed)


def parse_address(value: str) -> Address | None:
    """An address from a header entry or socket peer (``1.2.3.4``, ``1.2.3.4:80``, ``[::1]:80``,
    ``::1``, quoted); ``None`` for anything else (``unknown``, obfuscated names, garbage)."""
    value = value.strip().strip('"').strip()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        value = value[1:end]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def forwarded_chain(headers: Iterable[tuple[bytes, bytes]], header: bytes) -> list[str]:
    """Every hop the forwarding header lists, left (client side) to right, over all its lines."""
    chain: list[str] = []
    rfc7239 = header == b"forwarded"
    for name, value in headers:
        if name.lower() != header:
            continue
        for element in value.decode("latin-1").split(","):
            if not rfc7239:
                chain.append(element)
                continue
            hop = ""  # an element without for= still is a hop we cannot read
            for pair in element.split(";"):
                key, _, val = pair.partition("=")
                if key.strip().lower() == "for":
                    hop = val
            chain.append(hop)
    return chain


def resolve(peer: str, chain: Sequence[str], trusted: tuple[Network, ...]) -> str:
    """The client address: ``peer`` unless it is trusted, then right to left through ``chain``."""
    current = parse_address(peer)
    if current is None:
        return peer
    for hop in reversed(chain):
        if not any(current in net for net in trusted):
            break
        nxt = parse_address(hop)
        if nxt is None:
            break  # a trusted proxy passed on something that is not an address: stop at the proxy
        current = nxt
    return str(current)


def client_address_middleware(app: ASGIApp, trusted_proxies: Iterable[str], header: str) -> ASGIApp:
    """Set ``scope["client"]`` to the resolved client address (see the module docstring)."""
    trusted = networks(trusted_proxies)
    name = header.strip().lower().encode("latin-1")

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            if client:
                peer, port = client
                scope.setdefault("state", {})["peer"] = peer
                chain = forwarded_chain(scope["headers"], name) if trusted else []
                address = resolve(peer, chain, trusted)
                scope["client"] = (address, port if address == peer else 0)
        await app(scope, receive, send)

    return middleware
