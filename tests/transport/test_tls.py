"""StreamPeerTLS, TLSOptions, X509Certificate and CryptoKey, without HTTPClient.

The other end is always Python's stdlib ``ssl`` (a `TLSServer`, or an ``SSLSocket`` client
on a thread), so each handshake is checked by an implementation that is not pollhttp's.
"""

from __future__ import annotations

import os
import random
import socket
import ssl
import stat
import time
from collections.abc import Callable, Iterator

import pytest
import trustme

from pollhttp import (
    CryptoKey,
    Error,
    InvalidParameterError,
    StreamPeerTCP,
    StreamPeerTLS,
    TLSHandshakeError,
    TLSOptions,
    X509Certificate,
)

from ..support.scripted_peer import ScriptedStreamPeer
from ..support.servers import wait_for
from ..support.tls import (
    Echo,
    Pause,
    SocketStreamPeer,
    ThreadResult,
    TLSServer,
    ca_certificate,
    chain_certificate,
    private_key,
    server_context,
)

DISCONNECTED = StreamPeerTLS.STATUS_DISCONNECTED
HANDSHAKING = StreamPeerTLS.STATUS_HANDSHAKING
CONNECTED = StreamPeerTLS.STATUS_CONNECTED
ERROR = StreamPeerTLS.STATUS_ERROR
HOSTNAME_MISMATCH = StreamPeerTLS.STATUS_ERROR_HOSTNAME_MISMATCH


