"""The local stack's CA and certificates (libs/stack/pki.py): made once, keys 0600, renewed when
expiring or when the CA changed, and mapped to bus users by subject (libs/stack/nats_users.py)."""

from __future__ import annotations

import datetime as dt
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from libs.stack import nats_users, natsd, pki

USERS = ("edge", "vault")
HOSTS = ["127.0.0.1", "localhost"]


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_key_is_0600_in_a_0700_directory(tmp_path: Path) -> None:
    pki.ensure(tmp_path, USERS, HOSTS)
    keys = sorted(pki.directory(tmp_path).glob("*.key"))
    assert [k.name for k in keys] == ["ca.key", "edge.key", "nats-server.key", "vault.key"]
    assert {_mode(k) for k in keys} == {0o600}
    assert _mode(pki.directory(tmp_path)) == 0o700


def test_made_once_then_reused(tmp_path: Path) -> None:
    pki.ensure(tmp_path, USERS, HOSTS)
    before = {p.name: p.read_bytes() for p in pki.directory(tmp_path).iterdir()}
    pki.ensure(tmp_path, USERS, HOSTS)
    assert {p.name: p.read_bytes() for p in pki.directory(tmp_path).iterdir()} == before


def test_client_certificates_name_their_user_and_serve_clients_only(tmp_path: Path) -> None:
    pki.ensure(tmp_path, USERS, HOSTS)
    edge = _cert(pki.pair(tmp_path, "edge").cert)
    assert edge.subject.rfc4514_string() == pki.subject_dn("edge") == "CN=edge,O=Bastion"
    assert list(edge.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH
    ]
    edge.verify_directly_issued_by(_cert(pki.ca_cert(tmp_path)))
    server = _cert(pki.pair(tmp_path, pki.SERVER).cert)
    assert list(server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.SERVER_AUTH
    ]
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert sans.get_values_for_type(x509.DNSName) == ["localhost"]


def test_a_pair_loads_into_a_tls_context(tmp_path: Path) -> None:
    pki.ensure(tmp_path, USERS, HOSTS)
    ctx = ssl.create_default_context(cafile=str(pki.ca_cert(tmp_path)))
    leaf = pki.pair(tmp_path, "vault")
    ctx.load_cert_chain(str(leaf.cert), str(leaf.key))  # raises if the key does not match the certificate


def test_an_expiring_leaf_is_made_again(tmp_path: Path) -> None:
    pki.ensure(tmp_path, USERS, HOSTS)
    edge = pki.pair(tmp_path, "edge")
    pki.issue(tmp_path, edge, "edge", days=10)  # expires within RENEW_BEFORE
    short = edge.cert.read_bytes()
    pki.ensure(tmp_path, USERS, HOSTS)
    assert edge.cert.read_bytes() != short
    assert _cert(edge.cert).not_valid_after_utc > dt.datetime.now(dt.UTC) + pki.RENEW_BEFORE


def test_leaves_of_a_replaced_ca_are_made_again(tmp_path: Path) -> None:
    pki.ensure(tmp_path, USERS, HOSTS)
    old = pki.pair(tmp_path, "edge").cert.read_bytes()
    (pki.directory(tmp_path) / "ca.key").unlink()  # an operator starts the CA over
    pki.ensure(tmp_path, USERS, HOSTS)
    new_ca = _cert(pki.ca_cert(tmp_path))
    assert pki.pair(tmp_path, "edge").cert.read_bytes() != old
    for name in (*USERS, pki.SERVER):
        _cert(pki.pair(tmp_path, name).cert).verify_directly_issued_by(new_ca)


def test_a_server_certificate_for_other_hosts_is_made_again(tmp_path: Path) -> None:
    pki.ensure(tmp_path, USERS, ["127.0.0.1"])
    pki.ensure(tmp_path, USERS, ["10.1.2.3"])
    sans = _cert(pki.pair(tmp_path, pki.SERVER).cert).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert [str(ip) for ip in sans.value.get_values_for_type(x509.IPAddress)] == ["10.1.2.3"]


def test_the_tls_authorization_block_maps_certificates_to_users_without_passwords() -> None:
    block = nats_users.tls_authorization_block()
    assert '"user": "CN=edge,O=Bastion"' in block
    assert "password" not in block
    # the same permissions as the password users
    with_passwords = nats_users.authorization_block(dict.fromkeys(nats_users.PERMISSIONS, "pw"))
    assert block.count('"allow"') == with_passwords.count('"allow"') == 2 * len(nats_users.PERMISSIONS)


def test_the_server_requires_and_maps_client_certificates(tmp_path: Path) -> None:
    files = natsd.ServerTls(tmp_path / "s.crt", tmp_path / "s.key", tmp_path / "ca.crt")
    conf = natsd.write_config(tmp_path, "127.0.0.1", 4222, tls=files).read_text()
    for line in ("verify_and_map: true", "handshake_first: true", 'min_version: "1.2"', f'ca_file: "{files.ca}"'):
        assert line in conf
    suites = next(line for line in conf.splitlines() if "cipher_suites" in line)
    assert "CBC" not in suites
    assert suites.count("GCM") + suites.count("CHACHA20") == len(natsd.CIPHER_SUITES) == 6
    assert "tls {" not in natsd.write_config(tmp_path, "127.0.0.1", 4222).read_text()


@pytest.mark.parametrize("user", ["edge", "operator"])
def test_env_names_only_files(tmp_path: Path, user: str) -> None:
    env = pki.env(tmp_path, user)
    assert env == {"BASTION_NATS_TLS_CA_FILE": str(tmp_path / "tls" / "ca.crt"),
                   "BASTION_NATS_TLS_CERT_FILE": str(tmp_path / "tls" / f"{user}.crt"),
                   "BASTION_NATS_TLS_KEY_FILE": str(tmp_path / "tls" / f"{user}.key")}  # fmt: skip
