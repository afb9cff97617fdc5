"""TLS contexts from PEM text (libs/svc/tls.py) and the bus credentials they become
(libs/svc/bus.py): TLS 1.2+ with strong ciphers, mutual TLS, keys never echoed."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from libs.stack import pki
from libs.svc import https, tls
from libs.svc.bus import credentials
from libs.svc.settings import BaseSettings, HttpSettings, load


@pytest.fixture(scope="module")
def var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pki")
    pki.ensure(out, ["edge"], ["127.0.0.1", "localhost"])
    return out


def _pem(var: Path, name: str) -> tuple[str, str]:
    leaf = pki.pair(var, name)
    return leaf.cert.read_text(), leaf.key.read_text()


def _handshake(server: ssl.SSLContext, client: ssl.SSLContext, hostname: str = "localhost") -> ssl.SSLObject:
    """Run a TLS handshake in memory; the client's end once done, or the first side's SSLError."""
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    c = client.wrap_bio(c_in, c_out, server_hostname=hostname)
    s = server.wrap_bio(s_in, s_out, server_side=True)
    done = {"c": False, "s": False}
    for _ in range(20):
        for name, end in (("c", c), ("s", s)):
            if not done[name]:
                try:
                    end.do_handshake()
                    done[name] = True
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if all(done.values()):
            c.write(b"x")  # TLS 1.3: the server checks the client's certificate after its Finished
            s_in.write(c_out.read())
            assert s.read(1) == b"x"
            return c
    raise AssertionError("handshake did not finish")


def _server(var: Path, client_ca: bool = True) -> ssl.SSLContext:
    return tls.server_context(*_pem(var, pki.SERVER), pki.ca_cert(var).read_text() if client_ca else "")


def test_contexts_accept_tls_1_2_and_1_3_only_with_forward_secret_aead_ciphers(var: Path) -> None:
    for ctx in (tls.client_context(""), _server(var)):
        assert (ctx.minimum_version, ctx.maximum_version) == (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3)
        names = {c["name"] for c in ctx.get_ciphers() if c["protocol"] == "TLSv1.2"}
        assert names
        assert all(n.startswith("ECDHE-") and ("GCM" in n or "CHACHA20" in n) for n in names), names


def test_mutual_tls_handshake_with_the_local_ca(var: Path) -> None:
    client = tls.client_context(pki.ca_cert(var).read_text(), *_pem(var, "edge"))
    end = _handshake(_server(var), client)
    assert end.version() in {"TLSv1.2", "TLSv1.3"}


def test_a_client_without_a_certificate_is_refused_when_one_is_required(var: Path) -> None:
    with pytest.raises(ssl.SSLError):
        _handshake(_server(var), tls.client_context(pki.ca_cert(var).read_text()))
    _handshake(_server(var, client_ca=False), tls.client_context(pki.ca_cert(var).read_text()))  # the control


def test_a_server_from_another_ca_or_name_is_refused(var: Path, tmp_path: Path) -> None:
    pki.ensure(tmp_path, [], ["127.0.0.1"])
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(_server(var), tls.client_context(pki.ca_cert(tmp_path).read_text(), *_pem(var, "edge")))
    with pytest.raises(ssl.SSLCertVerificationError, match=r"(?i)hostname"):
        _handshake(_server(var), tls.client_context(pki.ca_cert(var).read_text(), *_pem(var, "edge")), "nats.example")


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
def test_tls_1_1_is_refused_by_our_server(var: Path) -> None:
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname, old.verify_mode = False, ssl.CERT_NONE
    old.minimum_version = old.maximum_version = ssl.TLSVersion.TLSv1_1
    old.set_ciphers("ALL:@SECLEVEL=0")
    permissive = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_chain(permissive, *_pem(var, pki.SERVER))
    permissive.minimum_version = ssl.TLSVersion.TLSv1
    permissive.set_ciphers("ALL:@SECLEVEL=0")
    try:
        assert _handshake(permissive, old).version() == "TLSv1.1"  # the control: this client can speak 1.1
    except ssl.SSLError:
        pytest.skip("this OpenSSL build cannot speak TLS 1.1 at all")
    with pytest.raises(ssl.SSLError):
        _handshake(_server(var, client_ca=False), old)


def test_a_wrong_key_fails_without_echoing_it(var: Path, tmp_path: Path) -> None:
    pki.ensure(tmp_path, ["edge"], ["127.0.0.1"])
    cert, _ = _pem(var, "edge")
    other_key = pki.pair(tmp_path, "edge").key.read_text()
    with pytest.raises(ValueError, match="not a valid matching PEM pair") as caught:
        tls.load_chain(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), cert, other_key)
    body = other_key.splitlines()[1]
    assert body not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_settings_read_the_pem_files_and_credentials_use_tls_without_a_password(var: Path) -> None:
    settings = load(BaseSettings, {"BASTION_NATS_USER": "edge", "BASTION_NATS_PASSWORD": "pw", **pki.env(var, "edge")})
    assert settings.nats_tls_key.startswith("-----BEGIN PRIVATE KEY-----")
    assert "PRIVATE" not in repr(settings)
    options = credentials(settings)
    assert isinstance(options.pop("tls"), ssl.SSLContext)
    assert options == {"inbox_prefix": "_INBOX_edge", "tls_handshake_first": True}  # no user, no password


def test_credentials_without_tls_are_the_user_and_password() -> None:
    settings = load(BaseSettings, {"BASTION_NATS_USER": "edge", "BASTION_NATS_PASSWORD": "pw"})
    assert credentials(settings) == {"inbox_prefix": "_INBOX_edge", "user": "edge", "password": "pw"}


def test_a_certificate_without_its_key_fails_at_start(var: Path) -> None:
    env = {k: v for k, v in pki.env(var, "edge").items() if "KEY" not in k}
    with pytest.raises(ValueError, match="not a valid matching PEM pair"):
        credentials(load(BaseSettings, env))


def test_https_is_off_without_a_certificate_and_built_per_worker_with_one(
    var: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert https.uvicorn_options(load(HttpSettings, {})) == {}
    leaf = pki.pair(var, pki.SERVER)
    env = {"BASTION_HTTPS_CERT_FILE": str(leaf.cert), "BASTION_HTTPS_KEY_FILE": str(leaf.key)}
    options = https.uvicorn_options(load(HttpSettings, env))
    assert options == {"ssl_context_factory": https.context_factory}
    for name, value in env.items():  # what a uvicorn worker process inherits
        monkeypatch.setenv(name, value)
    ctx = options["ssl_context_factory"](object(), lambda: pytest.fail("uvicorn's own context is not used"))
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    client = tls.client_context(pki.ca_cert(var).read_text())
    assert _handshake(ctx, client).version() == "TLSv1.3"


def test_https_with_a_mismatched_pair_fails_before_serving(var: Path, tmp_path: Path) -> None:
    pki.ensure(tmp_path, [], ["127.0.0.1"])
    env = {"BASTION_HTTPS_CERT_FILE": str(pki.pair(var, pki.SERVER).cert),
           "BASTION_HTTPS_KEY_FILE": str(pki.pair(tmp_path, pki.SERVER).key)}  # fmt: skip
    with pytest.raises(ValueError, match="not a valid matching PEM pair"):
        https.uvicorn_options(load(HttpSettings, env))
