"""connect_to_host(), name resolution, request() validation and the bytes on the wire.

Real sockets on 127.0.0.1 (and ::1 where it can be bound) to ScriptedServer; host names
are only ever given to injected resolvers, never to the system's.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

import pollhttp
from pollhttp import (
    ConnectError,
    Error,
    HTTPClient,
    InvalidParameterError,
    InvalidTypeError,
    Method,
    Resolution,
    ResolveError,
    ResponseCode,
    Status,
    StreamPeerTCP,
)
from pollhttp.transport import Proxy

from ..support.polling import (
    connect,
    poll_until,
    poll_while_waiting,
    read_body,
    tcp_connection_of,
)
from ..support.scripted_peer import WOULD_BLOCK, ScriptedStreamPeer
from ..support.servers import Pause, Read, ScriptedServer, Send, needs_ipv6, response

UA = b"User-Agent: pollhttp/" + pollhttp.__version__.encode()
DEFAULTS_TAIL = UA + b"\r\nAccept: */*\r\n\r\n"
# Each connection may carry up to this many requests, each answered "ok".
OK_SCRIPT = [Read(), Send(response(body=b"ok"))] * 8


# -- helpers ---------------------------------------------------------------------------------


def closed_port() -> int:
    """A loopback port that nothing listens on (bound, read, released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeResolver:
    """Records every (host, port) it is asked for and answers with ``answer(host, port)``."""

    def __init__(self, answer: Callable[[str, int], Resolution] | None = None) -> None:
        self.calls: list[tuple[str, int]] = []
        self._answer = answer or (lambda host, port: Resolution())  # never finishes

    def __call__(self, host: str, port: int) -> Resolution:
        self.calls.append((host, port))
        return self._answer(host, port)


def resolving_to(*addresses: tuple[str, int]) -> FakeResolver:
    return FakeResolver(lambda host, port: Resolution.finished(list(addresses)))


@pytest.fixture(scope="module")
def server():
    """One capturing server for the module: every connection gets OK_SCRIPT."""
    with ScriptedServer([OK_SCRIPT]) as srv:
        yield srv


@pytest.fixture
def client():
    c = HTTPClient()
    yield c
    c.close()


def exchange(
    server: ScriptedServer,
    method: int,
    url: str,
    headers: Sequence[str] = (),
    body: str | bytes = "",
) -> bytes:
    """Send one request on a new connection; return the bytes the server received."""
    c = HTTPClient()
    try:
        connect(c, "127.0.0.1", server.port)
        before = len(server.requests)
        assert c.request(method, url, headers, body) == Error.OK, c.get_last_error()
        poll_while_waiting(c)
        assert c.get_status() == Status.STATUS_BODY, c.get_last_error()
        assert read_body(c) == b"ok"
        assert c.get_status() == Status.STATUS_CONNECTED
        assert len(server.requests) == before + 1
        return server.requests[-1]
    finally:
        c.close()


# -- connect_to_host: IP literals --------------------------------------------------------------


def test_connect_to_ipv4_literal_forms():
    with ScriptedServer([OK_SCRIPT]) as srv:
        for host in ("127.0.0.1", "http://127.0.0.1", "HTTP://127.0.0.1"):
            c = HTTPClient()
            assert c.connect_to_host(host, srv.port) == Error.OK, host
            # An IP literal skips RESOLVING.
            assert c.get_status() == Status.STATUS_CONNECTING, host
            poll_while_waiting(c)
            assert c.get_status() == Status.STATUS_CONNECTED, (host, c.get_last_error())
            tcp = c.get_connection()
            assert isinstance(tcp, StreamPeerTCP)
            assert (tcp.get_connected_host(), tcp.get_connected_port()) == ("127.0.0.1", srv.port)
            assert c.request(HTTPClient.METHOD_GET, "/v4", []) == Error.OK
            poll_while_waiting(c)
            assert read_body(c) == b"ok"
            c.close()
    expected = b"GET /v4 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % srv.port + DEFAULTS_TAIL
    assert srv.requests == [expected] * 3


@needs_ipv6
def test_connect_to_ipv6_literal_forms():
    with ScriptedServer([OK_SCRIPT], host="::1") as srv:
        for host in ("::1", "[::1]", "http://[::1]"):
            c = HTTPClient()
            assert c.connect_to_host(host, srv.port) == Error.OK, host
            assert c.get_status() == Status.STATUS_CONNECTING, host
            poll_while_waiting(c)
            assert c.get_status() == Status.STATUS_CONNECTED, (host, c.get_last_error())
            assert tcp_connection_of(c).get_connected_host() == "::1"
            assert c.request(HTTPClient.METHOD_GET, "/v6", []) == Error.OK
            poll_while_waiting(c)
            assert read_body(c) == b"ok"
            c.close()
    # The Host header brackets the IPv6 literal (Godot writes "::1:PORT").
    expected = b"GET /v6 HTTP/1.1\r\nHost: [::1]:%d\r\n" % srv.port + DEFAULTS_TAIL
    assert srv.requests == [expected] * 3


def test_ip_literal_on_a_closed_port_cannot_connect(client):
    port = closed_port()
    result = client.connect_to_host("127.0.0.1", port)
    # The refusal may be known at once or on the first poll; either way it ends the same.
    assert result in (Error.OK, Error.ERR_CANT_CONNECT)
    trace = poll_while_waiting(client)
    assert client.get_status() == Status.STATUS_CANT_CONNECT
    if result == Error.OK:
        assert trace[-1] == (Error.ERR_CANT_CONNECT, Status.STATUS_CANT_CONNECT)
    assert client.poll() == Error.ERR_CANT_CONNECT
    error = client.get_last_error()
    assert isinstance(error, ConnectError)
    assert "refused" in str(error).lower()
    assert str(port) in str(error)


# -- connect_to_host: ports and the default port -----------------------------------------------


@pytest.mark.parametrize("port", [-1, None])
def test_default_port_is_80(port):
    resolver = FakeResolver()
    c = HTTPClient(resolver=resolver)
    args = ("example.test",) if port is None else ("example.test", port)
    assert c.connect_to_host(*args) == Error.OK
    assert resolver.calls == [("example.test", 80)]
    c.close()


@pytest.mark.parametrize("port", [0, 70000, -5, 65536, -2])
@pytest.mark.parametrize("host", ["example.test", "127.0.0.1"])
def test_port_out_of_range_is_invalid(host, port):
    resolver = FakeResolver()
    c = HTTPClient(resolver=resolver)
    assert c.connect_to_host(host, port) == Error.ERR_INVALID_PARAMETER
    assert c.get_status() == Status.STATUS_DISCONNECTED
    assert isinstance(c.get_last_error(), InvalidParameterError)
    assert resolver.calls == []
    assert c.get_connection() is None
    assert c.poll() == Error.ERR_UNCONFIGURED


def test_host_names_are_lowered_for_the_resolver():
    resolver = FakeResolver()
    c = HTTPClient(resolver=resolver)
    assert c.connect_to_host("http://Example.TEST", 8080) == Error.OK
    assert resolver.calls == [("example.test", 8080)]
    c.close()


# -- connect_to_host: malformed hosts ----------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "a.test/x",
        "a.test/",
        "http://a.test/path",
        "a.test:80",
        "http://a.test:80",
        "127.0.0.1:80",
        "[::1]:80",
        "a b.test",
        " a.test",
        "a.test\r\n",
        "a.test\nX-Injected: 1",
        "a.test\r",
        "a.test\0",
        "user@a.test",
        "user:pass@a.test",
        "a.test?q",
        "a.test#f",
        "",
        "http://",
        # A numeric last label means an IPv4 address, and these are not valid ones: they
        # fail here, not in the resolver (which takes 127.1 for 127.0.0.1).
        "999.1.1.1",
        "1.2.3.256",
        "127.1",
        "1.2.3.4.5",
        "0x7f.0.0.1",
        "a.test.123",
    ],
)
def test_malformed_host_is_invalid(host):
    resolver = FakeResolver()
    c = HTTPClient(resolver=resolver)
    assert c.connect_to_host(host, 8080) == Error.ERR_INVALID_PARAMETER
    assert c.get_status() == Status.STATUS_DISCONNECTED
    assert isinstance(c.get_last_error(), InvalidParameterError)
    assert resolver.calls == []


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ((None, 80), "host"),
        ((b"a.test", 80), "host"),
        (("a.test", "80"), "port"),
        (("a.test", 80.0), "port"),
        (("a.test", True), "port"),
        (("a.test", 80, "x"), "tls_options"),
    ],
)
def test_wrong_argument_types_name_the_parameter(args, named):
    resolver = FakeResolver()
    c = HTTPClient(resolver=resolver)
    assert c.connect_to_host(*args) == Error.ERR_INVALID_PARAMETER
    error = c.get_last_error()
    assert isinstance(error, InvalidTypeError)
    assert isinstance(error, TypeError)
    assert named in str(error)
    assert resolver.calls == []
    assert c.get_status() == Status.STATUS_DISCONNECTED