@pytest.fixture(scope="module")
def leaf(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("localhost", "127.0.0.1")


@pytest.fixture
def streams() -> Iterator[list[StreamPeerTLS | StreamPeerTCP]]:
    """Peers made by a test, closed at the end whatever happened."""
    made: list[StreamPeerTLS | StreamPeerTCP] = []
    yield made
    for peer in made:
        peer.close()


def until(condition: Callable[[], bool], peer: StreamPeerTLS, timeout: float = 5.0) -> int:
    """Poll ``peer`` (sleeping on its socket between polls) until ``condition()``; bounded."""
    deadline = time.monotonic() + timeout
    polls = 0
    while not condition():
        assert time.monotonic() < deadline, f"not done after {polls} polls; {peer.get_status()!r}"
        peer.poll()
        polls += 1
        if not condition():
            peer.wait(readable=True, timeout=0.02)
    return polls


def tcp_to(port: int, streams: list) -> StreamPeerTCP:
    tcp = StreamPeerTCP()
    streams.append(tcp)
    assert tcp.connect_to_host("127.0.0.1", port) == Error.OK
    deadline = time.monotonic() + 5
    while tcp.get_status() == StreamPeerTCP.STATUS_CONNECTING:
        assert time.monotonic() < deadline
        tcp.wait(readable=False, writable=True, timeout=0.05)
        tcp.poll()
    assert tcp.get_status() == StreamPeerTCP.STATUS_CONNECTED, tcp.get_last_error()
    return tcp


def tls_to(port: int, streams: list, options: TLSOptions, name: str = "localhost") -> StreamPeerTLS:
    """connect_to_stream over a fresh TCP connection; the handshake is started, not done."""
    tcp = tcp_to(port, streams)
    tls = StreamPeerTLS()
    streams.append(tls)
    err = tls.connect_to_stream(tcp, name, options)
    # Usually the server has not answered yet (HANDSHAKING), but its answer may come
    # while connect_to_stream() polls once: then the handshake may already be decided.
    # (What it returns then is checked deterministically by
    # test_connect_to_stream_result_when_the_handshake_ends_at_once.)
    if tls.get_status() in (HANDSHAKING, CONNECTED):
        assert err == Error.OK, tls.get_last_error()
    else:
        assert err in (Error.OK, Error.ERR_CANT_CONNECT)
    assert tls.get_stream() is tcp
    return tls


def handshake(tls: StreamPeerTLS) -> None:
    until(lambda: tls.get_status() != HANDSHAKING, tls)


# -- status values and options ---------------------------------------------------------------


def test_status_values_match_godot():
    assert [int(s) for s in StreamPeerTLS.Status] == [0, 1, 2, 3, 4]
    assert (DISCONNECTED, HANDSHAKING, CONNECTED, ERROR, HOSTNAME_MISMATCH) == (0, 1, 2, 3, 4)
    assert [s.name for s in StreamPeerTLS.Status] == [
        "STATUS_DISCONNECTED",
        "STATUS_HANDSHAKING",
        "STATUS_CONNECTED",
        "STATUS_ERROR",
        "STATUS_ERROR_HOSTNAME_MISMATCH",
    ]
    fresh = StreamPeerTLS()
    assert fresh.get_status() == DISCONNECTED
    assert fresh.get_stream() is None
    assert fresh.fileno() == -1


def test_tls_options_cannot_be_constructed_directly():
    with pytest.raises(TypeError):
        TLSOptions()


def test_tls_options_getters(ca, leaf):
    trusted = ca_certificate(ca)
    client = TLSOptions.client(trusted, "name.test")
    assert not client.is_server()
    assert not client.is_unsafe_client()
    assert client.get_common_name_override() == "name.test"
    assert client.get_trusted_ca_chain() is trusted
    assert client.get_private_key() is None
    assert client.get_own_certificate() is None

    default = TLSOptions.client()
    assert default.get_trusted_ca_chain() is None
    assert default.get_common_name_override() == ""

    unsafe = TLSOptions.client_unsafe(trusted)
    assert unsafe.is_unsafe_client()
    assert not unsafe.is_server()
    assert unsafe.get_trusted_ca_chain() is trusted
    assert unsafe.get_common_name_override() == ""

    key, cert = private_key(leaf.private_key_pem), chain_certificate(leaf)
    server = TLSOptions.server(key, cert)
    assert server.is_server()
    assert not server.is_unsafe_client()
    assert server.get_private_key() is key
    assert server.get_own_certificate() is cert
    assert server.get_trusted_ca_chain() is None

    mutual = TLSOptions.client(trusted, certificate=cert, key=key)
    assert mutual.get_own_certificate() is cert
    assert mutual.get_private_key() is key


def test_tls_options_reject_half_a_client_identity(leaf):
    with pytest.raises(InvalidParameterError):
        TLSOptions.client(certificate=chain_certificate(leaf))
    with pytest.raises(InvalidParameterError):
        TLSOptions.client_unsafe(key=private_key(leaf.private_key_pem))


def test_server_options_need_a_loaded_key_and_certificate(leaf):
    with pytest.raises(InvalidParameterError):
        TLSOptions.server(private_key(leaf.private_key_pem), X509Certificate())
    with pytest.raises(InvalidParameterError):
        TLSOptions.server(CryptoKey(), chain_certificate(leaf))


def test_connect_to_stream_with_server_options_is_invalid(leaf):
    peer = ScriptedStreamPeer([])
    tls = StreamPeerTLS()
    options = TLSOptions.server(private_key(leaf.private_key_pem), chain_certificate(leaf))
    assert tls.connect_to_stream(peer, "localhost", options) == Error.ERR_INVALID_PARAMETER
    assert tls.get_status() == DISCONNECTED
    assert isinstance(tls.get_last_error(), InvalidParameterError)
    assert peer.written == b""


def test_accept_stream_with_client_options_is_invalid():
    peer = ScriptedStreamPeer([])
    tls = StreamPeerTLS()
    assert tls.accept_stream(peer, TLSOptions.client()) == Error.ERR_INVALID_PARAMETER
    assert tls.get_status() == DISCONNECTED
    assert isinstance(tls.get_last_error(), InvalidParameterError)
    assert peer.written == b""


# -- connect_to_stream against a stdlib server ------------------------------------------------


def test_handshaking_while_the_server_is_silent(streams, ca):
    with TLSServer([[Pause(30)]]) as server:
        tls = tls_to(server.port, streams, TLSOptions.client(ca_certificate(ca)))
        assert tls.get_status() == HANDSHAKING
        for _ in range(5):
            assert tls.poll() == Error.OK
            assert tls.get_status() == HANDSHAKING
        wait_for(lambda: server.connections == 1)
        tls.disconnect_from_stream()
        assert tls.get_status() == DISCONNECTED


@pytest.mark.timeout(15)
def test_echo_round_trip_of_one_mebibyte(streams, ca, leaf):
    data = random.Random(7).randbytes(1 << 20)
    with TLSServer([[Echo()]], server_context(leaf=leaf)) as server:
        tls = tls_to(server.port, streams, TLSOptions.client(ca_certificate(ca)))
        handshake(tls)
        assert tls.get_status() == CONNECTED, tls.get_last_error()
        received = bytearray()
        step = 64 * 1024
        for offset in range(0, len(data), step):
            chunk = data[offset : offset + step]
            assert tls.put_data(chunk) == Error.OK
            err, echoed = tls.get_data(len(chunk))
            assert err == Error.OK, tls.get_last_error()
            received += echoed
        assert bytes(received) == data
        assert tls.get_status() == CONNECTED
        tls.disconnect_from_stream()
        wait_for(lambda: server.endings)
    assert server.endings == ["close_notify"]


def test_partial_data_round_trip_without_blocking(streams, ca, leaf):
    data = bytes(range(256)) * 1024
    with TLSServer([[Echo()]], server_context(leaf=leaf)) as server:
        tls = tls_to(server.port, streams, TLSOptions.client(ca_certificate(ca)))
        handshake(tls)
        assert tls.get_status() == CONNECTED, tls.get_last_error()
        view = memoryview(data)
        received = bytearray()
        deadline = time.monotonic() + 5
        while len(received) < len(data):
            assert time.monotonic() < deadline, f"{len(received)} bytes back"
            if view:
                err, sent = tls.put_partial_data(view)
                assert err == Error.OK
                view = view[sent:]
            err, piece = tls.get_partial_data(16384)
            assert err == Error.OK, tls.get_last_error()
            received += piece
            if not piece:
                tls.wait(readable=True, writable=bool(view), timeout=0.02)
        assert bytes(received) == data


def test_disconnect_from_stream_sends_close_notify(streams, ca, leaf):
    with TLSServer([[Echo()]], server_context(leaf=leaf)) as server:
        tls = tls_to(server.port, streams, TLSOptions.client(ca_certificate(ca)))
        handshake(tls)
        assert tls.get_status() == CONNECTED
        tcp = tls.get_stream()
        tls.disconnect_from_stream()
        assert tls.get_status() == DISCONNECTED
        assert isinstance(tcp, StreamPeerTCP)
        assert tcp.get_status() == StreamPeerTCP.STATUS_NONE
        assert tls.get_partial_data(10)[0] != Error.OK
        assert tls.put_partial_data(b"x")[0] != Error.OK
        wait_for(lambda: server.endings)
    # The stdlib server read a close_notify (SSL_ERROR_ZERO_RETURN), not a bare EOF.
    assert server.endings == ["close_notify"]


def test_handshake_failure_is_error_and_closes_the_stream(streams, leaf):
    with TLSServer([[Echo()]], server_context(leaf=leaf)) as server:
        tls = tls_to(server.port, streams, TLSOptions.client(ca_certificate(trustme.CA())))
        handshake(tls)
        assert tls.get_status() == ERROR
        error = tls.get_last_error()
        assert isinstance(error, TLSHandshakeError)
        assert "issuer" in error.reason
        tcp = tls.get_stream()
        assert isinstance(tcp, StreamPeerTCP)
        assert tcp.get_status() == StreamPeerTCP.STATUS_NONE
        assert tls.put_partial_data(b"x")[0] != Error.OK
        wait_for(lambda: server.handshake_errors)


@pytest.mark.parametrize(
    ("host", "name"),
    [("other.test", "wrong.test"), ("other.test", "127.0.0.1")],
    ids=["host-name", "ip-address"],
)
def test_name_mismatch_has_its_own_status(streams, ca, host, name):
    mismatched = ca.issue_cert(host)
    with TLSServer([[Echo()]], server_context(leaf=mismatched)) as server:
        tls = tls_to(server.port, streams, TLSOptions.client(ca_certificate(ca)), name)
        handshake(tls)
        error = tls.get_last_error()
        assert isinstance(error, TLSHandshakeError)
        assert "mismatch" in error.reason.lower()
        assert tls.get_status() == HOSTNAME_MISMATCH, error.reason


@pytest.mark.parametrize(
    ("host", "trusted", "name", "status", "result"),
    [
        ("localhost", "ca", "localhost", CONNECTED, Error.OK),
        ("localhost", "other", "localhost", ERROR, Error.ERR_CANT_CONNECT),
        ("other.test", "ca", "wrong.test", HOSTNAME_MISMATCH, Error.ERR_CANT_CONNECT),
    ],
    ids=["success", "unknown-ca", "name-mismatch"],
)
def test_connect_to_stream_result_when_the_handshake_ends_at_once(
    ca, host, trusted, name, status, result
):
    """Over a stream whose reads wait for data, connect_to_stream() finishes the handshake.

    Its result must then say how the handshake ended, whatever the failure.
    """
    chain = ca_certificate(ca if trusted == "ca" else trustme.CA())
    with TLSServer([[Echo()]], server_context(leaf=ca.issue_cert(host))) as server:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        peer = SocketStreamPeer(sock, blocking=True)
        tls = StreamPeerTLS()
        try:
            err = tls.connect_to_stream(peer, name, TLSOptions.client(chain))
            assert tls.get_status() == status, tls.get_last_error()
            assert err == result
        finally:
            tls.close()
            peer.close()


# -- accept_stream against a stdlib client -----------------------------------------------------


@pytest.mark.timeout(15)
def test_accept_stream_serves_a_stdlib_client(ca, leaf):
    options = TLSOptions.server(private_key(leaf.private_key_pem), chain_certificate(leaf))
    context = ssl.create_default_context(cadata=ca.cert_pem.bytes().decode("ascii"))
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(5)
        port = listener.getsockname()[1]

        def stdlib_client() -> tuple[str | None, bytes, bytes]:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
                context.wrap_socket(
                    raw, server_hostname="localhost", suppress_ragged_eofs=False
                ) as tls,
            ):
                tls.sendall(b"ping")
                answer = b""
                while len(answer) < 4:
                    piece = tls.recv(4 - len(answer))
                    assert piece
                    answer += piece
                version = tls.version()
                after = tls.recv(100)  # b"" only for close_notify (ragged EOFs raise)
                tls.unwrap()
                return version, answer, after

        client = ThreadResult(stdlib_client)
        sock, _ = listener.accept()
        peer = SocketStreamPeer(sock)
        tls = StreamPeerTLS()
        try:
            assert tls.accept_stream(peer, options) == Error.OK
            assert tls.get_stream() is peer
            handshake(tls)
            assert tls.get_status() == CONNECTED, tls.get_last_error()
            request = b""
            deadline = time.monotonic() + 5
            while len(request) < 4:
                assert time.monotonic() < deadline, request
                err, piece = tls.get_partial_data(4 - len(request))
                assert err == Error.OK, tls.get_last_error()
                request += piece
                if not piece:
                    tls.wait(readable=True, timeout=0.02)
            assert request == b"ping"
            assert tls.put_data(b"pong") == Error.OK
            tls.disconnect_from_stream()
            assert tls.get_status() == DISCONNECTED
            assert peer.closed
            version, answer, after = client.result()
        finally:
            tls.close()
            peer.close()
    assert answer == b"pong"
    assert after == b""
    assert version in ("TLSv1.2", "TLSv1.3")


