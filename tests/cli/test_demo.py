"""``pollhttp demo``: the offline showcase, and the demo server's standard-library CA."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from pollhttp.demo import DemoCA

from .conftest import REPO, cli_env, run_cli
from .test_progress import ANSI, run_in_pty


def test_demo_runs_offline_as_the_readme_says_and_exits_0_within_seconds():
    started = time.monotonic()
    proc = subprocess.run(  # the README's first command, as written
        ["python3", "-m", "pollhttp", "demo"],
        cwd=REPO,
        env={**cli_env(), "PYTHONPATH": "src"},
        capture_output=True,
        timeout=30,
        check=False,
    )
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert elapsed < 10
    text = proc.stdout.decode()
    # Part 1: the canonical HTTPClient loop, with its status trace.
    assert "status STATUS_BODY" in text
    assert "trailers ['X-Checksum: demo']" in text
    # Part 2: five HTTPRequest transfers at once, HTTP and HTTPS, traced.
    assert text.count("RESULT_SUCCESS") == 5
    assert text.count("TLS session: TLSv1.") == 3
    assert text.count("certificate subject: CN=localhost") == 3
    assert re.search(r"\[5\] \* +[\d.]+ ms  status STATUS_REQUESTING", text)
    assert "https slow 2 MiB" in text
    assert re.search(r"done in \d+\.\d\d s; exit status 0", text)
    assert proc.stderr == b""


def test_demo_shows_live_progress_on_a_terminal():
    code, screen = run_in_pty(["demo"], env={"POLLHTTP_PROGRESS": "plain"}, timeout=30)
    assert code == 0
    lines = [ANSI.sub("", line) for line in re.split(r"[\r\n]+", screen)]
    bars = [line for line in lines if line.startswith("https slow 2 MiB [")]
    percents = {m for line in bars for m in re.findall(r"\] +(\d+)%", line)}
    assert len(percents) >= 2  # the bar was drawn at least twice, moving
    assert "status STATUS_BODY" in screen  # the trace shares the terminal, above the bars


def test_demo_serve_prints_urls_and_stops_on_sigterm():
    proc = subprocess.Popen(
        [sys.executable, "-m", "pollhttp", "demo", "--serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(),
        text=True,
    )
    try:
        assert proc.stdout is not None
        exports = dict(
            proc.stdout.readline().removeprefix("export ").strip().split("=", 1) for _ in range(3)
        )
        assert set(exports) == {"DEMO", "DEMO_HTTPS", "DEMO_CA"}
        assert proc.stdout.readline().startswith("# serving until Ctrl-C")
        ran = run_cli("--cacert", exports["DEMO_CA"], exports["DEMO_HTTPS"] + "/json")
        assert (ran.code, ran.out[:10]) == (0, b'{"hello": ')
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert err == ""
    assert not Path(exports["DEMO_CA"]).exists()  # the temporary CA file is gone


def test_demo_rejects_unknown_options():
    ran = run_cli("demo", "--fast")
    assert ran.code == 2
    assert ran.err.count("\n") == 1


# -- the standard-library CA, checked by an independent implementation ------------------------


@pytest.fixture(scope="module")
def ca():
    return DemoCA("test CA")


def test_server_certificate(ca):
    issued = ca.issue()
    leaf = x509.load_pem_x509_certificate(issued.cert_pem.encode())
    root = x509.load_pem_x509_certificate(ca.cert_pem.encode())
    leaf.verify_directly_issued_by(root)  # signature, issuer name and algorithm
    root.verify_directly_issued_by(root)  # self-signed
    assert leaf.serial_number == issued.serial
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    usage = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
    basic = root.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical
    assert basic.value.ca
    now = dt.datetime.now(dt.timezone.utc)
    assert leaf.not_valid_before_utc < now < leaf.not_valid_after_utc


def test_client_certificate_and_validity(ca):
    start = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    issued = ca.issue("player-1", client=True, not_before=start, not_after=start.replace(year=2060))
    leaf = x509.load_pem_x509_certificate(issued.cert_pem.encode())
    usage = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert leaf.not_valid_before_utc == start
    assert leaf.not_valid_after_utc.year == 2060  # GeneralizedTime after 2049
    assert issued.key_pem.startswith("-----BEGIN EC PRIVATE KEY-----")


def test_crl(ca):
    revoked = [ca.issue().serial, 12345]
    crl = x509.load_pem_x509_crl(ca.crl_pem(revoked).encode())
    root = x509.load_pem_x509_certificate(ca.cert_pem.encode())
    assert crl.is_signature_valid(root.public_key())  # type: ignore[arg-type]
    assert sorted(entry.serial_number for entry in crl) == sorted(revoked)
    empty = x509.load_pem_x509_crl(ca.crl_pem().encode())
    assert len(empty) == 0
