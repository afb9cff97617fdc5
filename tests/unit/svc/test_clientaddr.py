"""Client address: only configured trusted proxies may name the client; every header line counts."""

from __future__ import annotations

from typing import Any

import pytest

from libs.svc.clientaddr import client_address_middleware, forwarded_chain, networks, parse_address, resolve

PROXIES = networks(["10.0.0.0/8", "fd00::/8"])
XFF = b"x-forwarded-for"


def chain(*lines: str, header: bytes = XFF) -> list[str]:
    return forwarded_chain([(header, line.encode()) for line in lines], header)


def test_without_trusted_proxies_the_peer_is_the_client_whatever_the_headers() -> None:
    assert resolve("127.0.0.1", chain("203.0.113.7"), ()) == "127.0.0.1"
    assert resolve("198.51.100.1", chain("203.0.113.7"), PROXIES) == "198.51.100.1"  # peer is not a proxy


def test_right_most_untrusted_hop_is_the_client() -> None:
    assert resolve("10.0.0.7", chain("203.0.113.9"), PROXIES) == "203.0.113.9"
    # a client that prepends its own "X-Forwarded-For: 1.2.3.4" gains nothing
    assert resolve("10.0.0.7", chain("1.2.3.4, 203.0.113.9"), PROXIES) == "203.0.113.9"
    # proxies in a row are skipped, however many
    assert resolve("10.0.0.7", chain("203.0.113.9, 10.1.1.1, 10.2.2.2"), PROXIES) == "203.0.113.9"
    # everything trusted: the left-most trusted hop
    assert resolve("10.0.0.7", chain("10.1.1.1"), PROXIES) == "10.1.1.1"


def test_every_header_line_counts_in_order() -> None:
    # the second line is what the trusted proxy appended; the first is the client's forgery
    assert resolve("10.0.0.7", chain("1.2.3.4", "203.0.113.9"), PROXIES) == "203.0.113.9"
    assert chain("a, b", "c") == ["a", " b", "c"]


@pytest.mark.parametrize("junk", ["unknown", "_hidden", "", "203.0.113.9.1", "999.1.1.1", "[::1", "\x00"])
def test_a_hop_that_is_not_an_address_stops_at_the_proxy(junk: str) -> None:
    assert resolve("10.0.0.7", chain(f"203.0.113.9, {junk}"), PROXIES) == "10.0.0.7"


def test_addresses_are_normalised() -> None:
    assert str(parse_address("203.0.113.9:4431")) == "203.0.113.9"
    assert str(parse_address("[2001:db8::1]:443")) == "2001:db8::1"
    assert str(parse_address('"[2001:DB8:0::1]"')) == "2001:db8::1"
    assert str(parse_address("::ffff:203.0.113.9")) == "203.0.113.9"
    assert resolve("::ffff:10.0.0.7", chain("2001:db8::5"), PROXIES) == "2001:db8::5"
    assert resolve("fd00::1", chain("203.0.113.9"), PROXIES) == "203.0.113.9"


def test_rfc7239_forwarded() -> None:
    hops = chain('for=1.2.3.4, for="[2001:db8::7]:80";proto=https', "by=10.0.0.1;for=203.0.113.9", header=b"forwarded")
    assert resolve("10.0.0.7", hops, PROXIES) == "203.0.113.9"
    assert resolve("10.0.0.7", chain("proto=https", header=b"forwarded"), PROXIES) == "10.0.0.7"


def test_bad_trusted_proxy_configuration_fails_at_start() -> None:
    with pytest.raises(ValueError, match="trusted_proxies"):
        networks(["10.0.0.0/8", "not-a-network"])


async def run(app: Any, client: tuple[str, int] | None, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)

    async def noop(*_: Any) -> Any:
        return None

    await client_address_middleware(inner, *app)({"type": "http", "client": client, "headers": headers}, noop, noop)
    return seen


async def test_middleware_rewrites_scope_client_once_for_everyone() -> None:
    forged = [(b"x-forwarded-for", b"203.0.113.7"), (b"x-real-ip", b"203.0.113.7")]
    plain = await run(([], "x-forwarded-for"), ("127.0.0.1", 5555), forged)
    assert plain["client"] == ("127.0.0.1", 5555)
    assert plain["state"]["peer"] == "127.0.0.1"
    behind = await run((["127.0.0.1/32"], "X-Forwarded-For"), ("127.0.0.1", 5555), forged)
    assert behind["client"] == ("203.0.113.7", 0)
    assert behind["state"]["peer"] == "127.0.0.1"
    real_ip = await run((["127.0.0.1/32"], "x-real-ip"), ("127.0.0.1", 5555), [(b"x-real-ip", b"203.0.113.8")])
    assert real_ip["client"] == ("203.0.113.8", 0)
    assert (await run(([], "x-forwarded-for"), None, forged))["client"] is None