# -- X509Certificate and CryptoKey -------------------------------------------------------------


@pytest.fixture(scope="module")
def chain_pems(ca: trustme.CA) -> list[str]:
    """A leaf and its intermediate CA: a two-certificate chain."""
    leaf = ca.create_child_ca().issue_cert("chain.test")
    pems = [blob.bytes().decode("ascii") for blob in leaf.cert_chain_pems]
    assert len(pems) == 2
    return pems


def ders(cert: X509Certificate) -> list[bytes]:
    text = cert.save_to_string()
    blocks = text.split("-----END CERTIFICATE-----")[:-1]
    return [
        ssl.PEM_cert_to_DER_cert(block.strip() + "\n-----END CERTIFICATE-----\n")
        for block in blocks
    ]


def test_certificate_chain_round_trip_through_a_string(chain_pems):
    cert = X509Certificate()
    assert cert.load_from_string("".join(chain_pems)) == Error.OK
    assert len(cert) == 2
    expected = [ssl.PEM_cert_to_DER_cert(pem) for pem in chain_pems]
    assert ders(cert) == expected
    again = X509Certificate()
    assert again.load_from_string(cert.save_to_string()) == Error.OK
    assert ders(again) == expected
    assert again.save_to_string() == cert.save_to_string()


def test_certificate_chain_round_trip_through_a_file(chain_pems, tmp_path):
    cert = X509Certificate()
    assert cert.load_from_string("".join(chain_pems)) == Error.OK
    path = tmp_path / "chain.pem"
    assert cert.save(path) == Error.OK
    loaded = X509Certificate()
    assert loaded.load(path) == Error.OK
    assert len(loaded) == 2
    assert ders(loaded) == [ssl.PEM_cert_to_DER_cert(pem) for pem in chain_pems]
    assert loaded.get_spki_pin() == cert.get_spki_pin()
    assert loaded.load(str(path)) == Error.OK


