"""HTTPClient over TLS against a real nginx (its ``ssl`` listener) on 127.0.0.1."""

from __future__ import annotations

import time
import tracemalloc
import zlib

import pytest

from pollhttp import (
    Error,
    HTTPClient,
    Status,
    StreamPeerTCP,
    StreamPeerTLS,
    TLSHandshakeError,
    TLSOptions,
    X509Certificate,
)

from ..support.nginx import AccessEntry, PatternChecker, query
from ..support.polling import fetch, poll_while_waiting, read_body, read_checked
from .conftest import BIG_SIZE, Site

pytestmark = pytest.mark.nginx

MiB = 1 << 20
TLS_VERSIONS = {"TLSv1.2", "TLSv1.3"}


def connect_tls(
    client: HTTPClient,
    site: Site,
    ca_chain: X509Certificate,
    host: str = "127.0.0.1",
    options: TLSOptions | None = None,
) -> None:
    """Connect to nginx's HTTPS port and assert that the handshake completes."""
    client.connect_timeout = 5.0
    options = options or TLSOptions.client(ca_chain)
    assert client.connect_to_host(f"https://{host}", site.tls_port, options) == Error.OK
    poll_while_waiting(client)
    assert client.get_status() == Status.STATUS_CONNECTED, client.get_last_error()
    peer = client.get_connection()
    assert isinstance(peer, StreamPeerTLS)
    assert peer.get_status() == StreamPeerTLS.STATUS_CONNECTED
    assert isinstance(peer.get_stream(), StreamPeerTCP)


def send(client: HTTPClient, path: str, headers: list[str] | None = None) -> None:
    """Send a GET and poll until the response head is in."""
    assert client.request(HTTPClient.METHOD_GET, path, headers or []) == Error.OK
    poll_while_waiting(client)
    assert client.has_response(), client.get_last_error()


def headers_of(client: HTTPClient) -> dict[str, str]:
    """The response headers with lower-case names."""
    return {
        name.lower(): value for name, value in client.get_response_headers_as_dictionary().items()
    }


def assert_https(entries: list[AccessEntry]) -> None:
    """Every request came over TLS 1.2 or 1.3."""
    for entry in entries:
        assert entry.scheme == "https", entry
        assert entry.ssl_protocol in TLS_VERSIONS, entry


# -- persistent connections ----------------------------------------------------------------


def test_hundred_requests_share_one_tls_connection(
    site: Site, ca_chain: X509Certificate, client: HTTPClient
):
    connect_tls(client, site, ca_chain)
    peer = client.get_connection()
    for i in range(100):
        assert fetch(client, query("/hello.txt", "tls-keepalive", i=i)) == site.hello
        assert client.get_response_code() == 200
        assert client.get_status() == Status.STATUS_CONNECTED
        # An idle poll reads what nginx sent (TLS 1.3 session tickets, say) and must
        # not mistake it for a close; nginx keeps this connection open.
        assert client.poll() == Error.OK
        assert client.get_status() == Status.STATUS_CONNECTED
        assert client.get_connection() is peer
    entries = site.server.tagged("tls-keepalive", 100)
    assert len(entries) == 100
    assert {entry.connection for entry in entries} == {entries[0].connection}
    assert [entry.requests for entry in entries] == list(range(1, 101))
    assert [entry.uri for entry in entries] == [
        query("/hello.txt", "tls-keepalive", i=i) for i in range(100)
    ]
    assert_https(entries)
    assert len({entry.ssl_protocol for entry in entries}) == 1
    # The default Host header carries the port, which is not 443.
    assert {entry.host for entry in entries} == {f"127.0.0.1:{site.tls_port}"}


# -- bodies ----------------------------------------------------------------------------------


