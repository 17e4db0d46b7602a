"""HTTPClient against a real nginx over real sockets on 127.0.0.1."""

from __future__ import annotations

import time
import tracemalloc
import zlib

import pytest

from pollhttp import Error, HTTPClient, Status, StreamPeerTCP

from ..support.nginx import PatternChecker, query
from ..support.polling import (
    connect,
    fetch,
    poll_until,
    poll_while_waiting,
    read_body,
    read_checked,
)
from ..support.servers import wait_for
from .conftest import BIG_SIZE, Site

pytestmark = pytest.mark.nginx

MiB = 1 << 20


def headers_of(client: HTTPClient) -> dict[str, str]:
    """The response headers with lower-case names."""
    return {
        name.lower(): value for name, value in client.get_response_headers_as_dictionary().items()
    }


def send(
    client: HTTPClient, method: int, path: str, headers: list[str] | None = None, body: bytes = b""
) -> None:
    """Send a request and poll until the response head is in."""
    assert client.request_raw(method, path, headers or [], body) == Error.OK
    poll_while_waiting(client)
    assert client.has_response(), client.get_last_error()


def read_chunks(client: HTTPClient, timeout: float = 10.0) -> list[bytes]:
    """The non-empty body chunks, one per read_response_body_chunk() call that returned data."""
    chunks = []
    deadline = time.monotonic() + timeout
    while client.get_status() == Status.STATUS_BODY:
        assert time.monotonic() < deadline, "body read timed out"
        client.poll()
        chunk = client.read_response_body_chunk()
        if chunk:
            chunks.append(chunk)
    return chunks


# -- persistent connections ----------------------------------------------------------------


def test_hundred_requests_share_one_connection(site: Site, client: HTTPClient):
    connect(client, "127.0.0.1", site.port)
    peer = client.get_connection()
    for i in range(100):
        assert fetch(client, query("/hello.txt", "keepalive", i=i)) == site.hello
        assert client.get_response_code() == 200
        assert client.get_status() == Status.STATUS_CONNECTED
        # An idle poll notices a closed connection; nginx keeps this one open.
        assert client.poll() == Error.OK
        assert client.get_status() == Status.STATUS_CONNECTED
        assert client.get_connection() is peer
    entries = site.server.tagged("keepalive", 100)
    assert len(entries) == 100
    assert {entry.connection for entry in entries} == {entries[0].connection}
    assert [entry.requests for entry in entries] == list(range(1, 101))
    assert [entry.uri for entry in entries] == [
        query("/hello.txt", "keepalive", i=i) for i in range(100)
    ]


def test_head_has_no_body_and_keeps_the_connection(site: Site, client: HTTPClient):
    connect(client, "127.0.0.1", site.port)
    send(client, HTTPClient.METHOD_HEAD, query("/hello.txt", "head"))
    assert client.get_response_code() == 200
    assert headers_of(client)["content-length"] == str(len(site.hello))
    assert client.get_response_body_length() == 0
    # No body to read: straight back to CONNECTED.
    assert client.get_status() == Status.STATUS_CONNECTED
    assert client.read_response_body_chunk() == b""
    assert fetch(client, query("/hello.txt", "head")) == site.hello
    assert client.get_response_code() == 200
    assert client.get_status() == Status.STATUS_CONNECTED
    head, get = site.server.tagged("head", 2)
    assert (head.method, get.method) == ("HEAD", "GET")
    assert head.connection == get.connection
    assert (head.requests, get.requests) == (1, 2)
    assert head.body_bytes == 0


def test_conditional_requests_get_304_on_the_same_connection(site: Site, client: HTTPClient):
    connect(client, "127.0.0.1", site.port)
    assert fetch(client, query("/hello.txt", "cond")) == site.hello
    first = headers_of(client)
    etag, last_modified = first["etag"], first["last-modified"]
    for condition in (f"If-None-Match: {etag}", f"If-Modified-Since: {last_modified}"):
        send(client, HTTPClient.METHOD_GET, query("/hello.txt", "cond"), [condition])
        assert client.get_response_code() == 304
        assert client.get_status() == Status.STATUS_CONNECTED
        assert client.get_response_body_length() == 0
        assert client.read_response_body_chunk() == b""
        assert headers_of(client)["etag"] == etag
    # A tag that does not match gets the whole file again.
    assert fetch(client, query("/hello.txt", "cond"), headers=['If-None-Match: "other"']) == (
        site.hello
    )
    assert client.get_response_code() == 200
    entries = site.server.tagged("cond", 4)
    assert [entry.status for entry in entries] == [200, 304, 304, 200]
    assert {entry.connection for entry in entries} == {entries[0].connection}
    assert [entry.requests for entry in entries] == [1, 2, 3, 4]