# -- ip_version: the address family ------------------------------------------------------------


def test_ip_version_filters_resolved_addresses():
    with ScriptedServer([OK_SCRIPT]) as srv:
        # The IPv6 address comes first and nothing listens there; IPv4 only skips it.
        resolver = resolving_to(("::1", closed_port()), ("127.0.0.1", srv.port))
        c = HTTPClient(resolver=resolver)
        c.ip_version = 4
        assert c.ip_version == 4
        connect(c, "dual.test", srv.port)
        assert tcp_connection_of(c).get_connected_host() == "127.0.0.1"
        c.close()


def test_ip_version_without_an_address_of_that_family_cannot_resolve():
    c = HTTPClient(resolver=resolving_to(("127.0.0.1", 9)))
    c.set_ip_version(6)
    c.connect_to_host("v4only.test", 8080)
    poll_while_waiting(c)
    assert c.get_status() == Status.STATUS_CANT_RESOLVE
    assert "no IPv6 address" in str(c.get_last_error())
    assert c.get_connection() is None


@pytest.mark.parametrize(("version", "host"), [(6, "127.0.0.1"), (4, "::1")])
def test_ip_version_against_an_ip_literal_of_the_other_family_cannot_connect(version, host):
    # Nothing was looked up, so this is no resolve failure (curl -6 127.0.0.1 gives 7).
    resolver = FakeResolver()
    c = HTTPClient(resolver=resolver)
    c.set_ip_version(version)
    assert c.connect_to_host(host, 8080) == Error.ERR_CANT_CONNECT
    assert c.get_status() == Status.STATUS_CANT_CONNECT
    assert f"not an IPv{version} address" in str(c.get_last_error())
    assert resolver.calls == []


@pytest.mark.parametrize("value", [5, -1, "4", None, True, 4.0])
def test_ip_version_takes_0_4_or_6(value):
    c = HTTPClient()
    with pytest.raises(InvalidParameterError, match="ip_version"):
        c.ip_version = value
    assert c.get_ip_version() == 0


def test_failed_connect_to_host_drops_the_previous_connection():
    resolver = FakeResolver()
    c = HTTPClient(resolver=resolver)
    assert c.connect_to_host("first.test", 8080) == Error.OK
    assert c.get_status() == Status.STATUS_RESOLVING
    assert c.connect_to_host("bad host", 8080) == Error.ERR_INVALID_PARAMETER
    assert c.get_status() == Status.STATUS_DISCONNECTED
    assert c.poll() == Error.ERR_UNCONFIGURED
    assert resolver.calls == [("first.test", 8080)]


def test_godot_connect_to_host_returns_ok_and_resolving():
    # Godot's "[HTTPClient] connect_to_host" test (https there; TLS is not here yet): the
    # lookup is asynchronous, so connect_to_host returns OK and the status is RESOLVING.
    resolver = FakeResolver()  # a lookup that never finishes
    c = HTTPClient(resolver=resolver)
    assert c.connect_to_host("http://www.example.com", 80) == Error.OK
    assert c.get_status() == Status.STATUS_RESOLVING
    assert [(c.poll(), c.get_status()) for _ in range(3)] == [
        (Error.OK, Status.STATUS_RESOLVING)
    ] * 3
    assert resolver.calls == [("www.example.com", 80)]
    c.close()
    assert c.get_status() == Status.STATUS_DISCONNECTED


# -- name resolution -----------------------------------------------------------------------------