def test_gzip_chunked_body_over_tls(site: Site, ca_chain: X509Certificate, client: HTTPClient):
    chunk_size = 1024
    client.read_chunk_size = chunk_size
    connect_tls(client, site, ca_chain)
    send(client, query("/gzip/text.txt", "tls-gzip"), ["Accept-Encoding: gzip"])
    assert client.get_response_code() == 200
    headers = headers_of(client)
    assert headers["content-encoding"] == "gzip"
    assert headers["transfer-encoding"] == "chunked"
    assert "content-length" not in headers
    assert client.is_response_chunked()
    assert client.get_response_body_length() == -1
    chunks = []
    deadline = time.monotonic() + 10
    while client.get_status() == Status.STATUS_BODY:
        assert time.monotonic() < deadline, "body read timed out"
        client.poll()
        chunk = client.read_response_body_chunk()
        if chunk:
            chunks.append(chunk)
    assert client.get_status() == Status.STATUS_CONNECTED, client.get_last_error()
    assert max(map(len, chunks)) <= chunk_size
    assert client.get_response_trailers() == []
    decompressor = zlib.decompressobj(wbits=31)  # gzip wrapper
    text = b"".join(decompressor.decompress(chunk) for chunk in chunks) + decompressor.flush()
    assert decompressor.eof
    assert decompressor.unused_data == b""
    assert text == site.text
    assert sum(map(len, chunks)) < len(site.text)
    # The connection carries the next request.
    assert fetch(client, query("/hello.txt", "tls-gzip")) == site.hello
    first, second = site.server.tagged("tls-gzip", 2)
    assert first.connection == second.connection
    assert (first.requests, second.requests) == (1, 2)
    assert_https([first, second])


def test_100_mib_download_over_tls_in_flat_memory(
    site: Site, big_file: str, ca_chain: X509Certificate, client: HTTPClient
):
    chunk_size = 64 * 1024
    client.read_chunk_size = chunk_size
    checker = PatternChecker(chunk_size)
    connect_tls(client, site, ca_chain)
    started = time.monotonic()
    tracemalloc.start()
    try:
        baseline, _ = tracemalloc.get_traced_memory()
        send(client, query(big_file, "tls-big"))
        assert client.get_response_code() == 200
        assert client.get_response_body_length() == BIG_SIZE
        longest = read_checked(client, checker.feed, timeout=40)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.monotonic() - started
    assert client.get_status() == Status.STATUS_CONNECTED, client.get_last_error()
    assert checker.offset == BIG_SIZE
    assert longest <= chunk_size
    # About one chunk and a few TLS records held at a time, whatever the file size.
    growth = peak - baseline
    assert growth < 8 * MiB, f"peak growth {growth} bytes"
    (entry,) = site.server.tagged("tls-big", 1)
    assert entry.status == 200
    assert entry.body_bytes == BIG_SIZE
    assert_https([entry])
    print(
        f"100 MiB over {entry.ssl_protocol}: {elapsed:.2f} s "
        f"({BIG_SIZE / MiB / elapsed:.0f} MiB/s), tracemalloc peak growth {growth} bytes"
    )
    assert elapsed < 30, f"100 MiB over TLS took {elapsed:.1f} s"


# -- certificates and names ------------------------------------------------------------------


def test_localhost_by_name_with_the_right_ca(
    site: Site, ca_chain: X509Certificate, client: HTTPClient
):
    client.connect_timeout = 5.0
    options = TLSOptions.client(ca_chain)
    assert client.connect_to_host("https://localhost", site.tls_port, options) == Error.OK
    assert client.get_status() == Status.STATUS_RESOLVING
    trace = poll_while_waiting(client)
    assert (Error.OK, Status.STATUS_CONNECTING) in trace
    assert client.get_status() == Status.STATUS_CONNECTED, client.get_last_error()
    assert isinstance(client.get_connection(), StreamPeerTLS)
    assert fetch(client, query("/hello.txt", "tls-localhost")) == site.hello
    assert client.get_response_code() == 200
    (entry,) = site.server.tagged("tls-localhost", 1)
    assert entry.host == f"localhost:{site.tls_port}"
    assert_https([entry])