def test_no_content_keeps_the_connection(site: Site, client: HTTPClient):
    connect(client, "127.0.0.1", site.port)
    send(client, HTTPClient.METHOD_GET, query("/no-content", "204"))
    assert client.get_response_code() == 204
    assert client.get_status() == Status.STATUS_CONNECTED
    assert client.get_response_body_length() == 0
    assert fetch(client, query("/hello.txt", "204")) == site.hello
    first, second = site.server.tagged("204", 2)
    assert first.connection == second.connection


# -- error responses -------------------------------------------------------------------------


def _assert_reusable_as_announced(site: Site, client: HTTPClient, tag: str) -> None:
    """After an error response: CONNECTED and reusable, or DISCONNECTED if nginx said close."""
    if "close" in headers_of(client).get("connection", "").lower():
        assert client.get_status() == Status.STATUS_DISCONNECTED
        connect(client, "127.0.0.1", site.port)
    else:
        assert client.get_status() == Status.STATUS_CONNECTED
    assert fetch(client, query("/hello.txt", tag)) == site.hello
    assert client.get_response_code() == 200


def test_404_with_a_body(site: Site, client: HTTPClient):
    connect(client, "127.0.0.1", site.port)
    body = fetch(client, query("/missing.txt", "404"))
    assert client.get_response_code() == 404
    assert b"404 Not Found" in body
    assert client.get_response_body_length() == len(body)
    assert headers_of(client)["content-type"].startswith("text/html")
    _assert_reusable_as_announced(site, client, "404")
    entries = site.server.tagged("404", 2)
    assert [entry.status for entry in entries] == [404, 200]
    assert entries[0].body_bytes == len(body)


def test_post_to_a_static_file_is_405(site: Site, client: HTTPClient):
    connect(client, "127.0.0.1", site.port)
    body = fetch(
        client,
        query("/hello.txt", "405"),
        method=HTTPClient.METHOD_POST,
        headers=["Content-Type: application/x-www-form-urlencoded"],
        body=b"name=value&other=1",
    )
    assert client.get_response_code() == 405
    assert b"405 Not Allowed" in body
    assert client.get_response_body_length() == len(body)
    _assert_reusable_as_announced(site, client, "405")
    entries = site.server.tagged("405", 2)
    assert [(entry.method, entry.status) for entry in entries] == [("POST", 405), ("GET", 200)]


# -- bodies ----------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size", [256, 4096])
def test_gzip_chunked_body(site: Site, client: HTTPClient, chunk_size: int):
    client.read_chunk_size = chunk_size
    connect(client, "127.0.0.1", site.port)
    send(
        client,
        HTTPClient.METHOD_GET,
        query("/gzip/text.txt", f"gzip{chunk_size}"),
        ["Accept-Encoding: gzip"],
    )
    assert client.get_response_code() == 200
    headers = headers_of(client)
    assert headers["content-encoding"] == "gzip"
    assert headers["transfer-encoding"] == "chunked"
    assert "content-length" not in headers
    assert client.is_response_chunked()
    assert client.get_response_body_length() == -1
    chunks = read_chunks(client)
    assert max(map(len, chunks)) <= chunk_size
    assert client.get_status() == Status.STATUS_CONNECTED
    assert client.get_response_trailers() == []
    decompressor = zlib.decompressobj(wbits=31)  # gzip wrapper
    text = b"".join(decompressor.decompress(chunk) for chunk in chunks) + decompressor.flush()
    assert decompressor.eof
    assert decompressor.unused_data == b""
    assert text == site.text
    assert sum(map(len, chunks)) < len(site.text)
    # Without Accept-Encoding the same file comes with a Content-Length, on the same connection.
    send(client, HTTPClient.METHOD_GET, query("/gzip/text.txt", f"gzip{chunk_size}"))
    assert not client.is_response_chunked()
    assert client.get_response_body_length() == len(site.text)
    assert "content-encoding" not in headers_of(client)
    chunks = read_chunks(client)
    assert max(map(len, chunks)) <= chunk_size
    assert b"".join(chunks) == site.text
    first, second = site.server.tagged(f"gzip{chunk_size}", 2)
    assert first.connection == second.connection


