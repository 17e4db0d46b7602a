"""Conformance: TLS and connection reuse (ecosystem.md §3.3 cases 37-41).

The servers are Python's stdlib ``ssl`` (tests/support/tls.py), never pollhttp's TLS code;
certificates come from trustme. Each row runs through HTTPClient (status, ``Error``, the
``TLSHandshakeError`` reason) and through HTTPRequest (``Result``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from pollhttp import (
    Error,
    HTTPClient,
    Resolution,
    Result,
    Status,
    TLSHandshakeError,
    TLSOptions,
)

from ..support.servers import Read as PlainRead
from ..support.servers import ScriptedServer, response
from ..support.servers import Send as PlainSend
from ..support.tls import (
    Read,
    Send,
    TLSServer,
    ca_certificate,
    chain_certificate,
    private_key,
    server_context,
    tls11_server_context,
    tls11_unavailable,
)
from .harness import complete, make_request

BODY = b"over tls"
OK = [Read(), Send(response(body=BODY))]


@dataclass
class Certs:
    ca: trustme.CA
    other_ca: trustme.CA
    good: trustme.LeafCert  # 127.0.0.1 and localhost, from ca
    named: trustme.LeafCert  # other.test only
    a_test: trustme.LeafCert  # a.test only
    expired: trustme.LeafCert
    foreign: trustme.LeafCert  # 127.0.0.1, from other_ca
    client_leaf: trustme.LeafCert


@pytest.fixture(scope="module")
def certs() -> Certs:
    ca, other = trustme.CA(), trustme.CA()
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
    return Certs(
        ca,
        other,
        ca.issue_cert("127.0.0.1", "localhost"),
        ca.issue_cert("other.test"),
        ca.issue_cert("a.test"),
        ca.issue_cert("127.0.0.1", not_after=past),
        other.issue_cert("127.0.0.1"),
        ca.issue_cert("client@example.test"),
    )


@dataclass(frozen=True)
class TLSRow:
    server: Callable[[Certs], object]  # the server's ssl context
    options: Callable[[Certs], TLSOptions]
    reason: str | None  # None: success; else a fragment of the handshake error's reason


def tls_row(case_id: str, title: str, server, options, reason: str | None):
    return pytest.param(TLSRow(server, options, reason), id=f"{case_id}-{title}")


def trusting(which: str, override: str = "") -> Callable[[Certs], TLSOptions]:
    def make(c: Certs) -> TLSOptions:
        chain = ca_certificate(c.ca if which == "ca" else c.other_ca)
        return TLSOptions.client(chain, override)

    return make


def serving(name: str) -> Callable[[Certs], object]:
    return lambda c: server_context(leaf=getattr(c, name))


TLS_ROWS = [
    tls_row("E37", "hostname-mismatch", serving("named"), trusting("ca"), "IP address mismatch"),
    tls_row("E37b", "expired", serving("expired"), trusting("ca"), "certificate has expired"),
    tls_row(
        "E37c",
        "self-signed-without-custom-ca",
        lambda c: server_context(c.ca.cert_pem, c.ca.private_key_pem),
        lambda c: TLSOptions.client(),
        "self-signed certificate",
    ),
    tls_row(
        "E37d",
        "unknown-issuer-with-default-trust",
        serving("foreign"),
        lambda c: TLSOptions.client(),
        "unable to get local issuer certificate",
    ),
    tls_row(
        "E37e",
        "issuer-outside-the-custom-ca",
        serving("foreign"),
        trusting("ca"),
        "unable to get local issuer certificate",
    ),
    tls_row("E37f", "valid-certificate", serving("good"), trusting("ca"), None),
    tls_row(
        "E38", "common-name-override-matches", serving("a_test"), trusting("ca", "a.test"), None
    ),
    tls_row(
        "E38b",
        "common-name-override-differs",
        serving("a_test"),
        trusting("ca", "b.test"),
        "Hostname mismatch",
    ),
    tls_row(
        "E38c",
        "no-override-checks-the-ip",
        serving("a_test"),
        trusting("ca"),
        "IP address mismatch",
    ),
    tls_row(
        "E41",
        "tls-1.1-only-server",
        lambda c: tls11_server_context(c.good),
        trusting("ca"),
        "protocol version",
    ),
]


def _check_tls11(request: pytest.FixtureRequest, certs: Certs) -> None:
    if "E41" in request.node.name:
        reason = tls11_unavailable(certs.good)
        if reason is not None:
            pytest.skip(f"this OpenSSL cannot serve TLS 1.1: {reason}")


@pytest.mark.parametrize("row", TLS_ROWS)
def test_tls_client(row: TLSRow, certs: Certs, request: pytest.FixtureRequest) -> None:
    _check_tls11(request, certs)
    with TLSServer([OK], row.server(certs)) as server:  # type: ignore[arg-type]
        client = HTTPClient()
        client.connect_timeout = 3.0
        try:
            options = row.options(certs)
            assert client.connect_to_host("127.0.0.1", server.port, options) == Error.OK
            polls = _poll_connecting(client)
            if row.reason is None:
                assert client.get_status() == Status.STATUS_CONNECTED, client.get_last_error()
                assert set(polls) == {Error.OK}
                assert _get(client) == BODY
            else:
                assert client.get_status() == Status.STATUS_TLS_HANDSHAKE_ERROR
                assert polls[-1] == Error.ERR_CANT_CONNECT
                error = client.get_last_error()
                assert isinstance(error, TLSHandshakeError)
                assert row.reason in error.reason, error.reason
                for _ in range(2):  # sticky
                    assert client.poll() == Error.ERR_CANT_CONNECT
                assert client.request(HTTPClient.METHOD_GET, "/", []) == Error.ERR_INVALID_PARAMETER
        finally:
            client.close()
    assert len(server.requests) == (1 if row.reason is None else 0)


@pytest.mark.parametrize("row", TLS_ROWS)
def test_tls_request(row: TLSRow, certs: Certs, request: pytest.FixtureRequest) -> None:
    _check_tls11(request, certs)
    with TLSServer([OK], row.server(certs)) as server:  # type: ignore[arg-type]
        run = make_request()
        run.req.set_tls_options(row.options(certs))
        try:
            assert run.req.request(f"https://127.0.0.1:{server.port}/") == Error.OK
            result, code, headers, body = complete(run)
        finally:
            run.req.close()
    if row.reason is None:
        assert (result, code, body) == (Result.RESULT_SUCCESS, 200, BODY)
    else:
        assert (result, code, headers, body) == (Result.RESULT_TLS_HANDSHAKE_ERROR, 0, [], b"")
        error = run.req.get_last_error()
        assert isinstance(error, TLSHandshakeError)
        assert row.reason in error.reason


# -- 40: a custom CA replaces the system store ----------------------------------------------------


@pytest.fixture
def system_store_is_other_ca(certs: Certs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``other_ca`` the "system" store (OpenSSL reads SSL_CERT_FILE when loading it)."""
    bundle = tmp_path / "system.pem"
    bundle.write_bytes(certs.other_ca.cert_pem.bytes())
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "none"))


