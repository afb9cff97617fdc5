"""The bus is mutual TLS only: nats-server refuses a plaintext client, a client without a
certificate, with a certificate from another CA, an expired one or the server's own, and a
certificate is its user: claiming another user's name in CONNECT changes nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from pathlib import Path

import nats
import pytest

from libs.contracts import subjects
from libs.stack import pki
from libs.svc import tls
from libs.svc.bus import settled
from tests.stack import Stack

NO_RETRY = {"max_reconnect_attempts": 0, "allow_reconnect": False, "connect_timeout": 2}


def _nats_log(stack: Stack) -> str:
    return (stack.var / "logs" / "nats.log").read_text(errors="replace")


async def _refused_with(stack: Stack, ctx: ssl.SSLContext, reason: str) -> None:
    """Connecting with ``ctx`` fails, and the server logged ``reason`` for it."""
    before = len(_nats_log(stack))
    try:
        nc = await nats.connect(stack.bus_url, tls=ctx, tls_handshake_first=True, inbox_prefix="_INBOX_edge",
                                **NO_RETRY)  # fmt: skip
    except Exception:
        pass
    else:
        await nc.close()
        raise AssertionError("connected")
    for _ in range(40):
        if reason in _nats_log(stack)[before:]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"nats-server did not log {reason!r}: {_nats_log(stack)[before:][-600:]}")


def _ctx(stack: Stack, cert: str = "", key: str = "") -> ssl.SSLContext:
    return tls.client_context(pki.ca_cert(stack.var).read_text(), cert, key)


def _pem(leaf: pki.Pair) -> tuple[str, str]:
    return leaf.cert.read_text(), leaf.key.read_text()


async def test_the_own_certificate_connects(stack: Stack) -> None:
    """The control for the refusals below: the same helper, the edge's own certificate."""
    nc = await nats.connect(stack.bus_url, tls=_ctx(stack, *_pem(pki.pair(stack.var, "edge"))),
                            tls_handshake_first=True, inbox_prefix="_INBOX_edge", **NO_RETRY)  # fmt: skip
    try:
        reply = await nc.request(subjects.ping("vault"), b'{"request_id": "tls-test"}', timeout=2)
        assert b'"service":"vault"' in reply.data
    finally:
        await nc.close()


async def test_a_plaintext_client_is_refused(stack: Stack) -> None:
    # the server says nothing before a TLS handshake: no INFO, then EOF or a timeout
    with pytest.raises((nats.errors.Error, asyncio.TimeoutError, OSError)):
        await nats.connect(f"nats://127.0.0.1:{stack.ports['NATS']}", user="edge", password="x", **NO_RETRY)


async def test_a_client_without_a_certificate_is_refused(stack: Stack) -> None:
    await _refused_with(stack, _ctx(stack), "client didn't provide a certificate")


async def test_a_certificate_from_another_ca_is_refused(stack: Stack, tmp_path: Path) -> None:
    pki.ensure(tmp_path, ["edge"], ["127.0.0.1"])  # same subject, CN=edge,O=Bastion, but a stranger's CA
    await _refused_with(stack, _ctx(stack, *_pem(pki.pair(tmp_path, "edge"))), "unknown authority")


async def test_an_expired_certificate_is_refused(stack: Stack, tmp_path: Path) -> None:
    old = pki.Pair(tmp_path / "edge.crt", tmp_path / "edge.key")
    pki.issue(stack.var, old, "edge", days=1, not_before=dt.datetime.now(dt.UTC) - dt.timedelta(days=3))
    await _refused_with(stack, _ctx(stack, *_pem(old)), "expired")


async def test_a_certificate_of_our_ca_for_no_bus_user_is_refused(stack: Stack, tmp_path: Path) -> None:
    stranger = pki.Pair(tmp_path / "intruder.crt", tmp_path / "intruder.key")
    pki.issue(stack.var, stranger, "intruder")  # a valid client certificate, CN=intruder,O=Bastion
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    with pytest.raises(Exception, match=r"(?i)authorization"):
        await nats.connect(stack.bus_url, tls=_ctx(stack, *_pem(stranger)), tls_handshake_first=True,
                           error_cb=on_error, **NO_RETRY)  # fmt: skip


async def test_the_servers_own_certificate_is_no_client_certificate(stack: Stack) -> None:
    await _refused_with(stack, _ctx(stack, *_pem(pki.pair(stack.var, pki.SERVER))), "incompatible key usage")


async def test_a_certificate_is_its_user_whatever_connect_claims(stack: Stack) -> None:
    """The edge's certificate naming the vault (and its password) in CONNECT is refused outright;
    with the vault's inbox prefix it is still the edge, and the vault's subjects are refused."""
    with pytest.raises(Exception, match=r"(?i)authorization"):
        await nats.connect(stack.bus_url, tls=_ctx(stack, *_pem(pki.pair(stack.var, "edge"))),
                           tls_handshake_first=True, user="vault", password="x", **NO_RETRY)  # fmt: skip
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await nats.connect(stack.bus_url, tls=_ctx(stack, *_pem(pki.pair(stack.var, "edge"))),
                            tls_handshake_first=True, inbox_prefix="_INBOX_vault", error_cb=on_error,
                            **NO_RETRY)  # fmt: skip
    try:
        for subject in (subjects.VAULT_RESOLVE, "_INBOX_vault.>"):  # the vault's requests, the vault's replies
            await nc.subscribe(subject)
            await settled(nc)
        for _ in range(20):
            if len(errors) >= 2:
                break
            await asyncio.sleep(0.05)
    finally:
        await nc.close()
    assert sum("permissions violation" in e.lower() for e in errors) == 2, errors


def test_the_stack_has_no_bus_passwords_and_private_keys_are_0600(stack: Stack) -> None:
    """Every process connects by certificate (the server takes nothing else), so no bus password exists."""
    assert not list((stack.var / "secrets").glob("nats_*.password"))
    keys = sorted(pki.directory(stack.var).glob("*.key"))
    assert {k.stem for k in keys} >= {"ca", "nats-server", "edge", "auth", "guardrails", "vault", "metering", "audit",
                                      "api", "operator"}  # fmt: skip
    assert {k.stat().st_mode & 0o777 for k in keys} == {0o600}