@pytest.mark.parametrize("chunk_size", [64 * 1024, MiB])
def test_100_mib_download_in_flat_memory(
    site: Site, big_file: str, client: HTTPClient, chunk_size: int
):
    client.read_chunk_size = chunk_size
    checker = PatternChecker(chunk_size)
    connect(client, "127.0.0.1", site.port)
    started = time.monotonic()
    tracemalloc.start()
    try:
        send(client, HTTPClient.METHOD_GET, query(big_file, f"big{chunk_size}"))
        assert client.get_response_code() == 200
        assert client.get_response_body_length() == BIG_SIZE
        longest = read_checked(client, checker.feed, timeout=30)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.monotonic() - started
    assert client.get_status() == Status.STATUS_CONNECTED, client.get_last_error()
    assert checker.offset == BIG_SIZE
    assert longest <= chunk_size
    # The client holds about one chunk at a time, whatever the file size.
    assert peak < 4 * chunk_size + 4 * MiB, f"peak {peak} bytes"
    assert peak < 8 * MiB
    (entry,) = site.server.tagged(f"big{chunk_size}", 1)
    assert entry.status == 200
    assert entry.body_bytes == BIG_SIZE
    assert elapsed < 20, f"100 MiB took {elapsed:.1f} s"


def _head_with_body_buffered(client: HTTPClient, path: str, headers: list[str]) -> None:
    """Send a request and take in the head, with as much of the body as came along with it.

    When the first poll() finds no head yet, the response is left to pile up in the socket
    first, so the head read brings much of the body along. (The exact case of a buffered
    body larger than the new read size is pinned with scripted servers in
    tests/client/test_response.py.)
    """
    peer = client.get_connection()
    assert isinstance(peer, StreamPeerTCP)
    assert client.request(HTTPClient.METHOD_GET, path, headers) == Error.OK
    assert client.poll() == Error.OK  # sends the request, and takes the head if it is here
    if client.get_status() == Status.STATUS_REQUESTING:
        wait_for(lambda: peer.get_available_bytes() >= 32 * 1024)
        poll_while_waiting(client)
    assert client.get_status() == Status.STATUS_BODY


@pytest.mark.parametrize(
    ("path", "headers"),
    [("/data.bin", []), ("/gzip/text.txt", ["Accept-Encoding: gzip"])],
    ids=["content-length", "chunked"],
)
def test_read_chunk_size_lowered_after_the_head(
    site: Site, client: HTTPClient, path: str, headers: list[str]
):
    # read_chunk_size may change at any time; reads after the change honour the new size
    # even when the head read (at the old size) brought much of the body with it.
    client.read_chunk_size = 65536
    connect(client, "127.0.0.1", site.port)
    _head_with_body_buffered(client, query(path, "lowered"), headers)
    client.read_chunk_size = 1024
    chunks = read_chunks(client)
    assert client.get_status() == Status.STATUS_CONNECTED, client.get_last_error()
    assert max(map(len, chunks)) <= 1024
    body = b"".join(chunks)
    if headers:
        body = zlib.decompress(body, wbits=31)
        assert body == site.text
    else:
        assert body == site.data


# -- closing ---------------------------------------------------------------------------------