def test_resolve_error_is_sticky_until_close():
    failure = ResolveError("no such host: nowhere.test")
    resolver = FakeResolver(lambda host, port: Resolution.finished([], failure))
    c = HTTPClient(resolver=resolver)
    assert c.connect_to_host("nowhere.test", 8080) == Error.OK
    assert c.get_status() == Status.STATUS_RESOLVING
    trace = [(c.poll(), c.get_status()) for _ in range(3)]
    assert trace == [(Error.ERR_CANT_RESOLVE, Status.STATUS_CANT_RESOLVE)] * 3
    assert c.get_last_error() is failure
    assert c.request(HTTPClient.METHOD_GET, "/", []) == Error.ERR_INVALID_PARAMETER
    assert c.get_status() == Status.STATUS_CANT_RESOLVE
    c.close()
    assert c.get_status() == Status.STATUS_DISCONNECTED
    assert c.poll() == Error.ERR_UNCONFIGURED


def test_resolution_with_no_addresses_does_not_hang():
    # A finished lookup without addresses and without an error must not leave the client
    # in RESOLVING forever (Godot: CANT_CONNECT with ERR_BUG for an empty list).
    resolver = FakeResolver(lambda host, port: Resolution.finished([]))
    c = HTTPClient(resolver=resolver)
    assert c.connect_to_host("empty.test", 8080) == Error.OK
    poll_until(c, lambda cl: cl.get_status() != Status.STATUS_RESOLVING, timeout=1.0)
    assert c.get_status() in (Status.STATUS_CANT_RESOLVE, Status.STATUS_CANT_CONNECT)
    c.close()


def test_every_resolved_address_is_tried_in_turn():
    refused = closed_port()
    with ScriptedServer([OK_SCRIPT]) as srv:
        resolver = resolving_to(("127.0.0.1", refused), ("127.0.0.1", srv.port))
        c = HTTPClient(resolver=resolver)
        assert c.connect_to_host("multi.test", 8080) == Error.OK
        assert c.get_status() == Status.STATUS_RESOLVING
        trace = poll_while_waiting(c)
        assert c.get_status() == Status.STATUS_CONNECTED, (trace, c.get_last_error())
        assert Error.ERR_CANT_CONNECT not in [result for result, _ in trace]
        assert tcp_connection_of(c).get_connected_port() == srv.port
        assert c.request(HTTPClient.METHOD_GET, "/multi", []) == Error.OK
        poll_while_waiting(c)
        assert read_body(c) == b"ok"
        c.close()
    assert srv.connections == 1
    # The Host header names the host asked for, not the address connected to.
    assert srv.requests == [b"GET /multi HTTP/1.1\r\nHost: multi.test:8080\r\n" + DEFAULTS_TAIL]


def test_all_addresses_refused():
    first, second = closed_port(), closed_port()
    resolver = resolving_to(("127.0.0.1", first), ("127.0.0.1", second))
    c = HTTPClient(resolver=resolver)
    assert c.connect_to_host("refused.test", 8080) == Error.OK
    trace = poll_while_waiting(c)
    assert trace[-1] == (Error.ERR_CANT_CONNECT, Status.STATUS_CANT_CONNECT)
    assert [(c.poll(), c.get_status()) for _ in range(2)] == [
        (Error.ERR_CANT_CONNECT, Status.STATUS_CANT_CONNECT)
    ] * 2
    error = c.get_last_error()
    assert isinstance(error, ConnectError)
    text = str(error)
    assert text.lower().count("refused") == 2, text
    assert str(first) in text
    assert str(second) in text
    assert c.get_connection() is None
    c.close()
    assert c.poll() == Error.ERR_UNCONFIGURED


# -- the Host header and the default fields -----------------------------------------------------


def test_host_header_for_a_name_on_port_80_has_no_port():
    with ScriptedServer([OK_SCRIPT]) as srv:
        c = HTTPClient(resolver=resolving_to(("127.0.0.1", srv.port)))
        assert c.connect_to_host("Named.Example.test") == Error.OK
        poll_while_waiting(c)
        assert c.get_status() == Status.STATUS_CONNECTED, c.get_last_error()
        assert c.request(HTTPClient.METHOD_GET, "/n", []) == Error.OK
        poll_while_waiting(c)
        assert read_body(c) == b"ok"
        c.close()
    assert srv.requests == [b"GET /n HTTP/1.1\r\nHost: named.example.test\r\n" + DEFAULTS_TAIL]


HOST = b"{HOST}"

