"""TLS contexts built from PEM text (settings hold certificates and keys as text, normally read
from ``*_FILE`` mounts by the one settings loader, ``libs/svc/settings.py``).

Python's ``ssl`` loads a certificate chain only from a path, so the chain and key are handed to
it through an anonymous in-memory file (``memfd``, Linux) that no other process can open and
that vanishes when closed; elsewhere, through a 0600 file in a private temporary directory,
deleted at once. Nothing here logs or repeats a key.

Both sides accept TLS 1.2 and 1.3 only; on TLS 1.2 only ECDHE key exchange with AEAD ciphers
(AES-GCM, ChaCha20-Poly1305), so every session has forward secrecy (TLS 1.3's suites all do).
"""

from __future__ import annotations

import contextlib
import os
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path

CIPHERS_TLS12 = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL:!MD5:!DSS:!RSAPSK:!PSK"
"""OpenSSL cipher string for TLS 1.2 (TLS 1.3 suites are configured apart and all strong)."""


def _harden(ctx: ssl.SSLContext) -> ssl.SSLContext:
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.set_ciphers(CIPHERS_TLS12)
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION | ssl.OP_CIPHER_SERVER_PREFERENCE
    return ctx


@contextlib.contextmanager
def _pem_path(pem: str) -> Iterator[str]:
    """A path that reads as ``pem`` while the block runs, for APIs that take only paths."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("bastion-tls", os.MFD_CLOEXEC)
        try:
            os.write(fd, pem.encode())
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    with tempfile.TemporaryDirectory() as private:  # pragma: no cover - not Linux; the directory is 0700
        path = Path(private) / "chain.pem"
        path.touch(mode=0o600)
        path.write_text(pem, encoding="utf-8")
        yield str(path)


def load_chain(ctx: ssl.SSLContext, cert_pem: str, key_pem: str) -> None:
    """Give ``ctx`` the certificate (chain) ``cert_pem`` and its private key ``key_pem``.

    Raises ``ValueError`` (never echoing the key) when they are not a matching PEM pair."""
    try:
        with _pem_path(cert_pem.strip() + "\n" + key_pem.strip() + "\n") as path:
            ctx.load_cert_chain(path)
    except ssl.SSLError:
        raise ValueError("TLS certificate and key are not a valid matching PEM pair") from None


def client_context(ca_pem: str, cert_pem: str = "", key_pem: str = "") -> ssl.SSLContext:
    """For a client: verify the server against ``ca_pem`` (hostname included) and, given a
    certificate and key, present them (mutual TLS)."""
    ctx = _harden(ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=ca_pem or None))
    if cert_pem or key_pem:
        load_chain(ctx, cert_pem, key_pem)
    return ctx


def server_context(cert_pem: str, key_pem: str, client_ca_pem: str = "") -> ssl.SSLContext:
    """For a server: present ``cert_pem``; with ``client_ca_pem``, require a client certificate
    signed by that CA."""
    ctx = _harden(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
    load_chain(ctx, cert_pem, key_pem)
    if client_ca_pem:
        ctx.load_verify_locations(cadata=client_ca_pem)
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx
