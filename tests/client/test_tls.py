"""HTTPClient over TLS: real handshakes on 127.0.0.1 against Python's stdlib ``ssl``.

Certificates come from trustme; pins and CRLs are computed independently with
cryptography. Every test checks the client's status and its ``Error`` codes, and for
failures the ``TLSHandshakeError`` reason.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time

import pytest
import trustme

from pollhttp import (
    Error,
    HTTPClient,
    Resolution,
    Status,
    StreamPeerTLS,
    TLSHandshakeError,
    TLSOptions,
)

from ..support.polling import fetch, poll_while_waiting, read_body
from ..support.servers import response, wait_for
from ..support.tls import (
    CloseNotify,
    Cut,
    Pause,
    Read,
    ReadRaw,
    Send,
    TLSServer,
    Wait,
    ca_certificate,
    chain_certificate,
    make_crl,
    private_key,
    serial_number,
    server_context,
    spki_pin,
    tls11_server_context,
    tls11_unavailable,
)

OK_BODY = b"hello over tls"
OK = [Read(), Send(response(body=OK_BODY))]


@pytest.fixture(scope="module")
def named_leaf(ca: trustme.CA) -> trustme.LeafCert:
    """A certificate for other.test only."""
    return ca.issue_cert("other.test")


@pytest.fixture
def client(client: HTTPClient) -> HTTPClient:
    """The shared client (tests/conftest.py), with a connect timeout of 5 s."""
    client.connect_timeout = 5.0
    return client


def trusting(ca: trustme.CA, **kwargs: object) -> TLSOptions:
    return TLSOptions.client(ca_certificate(ca), **kwargs)  # type: ignore[arg-type]


def connect_tls(client: HTTPClient, host: str, port: int, options: TLSOptions | None) -> None:
    """Connect and assert the handshake succeeded (the status is CONNECTED)."""
    assert client.connect_to_host(host, port, options) == Error.OK
    poll_while_waiting(client)
    assert client.get_status() == Status.STATUS_CONNECTED, client.get_last_error()
    assert isinstance(client.get_connection(), StreamPeerTLS)


def get_ok(client: HTTPClient) -> None:
    assert fetch(client, "/") == OK_BODY
    assert client.get_response_code() == 200


def handshake_fails(
    client: HTTPClient, host: str, port: int, options: TLSOptions | None = None
) -> str:
    """Connect, expect a failed handshake with sticky errors; return the reason."""
    assert client.connect_to_host(host, port, options) == Error.OK
    poll_while_waiting(client)
    assert client.get_status() == Status.STATUS_TLS_HANDSHAKE_ERROR, client.get_last_error()
    for _ in range(3):
        assert client.poll() == Error.ERR_CANT_CONNECT
        assert client.get_status() == Status.STATUS_TLS_HANDSHAKE_ERROR
    error = client.get_last_error()
    assert isinstance(error, TLSHandshakeError)
    assert error.code == Error.ERR_CANT_CONNECT
    assert error.reason
    assert error.reason in str(error)
    return error.reason


def poll_while_connected(client: HTTPClient, timeout: float = 2.0) -> None:
    """Poll an idle connection until its status changes (bounded, with a short report)."""
    deadline = time.monotonic() + timeout
    polls = 0
    while client.get_status() == Status.STATUS_CONNECTED:
        assert time.monotonic() < deadline, f"still CONNECTED after {polls} polls"
        assert client.poll() == Error.OK
        polls += 1
        connection = client.get_connection()
        if connection is not None:
            connection.wait(readable=True, timeout=0.01)


# -- success and the basics ------------------------------------------------------------------


def test_trusted_ca_handshake_and_get(client, ca, leaf):
    with TLSServer([OK], server_context(leaf=leaf)) as server:
        connect_tls(client, "127.0.0.1", server.port, trusting(ca))
        get_ok(client)
        assert client.get_status() == Status.STATUS_CONNECTED
        client.close()
    assert server.handshakes == 1
    assert server.requests[0].startswith(b"GET / HTTP/1.1\r\n")
    # The client named the IP: no SNI (RFC 6066 §3 forbids IP literals there).
    assert server.server_names == [None]


def test_https_prefix_with_explicit_options(client, ca, leaf):
    with TLSServer([OK], server_context(leaf=leaf)) as server:
        connect_tls(client, "https://127.0.0.1", server.port, trusting(ca))
        get_ok(client)


def test_https_prefix_uses_port_443_and_host_header_omits_it(ca, named_leaf):
    asked: list[tuple[str, int]] = []
    with TLSServer([OK], server_context(leaf=named_leaf)) as server:

        def resolver(host: str, port: int) -> Resolution:
            asked.append((host, port))
            return Resolution.finished([("127.0.0.1", server.port)])

        client = HTTPClient(resolver=resolver)
        try:
            connect_tls(client, "https://other.test", -1, trusting(ca))
            get_ok(client)
        finally:
            client.close()
    assert asked == [("other.test", 443)]
    assert b"\r\nHost: other.test\r\n" in server.requests[0]
    assert server.server_names == ["other.test"]


def test_tls_options_without_prefix_also_default_to_443(ca, named_leaf):
    asked: list[tuple[str, int]] = []
    with TLSServer([OK], server_context(leaf=named_leaf)) as server:

        def resolver(host: str, port: int) -> Resolution:
            asked.append((host, port))
            return Resolution.finished([("127.0.0.1", server.port)])

        client = HTTPClient(resolver=resolver)
        try:
            connect_tls(client, "other.test", -1, trusting(ca))
            get_ok(client)
        finally:
            client.close()
    assert asked == [("other.test", 443)]
    assert b"\r\nHost: other.test\r\n" in server.requests[0]


def test_host_header_has_the_port_when_it_is_not_443(client, ca, leaf):
    with TLSServer([OK], server_context(leaf=leaf)) as server:
        connect_tls(client, "https://127.0.0.1", server.port, trusting(ca))
        get_ok(client)
    assert f"\r\nHost: 127.0.0.1:{server.port}\r\n".encode() in server.requests[0]


# -- verification failures -------------------------------------------------------------------


def test_unknown_ca_fails(client, other_ca, leaf):
    with TLSServer([OK], server_context(leaf=leaf)) as server:
        reason = handshake_fails(client, "127.0.0.1", server.port, trusting(other_ca))
    assert re.search(r"local issuer|unknown ca|unable to get issuer", reason, re.I), reason
    assert server.requests == []


def test_default_store_does_not_know_a_test_ca(client, leaf):
    with TLSServer([OK], server_context(leaf=leaf)) as server:
        reason = handshake_fails(client, "https://127.0.0.1", server.port)
    assert re.search(r"local issuer|unknown ca|unable to get issuer", reason, re.I), reason
    assert server.requests == []


def test_wrong_name_fails(client, ca, named_leaf):
    with TLSServer([OK], server_context(leaf=named_leaf)) as server:
        reason = handshake_fails(client, "127.0.0.1", server.port, trusting(ca))
    assert "mismatch" in reason.lower(), reason
    assert server.requests == []


def test_common_name_override_verifies_and_sends_that_name(client, ca, named_leaf):
    options = trusting(ca, common_name_override="other.test")
    with TLSServer([OK], server_context(leaf=named_leaf)) as server:
        connect_tls(client, "127.0.0.1", server.port, options)
        get_ok(client)
    assert server.server_names == ["other.test"]
    # The Host header still names the host connected to.
    assert f"\r\nHost: 127.0.0.1:{server.port}\r\n".encode() in server.requests[0]


def test_expired_certificate_fails(client, ca):
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
    expired = ca.issue_cert("127.0.0.1", not_before=past - dt.timedelta(days=30), not_after=past)
    with TLSServer([OK], server_context(leaf=expired)) as server:
        reason = handshake_fails(client, "127.0.0.1", server.port, trusting(ca))
    assert "expired" in reason.lower(), reason


@pytest.fixture(scope="module")
def self_signed() -> trustme.CA:
    """A CA whose own (self-signed) certificate the server presents."""
    return trustme.CA()


def self_signed_context(own: trustme.CA):
    return server_context(own.cert_pem, own.private_key_pem)


def test_self_signed_fails_with_client(client, self_signed):
    with TLSServer([OK], self_signed_context(self_signed)) as server:
        reason = handshake_fails(client, "https://127.0.0.1", server.port)
    assert re.search(r"self[- ]signed|local issuer", reason, re.I), reason


def test_self_signed_succeeds_with_client_unsafe_and_sends_no_sni(client, self_signed):
    with TLSServer([OK], self_signed_context(self_signed)) as server:
        connect_tls(client, "https://localhost", server.port, TLSOptions.client_unsafe())
        get_ok(client)
    assert server.server_names == [None]


def test_client_unsafe_sends_no_sni_for_a_name(ca, named_leaf):
    """Even with a host name to send, unsafe clients send no SNI and check no name."""
    with TLSServer([OK], server_context(leaf=named_leaf)) as server:
        client = HTTPClient(
            resolver=lambda _h, _p: Resolution.finished([("127.0.0.1", server.port)])
        )
        try:
            connect_tls(client, "wrong.test", 8443, TLSOptions.client_unsafe(ca_certificate(ca)))
            get_ok(client)
        finally:
            client.close()
    assert server.server_names == [None]


def test_client_unsafe_with_a_wrong_ca_fails(client, other_ca, leaf):
    options = TLSOptions.client_unsafe(ca_certificate(other_ca))
    with TLSServer([OK], server_context(leaf=leaf)) as server:
        reason = handshake_fails(client, "127.0.0.1", server.port, options)
    assert re.search(r"local issuer|unknown ca|unable to get issuer", reason, re.I), reason


def test_tls_1_1_server_is_refused(client, ca, leaf):
    why = tls11_unavailable(leaf)
    if why is not None:
        pytest.skip(f"this OpenSSL cannot serve TLS 1.1: {why}")
    with TLSServer([OK], tls11_server_context(leaf)) as server:
        reason = handshake_fails(client, "127.0.0.1", server.port, trusting(ca))
    assert re.search(r"protocol|version", reason, re.I), reason
    assert server.handshakes == 0
    assert server.requests == []


# -- pins ------------------------------------------------------------------------------------


def test_matching_pin_succeeds(client, ca, leaf):
    options = trusting(ca, pins=[spki_pin(leaf.cert_chain_pems[0])])
    with TLSServer([OK], server_context(leaf=leaf)) as server:
        connect_tls(client, "127.0.0.1", server.port, options)
        get_ok(client)


def test_one_of_several_pins_is_enough(client, ca, leaf, other_ca):
    other = other_ca.issue_cert("127.0.0.1")
    pins = [spki_pin(other.cert_chain_pems[0]), spki_pin(leaf.cert_chain_pems[0])]
    with TLSServer([OK], server_context(leaf=leaf)) as server:
        connect_tls(client, "127.0.0.1", server.port, trusting(ca, pins=pins))
        get_ok(client)


def test_other_pin_fails(client, ca, leaf):
    # The CA's key is in the verified chain, but the pin is for the leaf's key.
    options = trusting(ca, pins=[spki_pin(ca.cert_pem)])
    with TLSServer([OK], server_context(leaf=leaf)) as server:
        reason = handshake_fails(client, "127.0.0.1", server.port, options)
    assert "pin" in reason.lower(), reason
    assert server.requests == []


def test_get_spki_pin_matches_an_independent_computation(leaf, ca):
    assert chain_certificate(leaf).get_spki_pin() == spki_pin(leaf.cert_chain_pems[0])
    assert ca_certificate(ca).get_spki_pin() == spki_pin(ca.cert_pem)
    assert spki_pin(leaf.cert_chain_pems[0]) != spki_pin(ca.cert_pem)


# -- revocation ------------------------------------------------------------------------------


def test_revoked_leaf_fails(client, ca):
    revoked = ca.issue_cert("127.0.0.1")
    crl = make_crl(ca, [serial_number(revoked.cert_chain_pems[0])])
    with TLSServer([OK], server_context(leaf=revoked)) as server:
        reason = handshake_fails(client, "127.0.0.1", server.port, trusting(ca, crls=crl))
    assert "revoked" in reason.lower(), reason


def test_crl_not_listing_the_leaf_succeeds(client, ca, leaf):
    other = ca.issue_cert("127.0.0.1")
    crl = make_crl(ca, [serial_number(other.cert_chain_pems[0])])
    assert serial_number(other.cert_chain_pems[0]) != serial_number(leaf.cert_chain_pems[0])
    with TLSServer([OK], server_context(leaf=leaf)) as server:
        connect_tls(client, "127.0.0.1", server.port, trusting(ca, crls=crl))
        get_ok(client)


# -- mutual TLS ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client_ca() -> trustme.CA:
    return trustme.CA()


def test_mutual_tls_without_a_client_certificate_fails(client, ca, leaf, client_ca):
    context = server_context(leaf=leaf, client_ca=client_ca)
    with TLSServer([OK], context) as server:
        assert client.connect_to_host("127.0.0.1", server.port, trusting(ca)) == Error.OK
        poll_while_waiting(client)
        if client.get_status() == Status.STATUS_CONNECTED:
            # TLS 1.3: the server checks the client's certificate after the client is
            # done, and its alert arrives with the first read: the look at the idle
            # connection before the request, or the read of the response.
            if client.request(HTTPClient.METHOD_GET, "/", []) == Error.OK:
                poll_while_waiting(client)
                read_body(client)
            status = client.get_status()
            assert status == Status.STATUS_CONNECTION_ERROR, client.get_last_error()
            assert client.poll() == Error.ERR_CONNECTION_ERROR
        else:
            assert client.get_status() == Status.STATUS_TLS_HANDSHAKE_ERROR
            assert client.poll() == Error.ERR_CANT_CONNECT
        assert client.get_response_code() != 200
        assert client.get_last_error() is not None
        assert re.search(r"certificate", str(client.get_last_error()), re.I)
    assert server.requests == []
    assert server.peer_certs == []
    assert len(server.handshake_errors) == 1


def test_mutual_tls_with_a_client_certificate_succeeds(client, ca, leaf, client_ca):
    mine = client_ca.issue_cert("client.test", common_name="pollhttp test client")
    options = TLSOptions.client(
        ca_certificate(ca),
        certificate=chain_certificate(mine),
        key=private_key(mine.private_key_pem),
    )
    context = server_context(leaf=leaf, client_ca=client_ca)
    with TLSServer([OK], context) as server:
        connect_tls(client, "127.0.0.1", server.port, options)
        get_ok(client)
    assert server.handshake_errors == []
    [peer] = server.peer_certs
    subject = {name: value for rdn in peer["subject"] for name, value in rdn}  # type: ignore[attr-defined]
    assert subject["commonName"] == "pollhttp test client"


# -- a silent server, a cut handshake -------------------------------------------------------


def test_silent_server_times_out_without_blocking_poll(client, ca):
    client.connect_timeout = 0.5
    with TLSServer([[Pause(30)]]) as server:
        start = time.monotonic()
        assert client.connect_to_host("127.0.0.1", server.port, trusting(ca)) == Error.OK
        longest = 0.0
        calls = 0
        while client.get_status() == Status.STATUS_CONNECTING:
            assert time.monotonic() - start < 5, "the handshake never timed out"
            before = time.perf_counter()
            result = client.poll()
            longest = max(longest, time.perf_counter() - before)
            calls += 1
            if client.get_status() == Status.STATUS_CONNECTING:
                assert result == Error.OK
                # Sleep on the socket (not a blind sleep): wakes if the server speaks.
                connection = client.get_connection()
                assert connection is not None
                connection.wait(readable=True, timeout=0.005)
        elapsed = time.monotonic() - start
        assert result == Error.ERR_CANT_CONNECT
    assert client.get_status() == Status.STATUS_TLS_HANDSHAKE_ERROR
    assert calls > 10
    # Blocking on the silent server would take the whole 0.5 s connect_timeout.
    assert longest < 0.2, f"a poll() took {longest * 1000:.1f} ms"
    assert 0.45 <= elapsed < 3.0, elapsed
    error = client.get_last_error()
    assert isinstance(error, TLSHandshakeError)
    assert "timed out" in error.reason
    assert client.poll() == Error.ERR_CANT_CONNECT


def test_silent_server_blocking_mode_waits_in_the_kernel(client, ca):
    client.connect_timeout = 0.5
    client.set_blocking_mode(True)
    with TLSServer([[Pause(30)]]) as server:
        wall_start, cpu_start = time.monotonic(), time.thread_time()
        assert client.connect_to_host("127.0.0.1", server.port, trusting(ca)) == Error.OK
        for _ in range(10):
            if client.get_status() != Status.STATUS_CONNECTING:
                break
            client.poll()
        wall = time.monotonic() - wall_start
        cpu = time.thread_time() - cpu_start
    assert client.get_status() == Status.STATUS_TLS_HANDSHAKE_ERROR
    error = client.get_last_error()
    assert isinstance(error, TLSHandshakeError)
    assert "timed out" in error.reason
    assert 0.45 <= wall < 3.0, wall
    assert cpu < wall / 4, f"{cpu:.3f} s CPU in {wall:.3f} s"


@pytest.mark.parametrize(
    "script",
    [[Cut()], [ReadRaw(), Cut()]],
    ids=["close-after-accept", "close-after-client-hello"],
)
def test_cut_handshake_fails_with_a_reason(client, ca, script):
    with TLSServer([script]) as server:
        reason = handshake_fails(client, "127.0.0.1", server.port, trusting(ca))
    assert re.search(r"eof|closed|reset|lost", reason, re.I), reason


# -- how a response ends ---------------------------------------------------------------------

CLOSE_DELIMITED = response(headers=["Connection: close"], body=b"x" * 100_000, length=False)


def test_close_notify_ends_a_close_delimited_body(client, ca, leaf):
    with TLSServer(
        [[Read(), Send(CLOSE_DELIMITED), CloseNotify()]], server_context(leaf=leaf)
    ) as s:
        connect_tls(client, "127.0.0.1", s.port, trusting(ca))
        body = fetch(client, "/", timeout=2)
        assert client.get_status() == Status.STATUS_DISCONNECTED, client.get_last_error()
    assert client.get_response_code() == 200
    assert body == b"x" * 100_000


def test_tcp_cut_of_a_close_delimited_body_is_truncation(client, ca, leaf):
    with TLSServer([[Read(), Send(CLOSE_DELIMITED), Cut()]], server_context(leaf=leaf)) as s:
        connect_tls(client, "127.0.0.1", s.port, trusting(ca))
        body = fetch(client, "/")
        assert client.get_status() == Status.STATUS_CONNECTION_ERROR
        assert client.poll() == Error.ERR_CONNECTION_ERROR
    assert body == b"x" * 100_000
    message = str(client.get_last_error())
    assert re.search(r"close_notify|truncated", message), message


def test_tcp_cut_after_a_content_length_body_is_success(client, ca, leaf):
    with TLSServer([[*OK, Cut()]], server_context(leaf=leaf)) as server:
        connect_tls(client, "127.0.0.1", server.port, trusting(ca))
        get_ok(client)
        assert client.get_status() == Status.STATUS_CONNECTED
        # The idle connection's cut is a close, not an error.
        poll_while_connected(client)
        assert client.get_status() == Status.STATUS_DISCONNECTED, client.get_last_error()
    assert client.get_response_code() == 200


# -- keep-alive ------------------------------------------------------------------------------


def test_twenty_requests_on_one_tls_connection(client, ca, leaf):
    script = [step for i in range(20) for step in (Read(), Send(response(body=b"%d" % i)))]
    with TLSServer([script], server_context(leaf=leaf)) as server:
        connect_tls(client, "127.0.0.1", server.port, trusting(ca))
        for i in range(20):
            assert fetch(client, f"/{i}") == b"%d" % i
            assert client.get_status() == Status.STATUS_CONNECTED
        client.close()
        wait_for(lambda: server.endings)
    assert server.connections == 1
    assert server.handshakes == 1
    assert len(server.requests) == 20
    # close() ended the session politely.
    assert server.endings == ["close_notify"]


def test_idle_connection_closed_with_close_notify_is_noticed(client, ca, leaf):
    go = threading.Event()
    with TLSServer([[*OK, Wait(go), CloseNotify()]], server_context(leaf=leaf)) as server:
        connect_tls(client, "127.0.0.1", server.port, trusting(ca))
        get_ok(client)
        for _ in range(5):
            assert client.poll() == Error.OK
            assert client.get_status() == Status.STATUS_CONNECTED
        go.set()
        poll_while_connected(client)
        assert client.get_status() == Status.STATUS_DISCONNECTED, client.get_last_error()
        assert client.poll() == Error.ERR_UNCONFIGURED
    assert server.connections == 1