# (id, method, url, headers, body, the exact request; {HOST} is "127.0.0.1:PORT")
WIRE_CASES = [
    (
        "plain-get",
        Method.METHOD_GET,
        "/x",
        [],
        "",
        b"GET /x HTTP/1.1\r\nHost: {HOST}\r\n" + DEFAULTS_TAIL,
    ),
    (
        "user-host-replaces-ours",
        Method.METHOD_GET,
        "/",
        ["Host: other.test"],
        "",
        b"GET / HTTP/1.1\r\nHost: other.test\r\n" + DEFAULTS_TAIL,
    ),
    (
        "user-host-any-case",
        Method.METHOD_GET,
        "/",
        ["X-First: 1", "hOsT: other.test:8080"],
        "",
        b"GET / HTTP/1.1\r\nX-First: 1\r\nhOsT: other.test:8080\r\n" + DEFAULTS_TAIL,
    ),
    (
        "user-agent-and-accept-any-case",
        Method.METHOD_GET,
        "/",
        ["user-agent: mine/1.0", "ACCEPT: text/plain"],
        "",
        b"GET / HTTP/1.1\r\nHost: {HOST}\r\nuser-agent: mine/1.0\r\nACCEPT: text/plain\r\n\r\n",
    ),
    (
        "accept-encoding-keeps-accept",
        Method.METHOD_GET,
        "/",
        ["Accept-Encoding: gzip"],
        "",
        b"GET / HTTP/1.1\r\nHost: {HOST}\r\nAccept-Encoding: gzip\r\n" + DEFAULTS_TAIL,
    ),
    (
        "godot-verify-headers-valid",
        Method.METHOD_GET,
        "/v",
        ["Accept: text/html", "Content-Type: application/json", "Authorization: Bearer abc123"],
        "",
        b"GET /v HTTP/1.1\r\nHost: {HOST}\r\nAccept: text/html\r\n"
        b"Content-Type: application/json\r\nAuthorization: Bearer abc123\r\n" + UA + b"\r\n\r\n",
    ),
    (
        "empty-header-value",
        Method.METHOD_GET,
        "/",
        ["X-Empty: "],
        "",
        b"GET / HTTP/1.1\r\nHost: {HOST}\r\nX-Empty:\r\n" + DEFAULTS_TAIL,
    ),
    (
        "get-sends-body",  # RFC 9110 §9.3.1 allows content in a GET; Godot drops it
        Method.METHOD_GET,
        "/g",
        [],
        "sent",
        b"GET /g HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 4\r\n"
        b"User-Agent: pollhttp/0.1.0\r\nAccept: */*\r\n\r\nsent",
    ),
    (
        "post-str-body-is-utf8",
        Method.METHOD_POST,
        "/p",
        ["Content-Type: text/plain; charset=utf-8"],
        "h\u00e9llo \u2713",
        b"POST /p HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Length: 10\r\n" + DEFAULTS_TAIL + "h\u00e9llo \u2713".encode(),
    ),
    (
        "post-bytes-body",
        Method.METHOD_POST,
        "/b",
        [],
        b"\x00\xff\r\n",
        b"POST /b HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 4\r\n"
        + DEFAULTS_TAIL
        + b"\x00\xff\r\n",
    ),
    (
        "post-empty-body",
        Method.METHOD_POST,
        "/e",
        [],
        "",
        b"POST /e HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 0\r\n" + DEFAULTS_TAIL,
    ),
    (
        "put-empty-body",
        Method.METHOD_PUT,
        "/e",
        [],
        "",
        b"PUT /e HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 0\r\n" + DEFAULTS_TAIL,
    ),
    (
        "patch-body",
        Method.METHOD_PATCH,
        "/e",
        [],
        "z",
        b"PATCH /e HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 1\r\n" + DEFAULTS_TAIL + b"z",
    ),
    (
        "delete-no-length",
        Method.METHOD_DELETE,
        "/d",
        [],
        "",
        b"DELETE /d HTTP/1.1\r\nHost: {HOST}\r\n" + DEFAULTS_TAIL,
    ),
    (
        "user-content-length-matching",
        Method.METHOD_POST,
        "/cl",
        ["Content-Length: 3"],
        "abc",
        b"POST /cl HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 3\r\n" + DEFAULTS_TAIL + b"abc",
    ),
    (
        "fragment-not-sent",
        Method.METHOD_GET,
        "/f?q=1#frag",
        [],
        "",
        b"GET /f?q=1 HTTP/1.1\r\nHost: {HOST}\r\n" + DEFAULTS_TAIL,
    ),
    (
        "non-ascii-path-percent-encoded",
        Method.METHOD_GET,
        "/caf\u00e9/\u00fc?q=\u00e4#\u00df",
        [],
        "",
        b"GET /caf%C3%A9/%C3%BC?q=%C3%A4 HTTP/1.1\r\nHost: {HOST}\r\n" + DEFAULTS_TAIL,
    ),
    (
        "existing-escapes-kept",
        Method.METHOD_GET,
        "/a%20b/\u00e9",
        [],
        "",
        b"GET /a%20b/%C3%A9 HTTP/1.1\r\nHost: {HOST}\r\n" + DEFAULTS_TAIL,
    ),
    (
        "options-star",
        Method.METHOD_OPTIONS,
        "*",
        [],
        "",
        b"OPTIONS * HTTP/1.1\r\nHost: {HOST}\r\n" + DEFAULTS_TAIL,
    ),
    (
        "absolute-form",
        Method.METHOD_GET,
        "http://a.test/abs",
        [],
        "",
        b"GET http://a.test/abs HTTP/1.1\r\nHost: {HOST}\r\n" + DEFAULTS_TAIL,
    ),
    (
        "header-pairs-and-lines",
        Method.METHOD_GET,
        "/h",
        [("X-A", "1"), "X-B: 2", ["X-C", "3"]],
        "",
        b"GET /h HTTP/1.1\r\nHost: {HOST}\r\nX-A: 1\r\nX-B: 2\r\nX-C: 3\r\n" + DEFAULTS_TAIL,
    ),
    (
        "header-mapping",
        Method.METHOD_GET,
        "/h",
        {"X-A": "1", "X-Skipped": None},
        "",
        b"GET /h HTTP/1.1\r\nHost: {HOST}\r\nX-A: 1\r\n" + DEFAULTS_TAIL,
    ),
    (
        "none-leaves-defaults-out",
        Method.METHOD_GET,
        "/h",
        [("User-Agent", None), ("accept", None)],
        "",
        b"GET /h HTTP/1.1\r\nHost: {HOST}\r\n\r\n",
    ),
    (
        "empty-value-is-sent",
        Method.METHOD_GET,
        "/h",
        [("X-Empty", "")],
        "",
        b"GET /h HTTP/1.1\r\nHost: {HOST}\r\nX-Empty:\r\n" + DEFAULTS_TAIL,
    ),
    (
        "body-bytearray",
        Method.METHOD_PUT,
        "/b",
        [],
        bytearray(b"ab"),
        b"PUT /b HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 2\r\n" + DEFAULTS_TAIL + b"ab",
    ),
    (
        "body-memoryview",
        Method.METHOD_PUT,
        "/b",
        [],
        memoryview(b"xyz")[1:],
        b"PUT /b HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 2\r\n" + DEFAULTS_TAIL + b"yz",
    ),
    (
        "method-token-as-text",  # RFC 9110 §9.1: any token; Godot takes only its nine
        "PROPFIND",
        "/dav",
        [],
        "",
        b"PROPFIND /dav HTTP/1.1\r\nHost: {HOST}\r\n" + DEFAULTS_TAIL,
    ),
    (
        "method-as-plain-int",
        3,
        "/i",
        [],
        "",
        b"PUT /i HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 0\r\n" + DEFAULTS_TAIL,
    ),
]


@pytest.mark.parametrize(
    ("method", "url", "headers", "body", "expected"),
    [case[1:] for case in WIRE_CASES],
    ids=[case[0] for case in WIRE_CASES],
)
def test_request_bytes_on_the_wire(server, method, url, headers, body, expected):
    received = exchange(server, method, url, headers, body)
    host = b"127.0.0.1:%d" % server.port
    assert received == expected.replace(HOST, host)


# -- request validation ----------------------------------------------------------------------

