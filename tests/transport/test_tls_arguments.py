"""TLSOptions, X509Certificate and CryptoKey refuse wrong arguments where they are given.

Issue 19: a CA file path or a certificate whose load() failed used to be accepted and fail
much later, in the handshake, with a message about empty certificate data.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from pollhttp import (
    CryptoKey,
    Error,
    InvalidParameterError,
    InvalidTypeError,
    TLSOptions,
    X509Certificate,
)


@pytest.fixture(scope="module")
def certificate() -> X509Certificate:
    loaded = X509Certificate()
    assert loaded.load_from_string(trustme.CA().cert_pem.bytes().decode()) == Error.OK
    return loaded


def test_a_path_is_not_a_trusted_chain(tmp_path: Path) -> None:
    with pytest.raises(InvalidTypeError, match="trusted_chain must be an X509Certificate"):
        TLSOptions.client(str(tmp_path / "ca.pem"))  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="trusted_chain"):
        TLSOptions.client_unsafe(tmp_path / "ca.pem")  # type: ignore[arg-type]


def test_a_certificate_whose_load_failed_is_refused_at_once(tmp_path):
    certificate = X509Certificate()
    assert certificate.load(tmp_path / "missing.pem") == Error.ERR_FILE_CANT_OPEN
    with pytest.raises(InvalidParameterError, match="holds no certificate"):
        TLSOptions.client(certificate)


def test_a_key_whose_load_failed_is_refused_at_once(tmp_path, certificate):
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    key = CryptoKey()
    assert key.load(bad) == Error.ERR_PARSE_ERROR
    with pytest.raises(InvalidParameterError, match="holds no key"):
        TLSOptions.client(certificate=certificate, key=key)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"common_name_override": 5}, "common_name_override"),
        ({"pins": "sha256//AAAA"}, "pins"),
        ({"pins": [b"sha256//AAAA"]}, "pins"),
        ({"crls": b"x"}, "crls"),
        ({"key": "key.pem"}, "key must be a CryptoKey"),
    ],
)
def test_wrong_types_name_the_parameter(kwargs, named, certificate):
    if "key" in kwargs:
        kwargs["certificate"] = certificate
    with pytest.raises(InvalidTypeError, match=named):
        TLSOptions.client(**kwargs)


def test_server_needs_a_key_and_a_certificate_object():
    with pytest.raises(InvalidTypeError, match="CryptoKey and an X509Certificate"):
        TLSOptions.server("key.pem", "cert.pem")  # type: ignore[arg-type]


@pytest.mark.parametrize("path", [None, 5, b"/x"])
def test_load_needs_a_path(path: object) -> None:
    with pytest.raises(InvalidTypeError, match="path"):
        X509Certificate().load(path)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="path"):
        CryptoKey().load(path)  # type: ignore[arg-type]


def test_a_path_with_nul_cannot_be_opened():
    assert X509Certificate().load("a\0b") == Error.ERR_FILE_CANT_OPEN
    assert CryptoKey().load("a\0b") == Error.ERR_FILE_CANT_OPEN


@pytest.mark.parametrize("text", [None, b"-----BEGIN CERTIFICATE-----", 5])
def test_load_from_string_needs_text(text: object) -> None:
    with pytest.raises(InvalidTypeError):
        X509Certificate().load_from_string(text)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError):
        CryptoKey().load_from_string(text)  # type: ignore[arg-type]