def _assert_handshake_fails(client: HTTPClient, site: Site, options: TLSOptions) -> str:
    """Connect to nginx over TLS with ``options``; the handshake must fail. The reason."""
    client.connect_timeout = 5.0
    assert client.connect_to_host("https://127.0.0.1", site.tls_port, options) == Error.OK
    trace = poll_while_waiting(client)
    assert client.get_status() == Status.STATUS_TLS_HANDSHAKE_ERROR, trace
    assert trace[-1] == (Error.ERR_CANT_CONNECT, Status.STATUS_TLS_HANDSHAKE_ERROR)
    error = client.get_last_error()
    assert isinstance(error, TLSHandshakeError)
    # The error is sticky; no request can be sent.
    assert client.poll() == Error.ERR_CANT_CONNECT
    assert client.get_status() == Status.STATUS_TLS_HANDSHAKE_ERROR
    assert client.request(HTTPClient.METHOD_GET, "/hello.txt", []) == Error.ERR_INVALID_PARAMETER
    return error.reason


def test_wrong_name_fails_the_handshake(site: Site, ca_chain: X509Certificate, client: HTTPClient):
    reason = _assert_handshake_fails(
        client, site, TLSOptions.client(ca_chain, common_name_override="wrong.test")
    )
    assert "mismatch" in reason.lower(), reason
    # The same client and CA with the right name get through.
    connect_tls(client, site, ca_chain, options=TLSOptions.client(ca_chain, "localhost"))
    assert fetch(client, query("/hello.txt", "tls-name")) == site.hello
    assert_https(site.server.tagged("tls-name", 1))


def test_unknown_ca_fails_the_handshake(site: Site, client: HTTPClient):
    # The system's CAs (no network needed) do not include the test CA.
    reason = _assert_handshake_fails(client, site, TLSOptions.client())
    assert "certificate verify failed" in reason, reason


# -- closing ---------------------------------------------------------------------------------


def test_server_closes_an_idle_tls_connection(
    site: Site, ca_chain: X509Certificate, client: HTTPClient
):
    connect_tls(client, site, ca_chain)
    peer = client.get_connection()
    assert isinstance(peer, StreamPeerTLS)
    tcp = peer.get_stream()
    assert isinstance(tcp, StreamPeerTCP)
    assert fetch(client, query("/idle/hello.txt", "tls-idle")) == site.hello
    assert client.get_status() == Status.STATUS_CONNECTED
    # nginx closes the connection 200 ms later (with a close_notify); an idle poll()
    # notices. The loop is written out so that a failure reports counts, not every poll.
    started = time.monotonic()
    polls = 0
    results = set()
    while client.get_status() == Status.STATUS_CONNECTED:
        waited = time.monotonic() - started
        assert waited < 3, (
            f"still CONNECTED {waited:.1f} s after the response ({polls} polls); "
            f"TLS peer {peer.get_status().name}, TCP below {tcp.get_status().name}"
        )
        results.add(client.poll())
        polls += 1
    assert client.get_status() == Status.STATUS_DISCONNECTED, client.get_last_error()
    assert results == {Error.OK}
    assert peer.get_status() == StreamPeerTLS.STATUS_DISCONNECTED
    assert client.get_connection() is None
    assert client.request(HTTPClient.METHOD_GET, "/hello.txt", []) == Error.ERR_INVALID_PARAMETER
    (entry,) = site.server.tagged("tls-idle", 1)
    assert_https([entry])
    # A new TLS connection works, and nginx sees it as a new one.
    connect_tls(client, site, ca_chain)
    send(client, query("/hello.txt", "tls-idle"))
    assert read_body(client) == site.hello
    first, second = site.server.tagged("tls-idle", 2)
    assert second.connection != first.connection
    assert second.requests == 1
