"""Egress policy: strict base URLs, non-public destinations refused on the resolved address at
connect time, redirects never followed. Nothing here connects outside 127.0.0.0/8."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

import httpcore
import httpx
import pytest

from libs.svc import egress, egress_httpx
from libs.svc.egress import BadBaseUrl, EgressPolicy, check_base_url
from libs.svc.egress_httpx import GuardedBackend, guarded_client

STRICT = EgressPolicy()
LOCAL = EgressPolicy(["127.0.0.1/32"])


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
     "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fd00::1", "::ffff:10.0.0.1",
     "64:ff9b::a9fe:a9fe", "2002:7f00:1::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "198.18.0.1"],
)  # fmt: skip
def test_non_public_addresses_are_refused(address: str) -> None:
    assert STRICT.why_refused(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "151.101.1.1"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert STRICT.why_refused(ipaddress.ip_address(address)) is None


def test_the_operator_allow_list_opens_only_what_it_names() -> None:
    assert LOCAL.why_refused(ipaddress.ip_address("127.0.0.1")) is None
    assert LOCAL.why_refused(ipaddress.ip_address("127.0.0.2")) is not None
    assert LOCAL.check_plaintext(ipaddress.ip_address("127.0.0.1")) is None
    assert LOCAL.check_plaintext(ipaddress.ip_address("8.8.8.8")) is not None
    with pytest.raises(ValueError, match="upstream_allow"):
        EgressPolicy(["nope"])


@pytest.mark.parametrize(
    ("url", "expected"),
    [("https://api.openai.com/v1", "https://api.openai.com/v1"),
     ("https://api.openai.com/v1/", "https://api.openai.com/v1"),
     ("https://generativelanguage.googleapis.com/v1beta", "https://generativelanguage.googleapis.com/v1beta"),
     ("https://8.8.8.8:8443/openai/v1", "https://8.8.8.8:8443/openai/v1"),
     ("https://EXAMPLE.com/v1", "https://EXAMPLE.com/v1")],
)  # fmt: skip
def test_good_base_urls(url: str, expected: str) -> None:
    assert check_base_url(url, STRICT) == expected


@pytest.mark.parametrize(
    "url",
    ["https://api.openai.com/v1?", "https://api.openai.com/v1?x=1", "https://api.openai.com/v1#", "https://u@h.com/v1",
     "https://u:p@h.com/v1", "https://h.com/v1\x00", "https://h.com/ v1", "https://h.com\\@e.com/", "http://h.com/v1",
     "ftp://h.com/v1", "https:///v1", "https://h.com:0/v1", "https://h.com:70000/v1", "https://-h.com/v1",
     "https://h_x.com/v1", "https://h.com/v1\u202e", "https://127.0.0.1/v1", "https://[::1]/v1", "https://0177.0.0.1/v1",
     "https://0x7f.1/v1", "https://2130706433/v1", "https://localhost/v1", "https://metadata.google.internal/v1",
     "https://h.com/v1<script>", "javascript://h.com/v1"],
)  # fmt: skip
def test_bad_base_urls(url: str) -> None:
    with pytest.raises(BadBaseUrl):
        check_base_url(url, STRICT)


def test_plain_http_only_with_an_operator_allow_list() -> None:
    assert check_base_url("http://127.0.0.1:9009/v1", LOCAL) == "http://127.0.0.1:9009/v1"
    with pytest.raises(BadBaseUrl, match="https"):
        check_base_url("http://8.8.8.8/v1", LOCAL)
    with pytest.raises(BadBaseUrl, match="not a public address"):
        check_base_url("http://127.0.0.2:9009/v1", LOCAL)


class Recorder(httpcore.AsyncNetworkBackend):
    """An inner backend that only records where it was asked to connect."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    async def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        self.calls.append((host, port))
        raise httpcore.ConnectError("recorded")


class FakeDns(GuardedBackend):
    def __init__(self, policy: EgressPolicy, answers: dict[str, list[str]], inner: Recorder) -> None:
        super().__init__(policy, inner)
        self.answers = answers

    async def resolve(self, host: str, port: int) -> list[Any]:
        literal = egress._literal(host)
        return [literal] if literal else [ipaddress.ip_address(a) for a in self.answers[host]]


async def test_a_name_resolving_privately_is_refused_before_connecting() -> None:
    inner = Recorder()
    backend = FakeDns(STRICT, {"rebind.example": ["169.254.169.254"], "twice.example": ["8.8.8.8", "10.0.0.1"]}, inner)
    with pytest.raises(egress.EgressRefused, match="not a public address"):
        await backend.connect_tcp("rebind.example", 443)
    assert inner.calls == []
    with pytest.raises(httpcore.ConnectError, match="recorded"):
        await backend.connect_tcp("twice.example", 443)
    assert inner.calls == [("8.8.8.8", 443)], "only the checked, public address; never the name again"


async def test_legacy_numeric_hosts_are_addresses_at_connect_time_too() -> None:
    inner = Recorder()
    backend = FakeDns(STRICT, {}, inner)
    for host in ("2130706433", "0x7f000001", "0177.0.0.1", "127.1"):
        with pytest.raises(egress.EgressRefused):
            await backend.connect_tcp(host, 80)
    assert inner.calls == []


async def _server(handler: Any) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_guarded_client_never_follows_redirects_and_refuses_unlisted_loopback() -> None:
    async def redirect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/latest\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server, port = await _server(redirect)
    async with server, guarded_client(LOCAL, limits=httpx.Limits(max_connections=2), timeout=5) as client:
        answer = await client.get(f"http://127.0.0.1:{port}/v1/models")
        assert answer.status_code == 302, "the redirect is handed back, not followed"
        with pytest.raises(httpx.ConnectError) as refused:
            await client.get(f"http://127.0.0.2:{port}/v1/models")
        assert egress.refusal(refused.value)
        # localhost is 127.0.0.1 (allowed) and maybe ::1 (refused): only the allowed address is used
        assert (await client.get(f"http://localhost:{port}/")).status_code == 302


async def test_plaintext_to_a_public_address_is_refused_even_if_the_url_got_in() -> None:
    inner = Recorder()
    transport = egress_httpx.GuardedTransport(LOCAL, httpx.Limits(max_connections=1))
    transport._pool._network_backend = FakeDns(LOCAL, {"public.example": ["8.8.8.8"]}, inner)  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx.ConnectError) as refused:
            await client.get("http://public.example/v1/models")
    assert "plain http" in (egress.refusal(refused.value) or "")
    assert inner.calls == []
