"""The httpx client held to the egress policy (:mod:`libs.svc.egress`): the vault's provider
tests. Its own module so that processes that do not use httpx (the edge, the management API)
do not import it (issue 11: ~4 MB per process)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import typing

import httpcore
import httpx

from libs.svc import egress
from libs.svc.egress import Address, EgressPolicy, EgressRefused, allowed_addresses


class HttpxEgressRefused(EgressRefused, httpcore.ConnectError):
    """:class:`~libs.svc.egress.EgressRefused` as httpx needs it: a connect error, mapped to
    ``httpx.ConnectError`` with this as its cause (so :func:`libs.svc.egress.refusal` finds it)."""


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves, checks and connects to the checked address; anything refused raises
    :class:`EgressRefused` before a packet is sent."""

    def __init__(self, policy: EgressPolicy, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._policy = policy
        self._inner = inner or httpcore.AnyIOBackend()

    async def resolve(self, host: str, port: int) -> list[Address]:
        """The addresses ``host`` resolves to (a literal resolves to itself)."""
        literal = egress._literal(host)
        if literal is not None:
            return [literal]
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return [ipaddress.ip_address(info[4][0]) for info in infos]

    async def allowed(self, host: str, port: int) -> list[Address]:
        """The resolved addresses the policy allows; :class:`EgressRefused` if there are none."""
        try:
            addresses = await self.resolve(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve the provider's host ({exc.strerror or exc})") from None
        try:
            return allowed_addresses(self._policy, addresses, plaintext=egress._plaintext.get())
        except EgressRefused as exc:
            raise HttpxEgressRefused(str(exc)) from None

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to the first allowed address ``host`` resolves to."""
        last: Exception | None = None
        for address in await self.allowed(host, port):
            try:
                return await self._inner.connect_tcp(str(address), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """Never: a provider is reached over TCP only."""
        raise HttpxEgressRefused("egress refused: unix sockets")

    async def sleep(self, seconds: float) -> None:
        """Delegate."""
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with :class:`GuardedBackend` making every connection."""

    def __init__(self, policy: EgressPolicy, limits: httpx.Limits, verify: ssl.SSLContext | bool = True) -> None:
        super().__init__(limits=limits, trust_env=False, verify=verify)
        ssl_context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Mark plain-http requests, so the backend holds them to the operator's allow-list."""
        token = egress._plaintext.set(request.url.scheme == "http")
        try:
            return await super().handle_async_request(request)
        finally:
            egress._plaintext.reset(token)


def guarded_client(policy: EgressPolicy, limits: httpx.Limits, **kwargs: typing.Any) -> httpx.AsyncClient:
    """An httpx client for tenant-chosen destinations: policy-checked connections, no redirects,
    no proxies from the environment."""
    return httpx.AsyncClient(
        transport=GuardedTransport(policy, limits), follow_redirects=False, trust_env=False, **kwargs
    )