@pytest.mark.parametrize(
    ("trust", "succeeds"),
    [
        pytest.param("default", True, id="E40-default-trust-uses-the-system-store"),
        pytest.param("ca", False, id="E40b-custom-ca-replaces-the-system-store"),
        pytest.param("other", True, id="E40c-custom-ca-that-issued-it"),
    ],
)
def test_E40_custom_ca_replaces_the_system_store(
    certs: Certs, system_store_is_other_ca: None, trust: str, succeeds: bool
) -> None:
    options = (
        TLSOptions.client()
        if trust == "default"
        else TLSOptions.client(ca_certificate(certs.ca if trust == "ca" else certs.other_ca))
    )
    with TLSServer([OK], server_context(leaf=certs.foreign)) as server:
        client = HTTPClient()
        client.connect_timeout = 3.0
        try:
            assert client.connect_to_host("127.0.0.1", server.port, options) == Error.OK
            _poll_connecting(client)
            expected = Status.STATUS_CONNECTED if succeeds else Status.STATUS_TLS_HANDSHAKE_ERROR
            assert client.get_status() == expected, client.get_last_error()
        finally:
            client.close()
        run = make_request()
        run.req.set_tls_options(options)
        try:
            assert run.req.request(f"https://127.0.0.1:{server.port}/") == Error.OK
            result = complete(run)[0]
        finally:
            run.req.close()
    assert result == (Result.RESULT_SUCCESS if succeeds else Result.RESULT_TLS_HANDSHAKE_ERROR)


# -- 39: what a kept-alive connection may be reused for -------------------------------------------


def _same(c: Certs, base: TLSOptions) -> TLSOptions:
    return base


SUCCESS, HANDSHAKE_ERROR = Result.RESULT_SUCCESS, Result.RESULT_TLS_HANDSHAKE_ERROR
REUSE_ROWS = [
    pytest.param(_same, 1, SUCCESS, id="E39-same-options-reuse"),
    pytest.param(
        lambda c, base: TLSOptions.client(ca_certificate(c.ca)),
        2,
        SUCCESS,
        id="E39b-other-options-object",
    ),
    pytest.param(
        lambda c, base: TLSOptions.client(ca_certificate(c.ca), "localhost"),
        2,
        SUCCESS,
        id="E39c-common-name-override",
    ),
    pytest.param(
        lambda c, base: TLSOptions.client_unsafe(), 2, SUCCESS, id="E39d-unsafe-verify-mode"
    ),
    pytest.param(
        lambda c, base: TLSOptions.client(
            ca_certificate(c.ca),
            certificate=chain_certificate(c.client_leaf),
            key=private_key(c.client_leaf.private_key_pem),
        ),
        2,
        SUCCESS,
        id="E39e-client-certificate",
    ),
    # The new connection is verified with the new options, which do not trust the server.
    pytest.param(
        lambda c, base: TLSOptions.client(ca_certificate(c.other_ca)),
        2,
        HANDSHAKE_ERROR,
        id="E39f-ca-set",
    ),
]


