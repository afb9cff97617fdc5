"""Where the gateway may connect to on a tenant's behalf (provider calls and provider tests).

A tenant admin chooses a provider's base URL, so every outbound connection is a potential
server-side request forgery. Three layers:

1. :func:`check_base_url` — strict parsing when a URL is stored: ``https`` (plain ``http`` only
   when the operator allowed local destinations), a host and nothing else: no user info, query,
   fragment, backslash, whitespace or control characters (a trailing ``?`` would otherwise
   swallow the path the adapter appends), and an IP-literal host must be allowed (below).
2. :class:`EgressPolicy` — an address is allowed when it is globally routable, or when the
   operator's allow-list (``BASTION_UPSTREAM_ALLOW``, CIDRs; the local stack names its own
   mock) contains it. Loopback, private, link-local (cloud metadata), shared, reserved,
   multicast and unspecified addresses are refused, also when hidden in IPv4-mapped, 6to4,
   NAT64 or Teredo IPv6 forms.
3. The clients: the host is resolved at connect time, every address checked, and the
   connection made **to the checked address** (TLS still verifies the hostname), so DNS
   rebinding between check and connect cannot win. Redirects are never followed and proxy
   variables from the environment are ignored (a proxy would hide the destination). httpx:
   :func:`libs.svc.egress_httpx.guarded_client` (the vault's provider tests); aiohttp:
   :mod:`libs.svc.egress_http` (the edge's upstream calls). This module imports neither, so
   each process loads only the client it uses.
"""

from __future__ import annotations

import contextvars
import ipaddress
import socket
import urllib.parse
from collections.abc import Iterable

from libs.svc.clientaddr import networks

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
# deprecated forms Python's ``is_global`` calls global: IPv4-compatible (::a.b.c.d, tunnelled to
# IPv4 by some hosts), IPv4-translated (::ffff:0:a.b.c.d, SIIT) and site-local (fec0::/10)
_DEPRECATED = tuple(ipaddress.ip_network(n) for n in ("::/96", "::ffff:0:0:0/96", "fec0::/10"))
_HOST_LABEL = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
_PATH_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/%:@!$&'()*+,;=")
_plaintext: contextvars.ContextVar[bool] = contextvars.ContextVar("bastion_egress_plaintext", default=False)


class EgressRefused(OSError):
    """A connection the policy does not allow (never made). An ``OSError``, so aiohttp's
    connector reports it as a connection error (:mod:`libs.svc.egress_http`); the httpx client
    raises a subclass that httpx sees as a connect error (:mod:`libs.svc.egress_httpx`)."""


class BadBaseUrl(ValueError):
    """A base URL that cannot be stored; the message says why (safe to show the admin)."""


class EgressPolicy:
    """Globally routable destinations, plus the operator's allow-list."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.allow: tuple[Network, ...] = networks(allow, "upstream_allow")

    def allowed_by_operator(self, address: Address) -> bool:
        """Whether the operator's allow-list names ``address``."""
        return any(address in net for net in self.allow)

    def why_refused(self, address: Address) -> str | None:
        """``None`` when a connection to ``address`` is allowed, else the reason."""
        if self.allowed_by_operator(address):
            return None
        for candidate in _unwrapped(address):
            if candidate.is_multicast or not candidate.is_global or any(candidate in n for n in _DEPRECATED):
                return f"{candidate} is not a public address (loopback, private, link-local or reserved)"
        return None

    def check_plaintext(self, address: Address) -> str | None:
        """``None`` when plain http to ``address`` is allowed (operator-allowed destinations only)."""
        if self.allowed_by_operator(address):
            return None
        return "plain http is only allowed to destinations the operator allows; use https"


def _unwrapped(address: Address) -> list[Address]:
    """``address`` and any IPv4 address embedded in it (mapped, 6to4, NAT64, Teredo)."""
    found: list[Address] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            found.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            found.append(address.sixtofour)
        if address.teredo is not None:
            found.extend(address.teredo)
        if address in _NAT64 or address in _NAT64_LOCAL:
            found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def check_base_url(url: str, policy: EgressPolicy) -> str:
    """The normalised base URL (no trailing ``/``), or :class:`BadBaseUrl` saying why."""
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F or c == "\\" for c in url):
        raise BadBaseUrl("base_url must not contain whitespace, control characters or backslashes")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BadBaseUrl(f"base_url is not a valid URL ({exc})") from None
    if parts.scheme not in ("https", "http"):
        raise BadBaseUrl("base_url must start with https://")
    if "?" in url or "#" in url:
        raise BadBaseUrl("base_url must not have a query (?) or fragment (#); the adapter appends the path")
    if "@" in parts.netloc:
        raise BadBaseUrl("base_url must not carry user info (user:password@)")
    host = parts.hostname or ""
    if not host:
        raise BadBaseUrl("base_url has no host")
    if port == 0:
        raise BadBaseUrl("base_url has no valid port")
    if not set(parts.path) <= _PATH_OK:
        raise BadBaseUrl("base_url has characters that are not allowed in a path")
    literal = _literal(host)
    if literal is not None:
        reason = policy.why_refused(literal)
        if reason:
            raise BadBaseUrl(f"base_url is refused: {reason}")
        if parts.scheme == "http" and policy.check_plaintext(literal):
            raise BadBaseUrl("base_url must use https (plain http only to destinations the operator allows)")
    else:
        if not _hostname(host):
            raise BadBaseUrl("base_url host is not a valid host name")
        local = host == "localhost" or host.endswith((".localhost", ".local", ".internal"))
        if local and not policy.allow:
            raise BadBaseUrl(f"base_url is refused: {host} is a local name")
        if parts.scheme == "http" and not policy.allow:
            raise BadBaseUrl("base_url must use https (plain http only to destinations the operator allows)")
    return url.rstrip("/")


def _literal(host: str) -> Address | None:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return _legacy_ipv4(host)
    return address


def _legacy_ipv4(host: str) -> Address | None:
    """``2130706433``, ``0x7f.1``, ``0177.0.0.1``: forms ``inet_aton`` accepts and some resolvers
    treat as addresses; they are addresses here too (so the policy applies), never host names."""
    if not host or not all(c in "0123456789abcdefx." for c in host) or not host[0].isdigit():
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _hostname(host: str) -> bool:
    labels = host.rstrip(".").split(".")
    return len(host) <= 253 and all(
        0 < len(label) <= 63 and set(label) <= _HOST_LABEL and not label.startswith("-") and not label.endswith("-")
        for label in labels
    )


def allowed_addresses(policy: EgressPolicy, addresses: Iterable[Address], *, plaintext: bool) -> list[Address]:
    """Those of ``addresses`` the policy allows (IPv4-mapped ones as IPv4; for plain http only
    operator-allowed ones); :class:`EgressRefused` if there are none."""
    reasons: list[str] = []
    good: list[Address] = []
    for resolved in addresses:
        unmapped = resolved.ipv4_mapped if isinstance(resolved, ipaddress.IPv6Address) else None
        address = unmapped or resolved
        reason = policy.why_refused(address)
        if reason is None and plaintext:
            reason = policy.check_plaintext(address)
        if reason:
            reasons.append(reason)
        else:
            good.append(address)
    if not good:
        raise EgressRefused(f"egress refused: {reasons[0] if reasons else 'no address'}")
    return good


def refusal(exc: BaseException) -> str | None:
    """The policy's reason when ``exc`` (a client's error) came from a refused connection."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, EgressRefused):
            return str(seen)
        seen = seen.__cause__ or seen.__context__
    return None
