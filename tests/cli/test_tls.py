"""The command's TLS options against local HTTPS servers: the demo's and stdlib ``ssl`` ones."""

from __future__ import annotations

import datetime as dt

import pytest
import trustme

from pollhttp.demo import DemoCA, DemoServer
from tests.support.servers import response
from tests.support.tls import Read, Send, TLSServer, server_context, spki_pin

from .conftest import run_cli


@pytest.fixture(scope="module")
def files(demo_https, tmp_path_factory):
    """PEM files for the demo HTTPS server: its CA, a CRL revoking its certificate, and more."""
    folder = tmp_path_factory.mktemp("tls")
    ca = demo_https.ca
    paths = {
        "ca": ca.cert_pem,
        "revoking": ca.crl_pem([demo_https.certificate.serial]),
        "clean": ca.crl_pem([demo_https.certificate.serial + 1]),
        "other-ca": DemoCA("another CA").cert_pem,
    }
    client = ca.issue(client=True)
    paths["client-cert"] = client.cert_pem
    paths["client-key"] = client.key_pem
    paths["client-both"] = client.cert_pem + client.key_pem
    stranger = DemoCA("a stranger").issue(client=True)
    paths["stranger"] = stranger.cert_pem + stranger.key_pem
    result = {}
    for name, text in paths.items():
        path = folder / f"{name}.pem"
        path.write_text(text, encoding="ascii")
        result[name] = str(path)
    return result


def test_cacert_trusts_the_demo_ca(demo_https, files):
    ran = run_cli("--cacert", files["ca"], f"{demo_https.url}/json")
    assert ran.code == 0
    assert ran.out.startswith(b'{"hello": "pollhttp"')


def test_without_the_ca_the_certificate_is_not_trusted(demo_https, files):
    ran = run_cli(f"{demo_https.url}/json")
    assert ran.code == 60
    assert "certificate verify failed" in ran.err
    assert run_cli("--cacert", files["other-ca"], f"{demo_https.url}/").code == 60


def test_insecure_skips_verification(demo_https):
    ran = run_cli("-k", f"{demo_https.url}/")
    assert (ran.code, ran.out) == (0, b"Hello from the pollhttp demo server!\n")


def test_the_name_must_match(demo_https, files):
    # The certificate names localhost, 127.0.0.1 and ::1: not this name.
    url = f"https://elsewhere.test:{demo_https.port}/"
    resolve = f"elsewhere.test:{demo_https.port}:127.0.0.1"
    ran = run_cli("--cacert", files["ca"], "--resolve", resolve, url)
    assert ran.code == 60
    assert "mismatch" in ran.err.lower()
    good = f"localhost:{demo_https.port}:127.0.0.1"
    localhost = f"https://localhost:{demo_https.port}/"
    assert run_cli("--cacert", files["ca"], "--resolve", good, localhost).code == 0
    assert run_cli("-k", "--resolve", resolve, url).code == 0


def test_pins(demo_https, files):
    pin = spki_pin(demo_https.certificate.cert_pem)  # computed by cryptography, independently
    url = f"{demo_https.url}/"
    assert run_cli("--cacert", files["ca"], "--pin", pin, url).code == 0
    assert run_cli("-k", "--pinnedpubkey", f"sha256//{'A' * 43}=;{pin}", url).code == 0
    wrong = "sha256//" + "A" * 43 + "="
    ran = run_cli("--cacert", files["ca"], "--pin", wrong, url)
    assert ran.code == 90
    assert "pin" in ran.err
    assert run_cli("-k", "--pin", wrong, url).code == 90  # -k leaves pins in force


def test_crlfile_revokes(demo_https, files):
    url = f"{demo_https.url}/"
    revoked = run_cli("--cacert", files["ca"], "--crlfile", files["revoking"], url)
    assert revoked.code == 60
    assert "revoked" in revoked.err
    assert run_cli("--cacert", files["ca"], "--crlfile", files["clean"], url).code == 0


def test_expired_certificate_is_60(tmp_path):
    ca = DemoCA()
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)
    old = ca.issue(not_before=past, not_after=past + dt.timedelta(days=1))
    (tmp_path / "ca.pem").write_text(ca.cert_pem)
    with DemoServer(ca=ca, certificate=old) as server:
        ran = run_cli("--cacert", str(tmp_path / "ca.pem"), f"{server.url}/")
    assert ran.code == 60
    assert "expired" in ran.err


@pytest.fixture(scope="module")
def mutual(demo_https):
    with DemoServer(client_certificates=True, ca=demo_https.ca) as server:
        yield server


def test_client_certificate(mutual, files):
    url = f"{mutual.url}/json"
    both = run_cli("--cacert", files["ca"], "--cert", files["client-both"], url)
    assert both.code == 0
    assert b'"hello"' in both.out
    split = run_cli(
        "--cacert", files["ca"], "--cert", files["client-cert"], "--key", files["client-key"], url
    )
    assert split.code == 0


def test_refused_client_certificate(mutual, files):
    # TLS 1.3 servers judge the client certificate after the handshake: the refusal
    # arrives on the connection, as a failed send or an alert, and is exit status 56.
    without = run_cli("--cacert", files["ca"], f"{mutual.url}/")
    assert without.code in (35, 56), without.err
    stranger = run_cli("--cacert", files["ca"], "--cert", files["stranger"], f"{mutual.url}/")
    assert stranger.code in (35, 56), stranger.err


def test_against_a_stdlib_tls_server_with_a_trustme_ca(tmp_path):
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    reply = response("200 OK", ["Content-Type: text/plain"], b"from stdlib ssl\n")
    with TLSServer([[Read(), Send(reply)]], server_context(leaf=leaf)) as server:
        ran = run_cli("--cacert", str(tmp_path / "ca.pem"), f"https://127.0.0.1:{server.port}/")
    assert (ran.code, ran.out) == (0, b"from stdlib ssl\n")
    assert server.server_names == [None]  # no SNI for an IP address