# (id, method, url, headers, body): each must be refused with ERR_INVALID_PARAMETER.
INVALID_REQUESTS = [
    # The URL (ecosystem.md §3.3 case 2).
    ("url-cr", Method.METHOD_GET, "/a\rb", [], ""),
    ("url-lf", Method.METHOD_GET, "/a\nb", [], ""),
    ("url-nul", Method.METHOD_GET, "/a\0b", [], ""),
    ("url-crlf-injection", Method.METHOD_GET, "/x HTTP/1.1\r\nX-Inj: 1\r\n\r\nGET /y", [], ""),
    ("url-space", Method.METHOD_GET, "/a b", [], ""),
    ("url-tab", Method.METHOD_GET, "/a\tb", [], ""),
    ("url-del", Method.METHOD_GET, "/a\x7fb", [], ""),
    ("url-no-slash", Method.METHOD_GET, "index.html", [], ""),
    ("url-empty", Method.METHOD_GET, "", [], ""),
    ("url-star-with-get", Method.METHOD_GET, "*", [], ""),
    ("url-other-scheme", Method.METHOD_GET, "ftp://a.test/x", [], ""),
    # CONNECT needs host:port (case 7).
    ("connect-path", Method.METHOD_CONNECT, "/x", [], ""),
    ("connect-no-port", Method.METHOD_CONNECT, "a.test", [], ""),
    ("connect-no-host", Method.METHOD_CONNECT, ":443", [], ""),
    ("connect-port-0", Method.METHOD_CONNECT, "a.test:0", [], ""),
    ("connect-port-too-big", Method.METHOD_CONNECT, "a.test:70000", [], ""),
    # Methods out of range.
    ("method-max", Method.METHOD_MAX, "/", [], ""),
    ("method-minus-1", -1, "/", [], ""),
    ("method-99", 99, "/", [], ""),
    ("method-bool", True, "/", [], ""),
    ("method-not-a-token", "GE T", "/", [], ""),
    ("method-empty", "", "/", [], ""),
    ("method-not-ascii", "GÉT", "/", [], ""),
    ("method-float", 0.0, "/", [], ""),
    # Header names (case 4).
    ("name-cr", Method.METHOD_GET, "/", ["X\rA: b"], ""),
    ("name-lf", Method.METHOD_GET, "/", ["X\nA: b"], ""),
    ("name-nul", Method.METHOD_GET, "/", ["X\0A: b"], ""),
    ("name-space", Method.METHOD_GET, "/", ["X A: b"], ""),
    ("name-space-before-colon", Method.METHOD_GET, "/", ["X-A : b"], ""),
    ("name-leading-crlf", Method.METHOD_GET, "/", ["\r\nX-A: b"], ""),
    ("name-not-ascii", Method.METHOD_GET, "/", ["N\u00e4me: b"], ""),
    # Header values (case 3).
    ("value-cr", Method.METHOD_GET, "/", ["X-A: b\rc"], ""),
    ("value-lf", Method.METHOD_GET, "/", ["X-A: b\nc"], ""),
    ("value-nul", Method.METHOD_GET, "/", ["X-A: b\0c"], ""),
    ("value-crlf-injection", Method.METHOD_GET, "/", ["X-A: a\r\nX-Inj: 1"], ""),
    ("value-ecosystem-case-4", Method.METHOD_GET, "/", ["X-A: b\r\nX"], ""),
    ("value-trailing-crlf", Method.METHOD_GET, "/", ["X-A: b\r\n"], ""),
    ("value-del", Method.METHOD_GET, "/", ["X-A: b\x7f"], ""),
    ("value-ctl", Method.METHOD_GET, "/", ["X-A: \x01"], ""),
    ("host-value-crlf", Method.METHOD_GET, "/", ["Host: a.test\r\nX-Inj: 1"], ""),
    # Godot's verify_headers cases.
    ("header-empty", Method.METHOD_GET, "/", [""], ""),
    ("header-blank", Method.METHOD_GET, "/", ["   "], ""),
    ("header-no-colon", Method.METHOD_GET, "/", ["InvalidHeader"], ""),
    ("header-colon-only", Method.METHOD_GET, "/", [":"], ""),
    ("header-colon-first", Method.METHOD_GET, "/", [":x"], ""),
    ("godot-no-colon-then-valid", Method.METHOD_GET, "/", ["InvalidHeader", "Header: "], ""),
    ("godot-colon-then-valid", Method.METHOD_GET, "/", [":", "Header: "], ""),
    ("valid-then-invalid", Method.METHOD_GET, "/", ["Header: ok", "Bad"], ""),
    # Framing the caller cannot mean (case 5), and two Hosts.
    ("length-mismatch", Method.METHOD_POST, "/", ["Content-Length: 3"], "ab"),
    (
        "length-and-chunked",
        Method.METHOD_POST,
        "/",
        ["Content-Length: 2", "Transfer-Encoding: chunked"],
        "ab",
    ),
    ("two-hosts", Method.METHOD_GET, "/", ["Host: a.test", "Host: b.test"], ""),
    ("host-left-out", Method.METHOD_GET, "/", [("Host", None)], ""),
    # Wrong types (issue 19): never bytes(5) = five NUL bytes, never a header per character.
    ("body-int", Method.METHOD_POST, "/", [], 5),
    ("body-bool", Method.METHOD_POST, "/", [], True),
    ("body-none", Method.METHOD_POST, "/", [], None),
    ("body-list", Method.METHOD_POST, "/", [], [1, 2]),
    ("body-iterator", Method.METHOD_POST, "/", [], iter([b"a"])),
    ("url-none", Method.METHOD_GET, None, [], ""),
    ("url-bytes", Method.METHOD_GET, b"/", [], ""),
    ("headers-one-string", Method.METHOD_GET, "/", "X-A: 1", ""),
    ("headers-int", Method.METHOD_GET, "/", 5, ""),
    ("header-name-not-str", Method.METHOD_GET, "/", [(None, "x")], ""),
    ("header-value-bytes", Method.METHOD_GET, "/", [("X-A", b"1")], ""),
    ("header-triple", Method.METHOD_GET, "/", [("X-A", "1", "2")], ""),
    ("header-int-item", Method.METHOD_GET, "/", [5], ""),
]