def test_certificate_load_errors(tmp_path):
    cert = X509Certificate()
    assert cert.load_from_string("garbage") == Error.ERR_PARSE_ERROR
    assert cert.load_from_string("") == Error.ERR_PARSE_ERROR
    assert cert.load(tmp_path / "missing.pem") == Error.ERR_FILE_CANT_OPEN
    assert len(cert) == 0


def test_crypto_key_round_trip_and_file_mode(leaf, tmp_path):
    pem = leaf.private_key_pem.bytes().decode("ascii")
    key = CryptoKey()
    assert key.load_from_string(pem) == Error.OK
    assert not key.is_public_only()
    assert key.save_to_string().strip() == pem.strip()
    path = tmp_path / "key.pem"
    assert key.save(path) == Error.OK
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    loaded = CryptoKey()
    assert loaded.load(path) == Error.OK
    assert loaded.save_to_string() == key.save_to_string()
    # The loaded key still serves TLS with its certificate.
    TLSOptions.server(loaded, chain_certificate(leaf)).ssl_context()


def test_crypto_key_save_over_a_readable_file_leaves_it_owner_only(leaf, tmp_path):
    key = private_key(leaf.private_key_pem)
    path = tmp_path / "key.pem"
    path.write_text("old")
    path.chmod(0o644)
    assert key.save(path) == Error.OK
    assert path.read_text() == key.save_to_string()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_crypto_key_load_errors(tmp_path):
    key = CryptoKey()
    assert key.load_from_string("garbage") == Error.ERR_PARSE_ERROR
    assert key.load(tmp_path / "missing.pem") == Error.ERR_FILE_CANT_OPEN


def test_crypto_key_with_nothing_loaded_saves_nothing(tmp_path):
    key = CryptoKey()
    assert key.save_to_string() == ""
    assert key.save(tmp_path / "empty.pem") == Error.ERR_INVALID_PARAMETER
    assert not (tmp_path / "empty.pem").exists()
