"""The edge's aiohttp client holds the egress policy at connect time: resolved and checked
addresses only, the connection made to the checked address, IP literals checked too, plain http
only to operator-allowed addresses, no redirects, TLS verified against the host name (SNI).

No traffic leaves 127.0.0.0/8: names resolve through a fake resolver, and the addresses it gives
that are not loopback are refused before a socket exists."""

from __future__ import annotations

import asyncio
import datetime
import gzip
import ipaddress
import ssl
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from libs.svc import egress
from libs.svc.egress import EgressPolicy
from libs.svc.egress_http import BodyTooLarge, GuardedClient, GuardedResolver, Request, timeout
from services.edge.upstream.base import transport_error

STRICT = EgressPolicy()
LOCAL = EgressPolicy(["127.0.0.1/32"])


class FakeDns(GuardedResolver):
    """Answers from a table, one answer list per lookup (the last repeats): DNS rebinding."""

    def __init__(self, policy: EgressPolicy, answers: dict[str, list[list[str]]]) -> None:
        super().__init__(policy)
        self.answers = answers
        self.lookups: list[str] = []

    async def addresses(self, host: str, port: int) -> list[Any]:
        literal = egress._literal(host)
        if literal is not None:
            return [literal]
        self.lookups.append(host)
        rounds = self.answers[host]
        return [ipaddress.ip_address(a) for a in rounds[min(self.lookups.count(host), len(rounds)) - 1]]


class Upstream:
    """A loopback HTTP server that records each connection and the Host it was asked for; it closes
    every connection after one answer, so each request connects (and resolves) anew."""

    def __init__(self, status: bytes = b"200 OK", extra: bytes = b"") -> None:
        self.connections = 0
        self.hosts: list[str] = []
        self.answer = b"HTTP/1.1 " + status + b"\r\n" + extra + b"content-length: 2\r\nconnection: close\r\n\r\nok"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        head = await reader.readuntil(b"\r\n\r\n")
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"host:"):
                self.hosts.append(line[5:].strip().decode())
        writer.write(self.answer)
        await writer.drain()
        writer.close()

    async def start(self, ssl_context: ssl.SSLContext | None = None) -> tuple[asyncio.Server, int]:
        server = await asyncio.start_server(self.handle, "127.0.0.1", 0, ssl=ssl_context)
        return server, server.sockets[0].getsockname()[1]


def get(url: str) -> Request:
    return Request(url, b"", {}, timeout(5.0, 2.0), method="GET")


async def refused(client: GuardedClient, url: str) -> str:
    with pytest.raises(aiohttp.ClientError) as err:
        await client.open(get(url))
    assert transport_error(err.value).status == 502
    return egress.refusal(err.value) or ""


async def test_names_are_resolved_checked_and_connected_to_by_the_checked_address() -> None:
    upstream = Upstream()
    server, port = await upstream.start()
    dns = FakeDns(LOCAL, {"twice.example": [["10.0.0.1", "127.0.0.1"], ["169.254.169.254"]],
                          "meta.example": [["169.254.169.254"]]})  # fmt: skip
    client = GuardedClient(LOCAL, resolver=dns)
    async with server:
        assert "not a public address" in await refused(client, f"http://meta.example:{port}/")
        assert upstream.connections == 0, "refused before connecting"
        answer = await client.open(get(f"http://twice.example:{port}/v1"))
        assert (answer.status_code, await answer.aread()) == (200, b"ok")
        assert upstream.hosts == [f"twice.example:{port}"], "the checked address, the name kept for Host"
        # the next connection resolves again: a rebound answer is refused, not cached and reused
        assert "not a public address" in await refused(client, f"http://twice.example:{port}/v1")
        assert upstream.connections == 1
        assert dns.lookups == ["meta.example", "twice.example", "twice.example"]
    await client.aclose()


async def test_ip_literals_and_legacy_numeric_hosts_are_checked_too() -> None:
    upstream = Upstream()
    server, port = await upstream.start()
    client = GuardedClient(STRICT)  # loopback not allowed
    async with server:
        for host in ("127.0.0.1", "2130706433", "0x7f000001", "127.1", "[::ffff:127.0.0.1]"):
            with pytest.raises(aiohttp.ClientError) as err:
                await client.open(get(f"http://{host}:{port}/"))
            assert transport_error(err.value).status == 502
        assert upstream.connections == 0
    await client.aclose()