@pytest.mark.parametrize(
    ("method", "url", "headers", "body"),
    [case[1:] for case in INVALID_REQUESTS],
    ids=[case[0] for case in INVALID_REQUESTS],
)
def test_invalid_request_is_refused_and_nothing_is_sent(server, method, url, headers, body):
    c = HTTPClient()
    try:
        connect(c, "127.0.0.1", server.port)
        before = len(server.requests)
        assert c.request(method, url, headers, body) == Error.ERR_INVALID_PARAMETER
        assert isinstance(c.get_last_error(), InvalidParameterError)
        assert c.get_status() == Status.STATUS_CONNECTED
        assert (c.poll(), c.get_status()) == (Error.OK, Status.STATUS_CONNECTED)
        # The connection still works, and only the valid request reaches the server.
        assert c.request(HTTPClient.METHOD_GET, "/after", []) == Error.OK
        poll_while_waiting(c)
        assert read_body(c) == b"ok"
    finally:
        c.close()
    assert server.requests[before:] == [
        b"GET /after HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % server.port + DEFAULTS_TAIL
    ]


@pytest.mark.parametrize(
    ("url", "headers", "body"),
    [("/\ud800", [], ""), ("/", ["X-A: \ud800"], ""), ("/", [], "\ud800")],
    ids=["url", "header", "body"],
)
def test_text_that_cannot_be_utf8_is_an_invalid_parameter(url, headers, body):
    # A lone surrogate cannot be encoded: request() must return the error, not raise.
    peer = ScriptedStreamPeer([])
    c = HTTPClient()
    c.set_connection(peer)
    assert c.request(HTTPClient.METHOD_POST, url, headers, body) == Error.ERR_INVALID_PARAMETER
    assert c.get_status() == Status.STATUS_CONNECTED
    assert peer.written == b""


@pytest.mark.parametrize("closed", [False, True], ids=["open", "closed"])
def test_a_file_object_is_not_a_header_list(tmp_path, closed):
    """Refused by its type: iterating it would give lines, or raise once it is closed."""
    path = tmp_path / "headers.txt"
    path.write_text("X-A: 1\n")
    peer = ScriptedStreamPeer([])
    c = HTTPClient()
    c.set_connection(peer)
    with path.open() as handle:
        if closed:
            handle.close()
        assert c.request(HTTPClient.METHOD_GET, "/", handle) == Error.ERR_INVALID_PARAMETER
    error = c.get_last_error()
    assert isinstance(error, InvalidTypeError)
    assert "headers must be a list of" in str(error)
    assert c.get_status() == Status.STATUS_CONNECTED
    assert peer.written == b""