@pytest.mark.parametrize(("change", "connections", "expected"), REUSE_ROWS)
def test_E39_reuse_key_includes_tls_options(
    certs: Certs, change, connections: int, expected: Result
) -> None:
    base = TLSOptions.client(ca_certificate(certs.ca))
    second = change(certs, base)
    script = [Read(), Send(response(body=BODY))] * 2
    with TLSServer([script], server_context(leaf=certs.good)) as server:
        run = make_request()
        try:
            run.req.set_tls_options(base)
            url = f"https://127.0.0.1:{server.port}/"
            assert run.req.request(url) == Error.OK
            assert complete(run)[0] == SUCCESS
            run.req.set_tls_options(second)
            assert run.req.request(url) == Error.OK
            result = complete(run, count=2)
        finally:
            run.req.close()
    assert server.connections == connections
    assert result[0] == expected, run.req.get_last_error()


def test_E39g_reuse_key_includes_host_and_proxy() -> None:
    """A kept-alive connection is not reused for another host name, another proxy, or
    other proxy credentials, even when they lead to the same server."""
    answer = response(body=b"ok")
    with ScriptedServer([[PlainRead(), PlainSend(answer)] * 4]) as server:

        def resolver(host: str, port: int) -> Resolution:
            return Resolution.finished([("127.0.0.1", server.port)])

        run = make_request(resolver=resolver)
        try:
            for url in (f"http://a.test:{server.port}/", f"http://b.test:{server.port}/"):
                assert run.req.request(url) == Error.OK
                assert complete(run, count=len(run.completions) + 1)[0] == Result.RESULT_SUCCESS
            assert server.connections == 2
            run.req.set_http_proxy("127.0.0.1", server.port, username="u1", password="p")
            for _ in range(2):
                assert run.req.request(f"http://b.test:{server.port}/") == Error.OK
                assert complete(run, count=len(run.completions) + 1)[0] == Result.RESULT_SUCCESS
            assert server.connections == 3  # the proxy is a new connection, then reused
            run.req.set_http_proxy("127.0.0.1", server.port, username="u2", password="p")
            assert run.req.request(f"http://b.test:{server.port}/") == Error.OK
            assert complete(run, count=len(run.completions) + 1)[0] == Result.RESULT_SUCCESS
            assert server.connections == 4
        finally:
            run.req.close()


def test_E39h_client_has_no_pool(certs: Certs) -> None:
    """HTTPClient keeps no pool: every connect_to_host() is a new connection and handshake."""
    with TLSServer([OK], server_context(leaf=certs.good)) as server:
        for options in (TLSOptions.client(ca_certificate(certs.ca)), TLSOptions.client_unsafe()):
            client = HTTPClient()
            client.connect_timeout = 3.0
            try:
                assert client.connect_to_host("127.0.0.1", server.port, options) == Error.OK
                _poll_connecting(client)
                assert _get(client) == BODY
            finally:
                client.close()
        deadline = time.monotonic() + 2
        while server.handshakes < 2:
            assert time.monotonic() < deadline
            time.sleep(0.005)
    assert server.connections == 2


# -- helpers --------------------------------------------------------------------------------------


def _poll_connecting(client: HTTPClient, timeout: float = 5.0) -> list[Error]:
    polls = []
    deadline = time.monotonic() + timeout
    while client.get_status() in (Status.STATUS_RESOLVING, Status.STATUS_CONNECTING):
        assert time.monotonic() < deadline, client.get_status()
        polls.append(client.poll())
        client.wait(0.05)
    return polls


def _get(client: HTTPClient) -> bytes:
    assert client.request(HTTPClient.METHOD_GET, "/", []) == Error.OK
    deadline = time.monotonic() + 5.0
    body = b""
    while client.get_status() in (Status.STATUS_REQUESTING, Status.STATUS_BODY):
        assert time.monotonic() < deadline
        client.poll()
        piece = client.read_response_body_chunk()
        body += piece
        if not piece and client.get_status() in (Status.STATUS_REQUESTING, Status.STATUS_BODY):
            client.wait(0.02)
    return body