async def test_plain_http_to_a_public_address_is_refused_and_redirects_are_not_followed() -> None:
    upstream = Upstream(b"302 Found", b"location: http://169.254.169.254/latest\r\n")
    server, port = await upstream.start()
    dns = FakeDns(LOCAL, {"public.example": [["8.8.8.8"]], "local.example": [["127.0.0.1"]]})
    client = GuardedClient(LOCAL, resolver=dns)
    async with server:
        assert "plain http" in await refused(client, "http://public.example/v1/models")
        answer = await client.open(get(f"http://local.example:{port}/"))
        assert answer.status_code == 302, "the redirect is handed back, not followed"
        await answer.aclose()
        assert upstream.connections == 1
    await client.aclose()


def _certificate(name: str, directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return cert_path, key_path


async def test_tls_verifies_the_certificate_against_the_host_name_sent_as_sni() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = _certificate("upstream.test", Path(tmp))
        served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        served.load_cert_chain(cert, key)
        sni: list[str | None] = []
        served.sni_callback = lambda sock, name, ctx: sni.append(name)  # type: ignore[assignment,misc,func-returns-value]
        trusting = ssl.create_default_context(cafile=str(cert))
    upstream = Upstream()
    server, port = await upstream.start(served)
    dns = FakeDns(LOCAL, {"upstream.test": [["127.0.0.1"]], "other.test": [["127.0.0.1"]]})
    untrusting = GuardedClient(LOCAL, resolver=dns)
    client = GuardedClient(LOCAL, resolver=dns, ssl_context=trusting)
    async with server:
        with pytest.raises(aiohttp.ClientConnectorCertificateError):  # verification is on by default
            await untrusting.open(get(f"https://upstream.test:{port}/"))
        answer = await client.open(get(f"https://upstream.test:{port}/"))
        assert (answer.status_code, await answer.aread()) == (200, b"ok")
        with pytest.raises(aiohttp.ClientConnectorCertificateError):  # same address, another name
            await client.open(get(f"https://other.test:{port}/"))
    assert sni[-3:] == ["upstream.test", "upstream.test", "other.test"]
    await untrusting.aclose()
    await client.aclose()


async def test_timeouts_map_to_504_and_a_dead_port_to_502() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = GuardedClient(LOCAL)
    async with server:
        with pytest.raises(TimeoutError) as slow:
            await client.open(Request(f"http://127.0.0.1:{port}/", b"", {}, timeout(0.2, 1.0), method="GET"))
        assert transport_error(slow.value).status == 504
    with pytest.raises(aiohttp.ClientError) as dead:
        await client.open(get(f"http://127.0.0.1:{port}/"))  # the server is gone
    assert (transport_error(dead.value).status, transport_error(dead.value).code) == (502, "upstream_unreachable")
    await client.aclose()


async def test_the_resolver_hands_aiohttp_only_allowed_addresses() -> None:
    dns = FakeDns(LOCAL, {"mixed.example": [["10.0.0.1", "::ffff:127.0.0.1", "169.254.169.254"]]})
    answers = await dns.resolve("mixed.example", 443)
    assert [(a["host"], a["hostname"], a["port"]) for a in answers] == [("127.0.0.1", "mixed.example", 443)]
    with pytest.raises(egress.EgressRefused):
        await FakeDns(STRICT, {"mixed.example": [["10.0.0.1", "127.0.0.1"]]}).resolve("mixed.example", 443)


async def test_a_whole_answer_is_read_only_up_to_the_cap() -> None:
    """A tenant-chosen upstream cannot exhaust the edge with a huge (or decompressing-to-huge)
    answer: past the cap the read stops, the connection is closed, the client gets a 502."""
    bomb = gzip.compress(b"0" * 200_000)
    answers = {
        "declared": b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n" + b"x" * 100,
        "undeclared": b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"y" * 50_000,
        "gzip": b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: "
        + str(len(bomb)).encode()
        + b"\r\n\r\n"
        + bomb,
    }
    client = GuardedClient(LOCAL)
    for name, answer in answers.items():
        upstream = Upstream()
        upstream.answer = answer
        server, port = await upstream.start()
        async with server:
            response = await client.open(get(f"http://127.0.0.1:{port}/{name}"))
            with pytest.raises(BodyTooLarge):
                await response.aread(limit=10_000)
            await response.aclose()
    await client.aclose()