def test_request_needs_status_connected():
    ok_request: tuple[Method, str, list[str]] = (HTTPClient.METHOD_GET, "/", [])
    # DISCONNECTED
    c = HTTPClient()
    assert c.request(*ok_request) == Error.ERR_INVALID_PARAMETER
    assert c.get_status() == Status.STATUS_DISCONNECTED
    assert isinstance(c.get_last_error(), InvalidParameterError)
    # RESOLVING
    c = HTTPClient(resolver=FakeResolver())
    assert c.connect_to_host("slow.test", 8080) == Error.OK
    assert c.request(*ok_request) == Error.ERR_INVALID_PARAMETER
    assert c.get_status() == Status.STATUS_RESOLVING
    c.close()
    # REQUESTING and BODY
    peer = ScriptedStreamPeer([WOULD_BLOCK, b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab"])
    c = HTTPClient()
    c.set_connection(peer)
    assert c.request(*ok_request) == Error.OK
    assert c.request(*ok_request) == Error.ERR_INVALID_PARAMETER
    assert c.get_status() == Status.STATUS_REQUESTING
    assert [c.poll(), c.poll()] == [Error.OK, Error.OK]
    assert c.get_status() == Status.STATUS_BODY
    assert c.request(*ok_request) == Error.ERR_INVALID_PARAMETER
    assert c.get_status() == Status.STATUS_BODY
    assert peer.written.count(b"GET / HTTP/1.1") == 1


def test_request_while_connecting_is_refused(server, client):
    assert client.connect_to_host("127.0.0.1", server.port) == Error.OK
    assert client.get_status() == Status.STATUS_CONNECTING
    assert client.request(HTTPClient.METHOD_GET, "/", []) == Error.ERR_INVALID_PARAMETER
    assert client.get_status() == Status.STATUS_CONNECTING
    poll_while_waiting(client)
    assert client.get_status() == Status.STATUS_CONNECTED


# -- blocking mode ---------------------------------------------------------------------------


def test_blocking_poll_sleeps_instead_of_spinning():
    with ScriptedServer([[Read(), Pause(1.0), Send(response(body=b"late"))]]) as srv:
        c = HTTPClient()
        connect(c, "127.0.0.1", srv.port)
        assert c.request(HTTPClient.METHOD_GET, "/slow", []) == Error.OK
        c.set_blocking_mode(True)
        assert c.is_blocking_mode_enabled()
        cpu_before, wall_before = time.thread_time(), time.monotonic()
        result = c.poll()
        cpu, wall = time.thread_time() - cpu_before, time.monotonic() - wall_before
        assert (result, c.get_status()) == (Error.OK, Status.STATUS_BODY)
        assert c.get_response_code() == 200
        assert wall >= 0.5  # it did wait for the server...
        assert cpu < 0.15, f"poll() burnt {cpu:.3f} s of CPU in {wall:.3f} s"  # ...asleep
        assert c.read_response_body_chunk() == b"late"
        assert c.get_status() == Status.STATUS_CONNECTED
        c.close()


def test_blocking_connect_and_body_in_full_chunks():
    body = bytes(range(256)) * 4  # 1024 bytes
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
    script = [Read(), Send(head)]
    for start, end in ((0, 100), (100, 400), (400, 450), (450, 1000)):
        script += [Pause(0.02), Send(body[start:end])]
    with ScriptedServer([script]) as srv:
        c = HTTPClient()
        c.set_blocking_mode(True)
        c.set_read_chunk_size(256)
        assert c.connect_to_host("127.0.0.1", srv.port) == Error.OK
        assert c.get_status() == Status.STATUS_CONNECTING
        assert (c.poll(), c.get_status()) == (Error.OK, Status.STATUS_CONNECTED)
        assert c.request(HTTPClient.METHOD_GET, "/big", []) == Error.OK
        assert (c.poll(), c.get_status()) == (Error.OK, Status.STATUS_BODY)
        chunks = [c.read_response_body_chunk() for _ in range(4)]
        assert [len(chunk) for chunk in chunks] == [256, 256, 256, 232]
        assert b"".join(chunks) == body[:1000]
        assert c.get_status() == Status.STATUS_CONNECTED
        c.close()


# -- set_connection / get_connection ---------------------------------------------------------------


def _tcp_connected_by_hand(port: int) -> StreamPeerTCP:
    tcp = StreamPeerTCP()
    assert tcp.connect_to_host("127.0.0.1", port) == Error.OK
    deadline = time.monotonic() + 5
    while tcp.get_status() == StreamPeerTCP.STATUS_CONNECTING:
        assert time.monotonic() < deadline, "connect timed out"
        tcp.wait(readable=False, writable=True, timeout=0.1)
        tcp.poll()
    assert tcp.get_status() == StreamPeerTCP.STATUS_CONNECTED, tcp.get_last_error()
    return tcp


def test_set_connection_with_a_tcp_peer_connected_by_hand(server, client):
    tcp = _tcp_connected_by_hand(server.port)
    try:
        before = len(server.requests)
        client.set_connection(tcp)
        assert client.get_connection() is tcp
        assert client.get_status() == Status.STATUS_CONNECTED
        # Godot checks its own (unconnected) TCP socket here and fails; this must not.
        assert (client.poll(), client.get_status()) == (Error.OK, Status.STATUS_CONNECTED)
        assert client.request(HTTPClient.METHOD_GET, "/sc", []) == Error.OK
        poll_while_waiting(client)
        assert client.get_status() == Status.STATUS_BODY, client.get_last_error()
        assert read_body(client) == b"ok"
        assert client.get_status() == Status.STATUS_CONNECTED
        # A second request on the same stream; Host comes from an absolute URL.
        assert client.request(HTTPClient.METHOD_GET, "http://a.test:81/abs", []) == Error.OK
        poll_while_waiting(client)
        assert read_body(client) == b"ok"
        assert client.get_connection() is tcp
    finally:
        client.close()
        tcp.close()
    assert server.requests[before:] == [
        b"GET /sc HTTP/1.1\r\nHost:\r\n" + DEFAULTS_TAIL,
        b"GET http://a.test:81/abs HTTP/1.1\r\nHost: a.test:81\r\n" + DEFAULTS_TAIL,
    ]
    assert client.get_connection() is None


def test_set_connection_with_a_scripted_peer():
    peer = ScriptedStreamPeer([b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"])
    c = HTTPClient()
    c.set_connection(peer)
    assert c.get_connection() is peer
    assert c.connection is peer
    assert c.get_status() == Status.STATUS_CONNECTED
    c.set_connection(peer)  # the same stream again changes nothing
    assert c.get_status() == Status.STATUS_CONNECTED
    assert not peer.closed
    assert c.request(HTTPClient.METHOD_POST, "/s", [], "x") == Error.OK
    assert (c.poll(), c.get_status()) == (Error.OK, Status.STATUS_BODY)
    assert c.read_response_body_chunk() == b"hello"
    assert c.get_status() == Status.STATUS_CONNECTED
    assert bytes(peer.written) == (
        b"POST /s HTTP/1.1\r\nHost:\r\nContent-Length: 1\r\n" + DEFAULTS_TAIL + b"x"
    )
    c.close()
    assert peer.closed
    assert c.get_connection() is None


def test_set_connection_none_changes_nothing():
    peer = ScriptedStreamPeer([])
    c = HTTPClient()
    c.set_connection(peer)
    c.set_connection(None)  # type: ignore[arg-type]  # the argument check under test
    assert c.get_connection() is peer
    assert c.get_status() == Status.STATUS_CONNECTED
    assert isinstance(c.get_last_error(), InvalidParameterError)


@pytest.mark.parametrize("connection", [5, "peer", HTTPClient, b""], ids=repr)
def test_set_connection_refuses_what_is_no_stream_peer(connection):
    """A Godot setter: the value is refused and the reason kept, nothing raised."""
    peer = ScriptedStreamPeer([])
    c = HTTPClient()
    c.set_connection(peer)
    c.set_connection(connection)
    assert c.get_connection() is peer
    error = c.get_last_error()
    assert isinstance(error, InvalidTypeError)
    assert "connection must be a StreamPeer" in str(error)
    c.connection = connection
    assert c.connection is peer


# -- query_string_from_dict --------------------------------------------------------------------


def test_query_string_from_dict_on_class_and_instance():
    assert HTTPClient.query_string_from_dict({"a": 1}) == "a=1"
    assert HTTPClient().query_string_from_dict({"a": 1}) == "a=1"
    # Godot's own cases.
    assert HTTPClient.query_string_from_dict({}) == ""
    assert HTTPClient.query_string_from_dict({"key": "value"}) == "key=value"
    fields = {"key1": "value", "key2": 123, "key3": [1, 2, 3], "key4": None}
    assert (
        HTTPClient.query_string_from_dict(fields) == "key1=value&key2=123&key3=1&key3=2&key3=3&key4"
    )


@pytest.mark.parametrize("fields", [None, ["a", "b"], "a=1", 5], ids=repr)
def test_query_string_from_dict_needs_a_mapping(fields):
    with pytest.raises(InvalidTypeError, match="fields must be a mapping"):
        HTTPClient.query_string_from_dict(fields)


@pytest.mark.parametrize("fields", [{"a": "\ud800"}, {"\udcff": 1}, {"a": ["x", "\ud800"]}])
def test_query_string_from_dict_refuses_text_with_lone_surrogates(fields):
    with pytest.raises(InvalidParameterError, match="not valid Unicode"):
        HTTPClient.query_string_from_dict(fields)


# -- settings that are objects: checked where they are given ----------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"limits": 0}, "limits must be Limits or None, not int"),
        ({"limits": {"max_headers": 5}}, "limits must be Limits or None, not dict"),
        ({"resolver": 0}, "resolver must be callable"),
        ({"resolver": "localhost"}, "resolver must be callable"),
    ],
    ids=repr,
)
def test_constructor_refuses_wrong_limits_and_resolver(kwargs, match):
    with pytest.raises(InvalidTypeError, match=match):
        HTTPClient(**kwargs)


def test_limits_and_trace_are_checked_when_set(client):
    limits = client.limits
    with pytest.raises(InvalidTypeError, match="limits must be Limits"):
        client.limits = None
    assert client.limits is limits
    small = pollhttp.Limits(max_headers=5)
    client.limits = small
    assert client.limits is small
    with pytest.raises(InvalidTypeError, match="trace must be callable"):
        client.trace = "trace.log"
    assert client.trace is None
    events: list[str] = []
    client.trace = lambda event, details: events.append(event)
    assert client.connect_to_host("127.0.0.1", closed_port()) == Error.OK
    client.trace = None
    assert events  # the status change to CONNECTING


@pytest.mark.parametrize(
    "answer",
    [
        lambda host, port: None,
        lambda host, port: [("127.0.0.1", port)],
        lambda host: Resolution(),  # called with (host, port): a TypeError
    ],
    ids=["None", "a list", "wrong arity"],
)
def test_a_resolver_that_gives_no_resolution_fails_the_lookup(answer):
    """Not an assert or an AttributeError inside poll(): CANT_RESOLVE, saying why."""
    c = HTTPClient(resolver=answer)
    assert c.connect_to_host("named.test", 80) == Error.ERR_CANT_RESOLVE
    assert c.get_status() == Status.STATUS_CANT_RESOLVE
    error = c.get_last_error()
    assert isinstance(error, ResolveError)
    assert "the resolver" in str(error)
    assert c.poll() == Error.ERR_CANT_RESOLVE


@pytest.mark.parametrize("value", [None, "512", 512.0, True, [512]], ids=repr)
def test_read_chunk_size_of_a_wrong_type_is_ignored_with_the_reason_kept(client, value):
    """Godot ignores a size it cannot take; the type is refused the same way."""
    client.read_chunk_size = value
    assert client.read_chunk_size == 65536
    error = client.get_last_error()
    assert isinstance(error, InvalidTypeError)
    assert "read_chunk_size must be an int" in str(error)
    client.set_read_chunk_size(100)
    assert isinstance(client.get_last_error(), InvalidParameterError)
    client.set_read_chunk_size(512)
    assert client.get_read_chunk_size() == 512


def test_use_proxy_needs_a_proxy_and_a_flag(client):
    with pytest.raises(InvalidTypeError, match="proxy must be a Proxy"):
        client.use_proxy(bytearray(), for_https=False)
    with pytest.raises(InvalidTypeError, match="proxy must be a Proxy"):
        client.use_proxy("http://proxy.test:3128", for_https=True)
    with pytest.raises(InvalidTypeError, match="for_https must be True or False"):
        client.use_proxy(None, for_https="no")
    client.use_proxy(Proxy("127.0.0.1", 3128), for_https=False)
    client.use_proxy(None, for_https=False)


# -- GDScript-style names and the enums --------------------------------------------------------


def test_gdscript_style_aliases():
    assert HTTPClient.METHOD_POST == 2
    assert HTTPClient.STATUS_BODY == 7
    assert HTTPClient.RESPONSE_NOT_FOUND == 404
    # An IntEnum member equals its number; strict_equality does not know that (comparison-overlap).
    assert HTTPClient.Method.METHOD_MAX == 9  # type: ignore[comparison-overlap]
    assert HTTPClient.Status.STATUS_TLS_HANDSHAKE_ERROR == 9  # type: ignore[comparison-overlap]
    assert HTTPClient.ResponseCode.RESPONSE_OK == 200  # type: ignore[comparison-overlap]
    assert HTTPClient.METHOD_POST is Method.METHOD_POST
    assert HTTPClient().STATUS_BODY is Status.STATUS_BODY
    # Every member of the three enums is also a constant on the class.
    for enum in (Method, Status, ResponseCode):
        for member in enum:
            assert getattr(HTTPClient, member.name) is member, member.name


def test_error_enum_is_godots():
    assert len(Error) == 49
    assert [int(member) for member in Error] == list(range(49))
    # An IntEnum member equals its number; strict_equality does not know that (comparison-overlap).
    assert Error.OK == 0  # type: ignore[comparison-overlap]
    assert Error(48).name == "ERR_PRINTER_ON_FIRE"
    assert Error.ERR_CANT_CONNECT == 25  # type: ignore[comparison-overlap]
    assert Error.ERR_CANT_RESOLVE == 26  # type: ignore[comparison-overlap]
    assert Error.ERR_CONNECTION_ERROR == 27  # type: ignore[comparison-overlap]
    assert Error.ERR_INVALID_PARAMETER == 31  # type: ignore[comparison-overlap]


REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference"
ENUMS = Path(__file__).resolve().parents[1] / "data" / "godot_http_client_enums.json"


def _class_reference_enums() -> dict[str, dict[str, int]]:
    """The enums of Godot's class reference, names and numbers (tests/data, from HTTPClient.txt)."""
    loaded: dict[str, dict[str, int]] = json.loads(ENUMS.read_text(encoding="utf-8"))
    return loaded


def test_enums_match_the_class_reference():
    reference = _class_reference_enums()
    assert set(reference) == {"Method", "Status", "ResponseCode"}
    ours = {"Method": Method, "Status": Status, "ResponseCode": ResponseCode}
    for enum_name, members in reference.items():
        enum = ours[enum_name]
        assert members, enum_name
        for name, value in members.items():
            assert getattr(HTTPClient, name) == value, name
            assert enum[name] == value, name
        # ...and vice versa: nothing extra on our side.
        assert {member.name: int(member) for member in enum} == members, enum_name
    assert len(reference["Method"]) == 10
    assert len(reference["Status"]) == 10
    assert reference["ResponseCode"]["RESPONSE_NON_AUTHORITATIVE_INFORMATION"] == 203
    assert reference["ResponseCode"]["RESPONSE_NETWORK_AUTH_REQUIRED"] == 511


def test_error_enum_matches_godot_behaviour_table():
    # godot-behaviour.md §1.4 lists every Error with its error_string() text.
    text = (REFERENCE / "godot-behaviour.md").read_text(encoding="utf-8")
    rows = re.findall(r'^\| (\d+) \| (OK|FAILED|ERR_\w+) \| "([^"]*)" \|$', text, re.MULTILINE)
    assert len(rows) == 49
    for value, name, description in rows:
        assert Error[name] == int(value), name
        assert Error[name].describe() == description, name
