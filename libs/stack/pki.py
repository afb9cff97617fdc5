"""The local stack's private CA and per-process certificates, made once under ``var/tls`` (0700).

nats-server presents ``nats-server.crt`` and requires every client to present a certificate from
this CA; with ``verify_and_map`` the certificate *is* the bus user (its subject, ``CN=<user>,
O=Bastion``, is the user name in nats.conf: ``libs/stack/nats_users.py``), so a process can only
ever act as the user its certificate names. Keys are ECDSA P-256 (cheap handshakes), 0600.

Only the ``prepare`` child step calls :func:`ensure` (``cryptography`` stays out of the
supervisor); the path helpers here import nothing heavy. A leaf that is missing, expires within
:data:`RENEW_BEFORE`, or was not signed by the current CA is made again on the next start;
deployments mount their own CA and certificates instead (docs/operations.md, "Transport security").
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
    from cryptography.x509 import Certificate

ORGANIZATION = "Bastion"
SERVER = "nats-server"
CA_DAYS = 3650
LEAF_DAYS = 397
RENEW_BEFORE = dt.timedelta(days=30)


def directory(var: Path) -> Path:
    """Where the CA and the certificates live."""
    return var / "tls"


@dataclass(frozen=True)
class Pair:
    """One certificate and its private key, as files."""

    cert: Path
    key: Path


def ca_cert(var: Path) -> Path:
    """The CA certificate every process trusts (its key, ``ca.key``, never leaves ``var/tls``)."""
    return directory(var) / "ca.crt"


def pair(var: Path, name: str) -> Pair:
    """The certificate and key of ``name`` (a bus user, or :data:`SERVER`)."""
    return Pair(directory(var) / f"{name}.crt", directory(var) / f"{name}.key")


def subject_dn(user: str) -> str:
    """The subject of a bus user's certificate as nats-server prints it (RFC 4514), which is the
    user's name in nats.conf under ``verify_and_map``."""
    return f"CN={user},O={ORGANIZATION}"


def env(var: Path, user: str) -> dict[str, str]:
    """What a process needs to connect to the bus as ``user``: ``BASTION_NATS_TLS_*_FILE``."""
    leaf = pair(var, user)
    return {
        "BASTION_NATS_TLS_CA_FILE": str(ca_cert(var)),
        "BASTION_NATS_TLS_CERT_FILE": str(leaf.cert),
        "BASTION_NATS_TLS_KEY_FILE": str(leaf.key),
    }


def ensure(var: Path, users: Iterable[str], hosts: Iterable[str]) -> None:
    """Create the CA (once), the server's certificate for ``hosts`` and one client certificate per
    bus user, each only where missing, expiring or signed by another CA."""
    ensure_ca(var)
    ensure_leaf(var, SERVER, list(hosts))
    for user in users:
        ensure_leaf(var, user)


def ensure_ca(var: Path) -> None:
    """The CA under ``var/tls`` (0700), made once."""
    out = directory(var)
    out.mkdir(parents=True, exist_ok=True)
    out.chmod(0o700)
    if not (ca_cert(var).exists() and (out / "ca.key").exists()):
        key = _new_key()
        _write_key(out / "ca.key", key)
        _write_cert(ca_cert(var), _ca(key))


def ensure_leaf(var: Path, name: str, hosts: list[str] | None = None) -> Pair:
    """``name``'s certificate: a server's for ``hosts``, else a client's; made only where missing,
    expiring, signed by another CA or (a server's) for other hosts."""
    from cryptography import x509

    ca = x509.load_pem_x509_certificate(ca_cert(var).read_bytes())
    if _stale(pair(var, name), ca, hosts):
        issue(var, pair(var, name), name, hosts=hosts)
    return pair(var, name)


def renew(var: Path, users: Iterable[str], hosts: Iterable[str]) -> None:
    """Issue every leaf again (fresh keys, same CA), whatever its state: rotation. The CA's
    certificate and key are not touched, so certificates already in use stay valid."""
    if not (ca_cert(var).exists() and (directory(var) / "ca.key").exists()):
        raise FileNotFoundError("no CA under var/tls: start the stack once first")
    issue(var, pair(var, SERVER), SERVER, hosts=list(hosts))
    for user in users:
        issue(var, pair(var, user), user)


def _new_key() -> EllipticCurvePrivateKey:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _load_key(path: Path) -> EllipticCurvePrivateKey:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"{path.name}: not an EC key")
    return key


def _write_key(path: Path, key: EllipticCurvePrivateKey) -> None:
    from cryptography.hazmat.primitives import serialization

    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())  # fmt: skip
    _replace(path, pem, 0o600)


def _replace(path: Path, data: bytes, mode: int) -> None:
    """Write ``path`` whole or not at all (a reader never sees half a file), ``mode`` from the
    first byte on."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    tmp.chmod(mode)  # not narrowed by the umask
    tmp.replace(path)


def _write_cert(path: Path, cert: Certificate) -> None:
    from cryptography.hazmat.primitives import serialization

    _replace(path, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def _name(common_name: str) -> x509.Name:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])  # fmt: skip


def _ca(key: EllipticCurvePrivateKey) -> Certificate:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    now = dt.datetime.now(dt.UTC)
    name = _name("Bastion local CA")
    return (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip


def issue(
    var: Path,
    leaf: Pair,
    name: str,
    *,
    hosts: list[str] | None = None,
    days: int = LEAF_DAYS,
    not_before: dt.datetime | None = None,
) -> None:
    """Sign a certificate for ``name`` with the CA under ``var`` into ``leaf``: a server's
    (``hosts`` as its SANs, serverAuth) or a client's (no SAN, so nats-server maps it by its
    subject; clientAuth only)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID

    ca = x509.load_pem_x509_certificate(ca_cert(var).read_bytes())
    ca_key = _load_key(directory(var) / "ca.key")
    key = _new_key()
    start = not_before or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    builder = (
        x509.CertificateBuilder().subject_name(_name(name)).issuer_name(ca.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()), critical=False)  # type: ignore[arg-type]
    )  # fmt: skip
    if hosts is not None:
        sans: list[x509.GeneralName] = []
        for host in hosts:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(host)))
            except ValueError:
                sans.append(x509.DNSName(host))
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        usage = ExtendedKeyUsageOID.SERVER_AUTH
    else:
        usage = ExtendedKeyUsageOID.CLIENT_AUTH
    cert = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False).sign(ca_key, hashes.SHA256())
    _write_key(leaf.key, key)
    _write_cert(leaf.cert, cert)


def _stale(leaf: Pair, ca: Certificate, hosts: list[str] | None = None) -> bool:
    """Missing, expiring within :data:`RENEW_BEFORE`, not signed by ``ca``, or not for ``hosts``."""
    from cryptography import x509

    if not (leaf.cert.exists() and leaf.key.exists()):
        return True
    cert = x509.load_pem_x509_certificate(leaf.cert.read_bytes())
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, Exception):  # noqa: BLE001 - InvalidSignature and friends: make it again
        return True
    if cert.not_valid_after_utc - RENEW_BEFORE < dt.datetime.now(dt.UTC):
        return True
    if hosts is not None:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        have = {str(v) for v in sans.get_values_for_type(x509.IPAddress)} | set(sans.get_values_for_type(x509.DNSName))
        return not set(hosts) <= have
    return False