def test_connection_close_from_the_client(site: Site, client: HTTPClient):
    connect(client, "127.0.0.1", site.port)
    send(client, HTTPClient.METHOD_GET, query("/close/hello.txt", "close"), ["Connection: close"])
    assert headers_of(client)["connection"] == "close"
    assert read_body(client) == site.hello
    assert client.get_status() == Status.STATUS_DISCONNECTED
    peer = client.get_connection()
    assert peer is None or (
        isinstance(peer, StreamPeerTCP) and peer.get_status() == StreamPeerTCP.STATUS_NONE
    )  # closed
    assert client.poll() == Error.ERR_UNCONFIGURED
    (closed,) = site.server.tagged("close", 1)
    assert closed.connection_header == "close"
    if site.server.has_debug_log:
        site.server.wait_for_connection_event(closed.connection, "close http connection")
        assert not any(
            "set http keepalive handler" in event
            for event in site.server.connection_events(closed.connection)
        )
    # A new connection works, and nginx sees it as a new one.
    connect(client, "127.0.0.1", site.port)
    assert fetch(client, query("/close/hello.txt", "close")) == site.hello
    assert client.get_status() == Status.STATUS_CONNECTED
    closed, kept = site.server.tagged("close", 2)
    assert kept.connection != closed.connection
    assert kept.requests == 1
    if site.server.has_debug_log:
        site.server.wait_for_connection_event(kept.connection, "set http keepalive handler")
        assert not any(
            "close http connection" in event
            for event in site.server.connection_events(kept.connection)
        )


def test_server_closes_after_keepalive_requests(site: Site, client: HTTPClient):
    connect(client, "127.0.0.1", site.port)
    send(client, HTTPClient.METHOD_GET, query("/last/hello.txt", "last"))
    assert headers_of(client)["connection"] == "close"
    assert read_body(client) == site.hello
    assert client.get_status() == Status.STATUS_DISCONNECTED
    connect(client, "127.0.0.1", site.port)
    assert fetch(client, query("/hello.txt", "last")) == site.hello
    first, second = site.server.tagged("last", 2)
    assert first.connection != second.connection
    assert first.connection_header == ""


def test_server_closes_an_idle_connection(site: Site, client: HTTPClient):
    connect(client, "127.0.0.1", site.port)
    assert fetch(client, query("/idle/hello.txt", "idle")) == site.hello
    assert client.get_status() == Status.STATUS_CONNECTED
    # nginx closes the connection 200 ms later; an idle poll() notices.
    poll_until(client, lambda c: c.get_status() != Status.STATUS_CONNECTED, timeout=5)
    assert client.get_status() == Status.STATUS_DISCONNECTED
    assert client.request(HTTPClient.METHOD_GET, "/hello.txt", []) == Error.ERR_INVALID_PARAMETER


# -- blocking mode and name resolution ------------------------------------------------------


@pytest.mark.timeout(15)
def test_blocking_mode_fills_whole_chunks(site: Site, client: HTTPClient):
    client.set_blocking_mode(True)
    client.read_chunk_size = 65536
    assert client.connect_to_host("127.0.0.1", site.port) == Error.OK
    assert client.poll() == Error.OK
    assert client.get_status() == Status.STATUS_CONNECTED
    assert client.request(HTTPClient.METHOD_GET, query("/data.bin", "blocking"), []) == Error.OK
    assert client.poll() == Error.OK  # one call: the request goes out, the head comes in
    assert client.get_status() == Status.STATUS_BODY
    assert client.get_response_code() == 200
    assert client.get_response_body_length() == len(site.data)
    sizes = []
    body = bytearray()
    for _ in range(len(site.data) // 65536 + 2):
        if client.get_status() != Status.STATUS_BODY:
            break
        chunk = client.read_response_body_chunk()
        sizes.append(len(chunk))
        body += chunk
    assert client.get_status() == Status.STATUS_CONNECTED
    assert body == site.data
    full, rest = divmod(len(site.data), 65536)
    assert sizes == [65536] * full + [rest]


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_connect_by_name_and_by_address(site: Site, client: HTTPClient, host: str):
    assert client.connect_to_host(host, site.port) == Error.OK
    expected = Status.STATUS_RESOLVING if host == "localhost" else Status.STATUS_CONNECTING
    assert client.get_status() == expected
    poll_while_waiting(client)
    assert client.get_status() == Status.STATUS_CONNECTED, client.get_last_error()
    assert fetch(client, query("/hello.txt", f"host-{host}")) == site.hello
    assert client.get_response_code() == 200
    (entry,) = site.server.tagged(f"host-{host}", 1)
    assert entry.host == f"{host}:{site.port}"
