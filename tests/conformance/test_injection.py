"""Conformance: request construction and injection (ecosystem.md §3.3 cases 1-7, Godot §7.1.17).

CR, LF and NUL (and the other characters that could split a request) in every input are
rejected with ``ERR_INVALID_PARAMETER`` or percent-encoded, and never reach the wire. A
capturing server proves it: after a refused call the client sends a valid request on the
same connection, and the first bytes the server received must be exactly that request.

Inputs: the method, the URL/target, header names and values, the host and port, the proxy
host and credentials, query-dictionary keys and values, and (in HTTPRequest) the URL. The
redirect ``Location`` is in test_redirects.py (case 36).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

import pollhttp
from pollhttp import (
    Error,
    HTTPClient,
    InvalidParameterError,
    Method,
    Resolution,
    Status,
    __version__,
)

from ..support.servers import Close, Read, ScriptedServer, Send, response
from .harness import complete, make_request

GET, POST, CONNECT, OPTIONS = (
    Method.METHOD_GET,
    Method.METHOD_POST,
    Method.METHOD_CONNECT,
    Method.METHOD_OPTIONS,
)
ANSWER = response(body=b"ok")
#: Bytes that must never come from an input onto the wire.
FORBIDDEN = (b"\r\nX-Inj", b"\nX-Inj", b"\rX-Inj", b"\0", b"X-Inj: 1\r\n")


def expected_get(port: int, target: str = "/after") -> bytes:
    return (
        f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"User-Agent: pollhttp/{__version__}\r\nAccept: */*\r\n\r\n"
    ).encode()


class RecordingResolver:
    """Maps every name to 127.0.0.1:port and records each lookup."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.asked: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> Resolution:
        self.asked.append((host, port))
        return Resolution.finished([("127.0.0.1", self.port)])


# -- inputs to a connected HTTPClient's request() ----------------------------------------------


@dataclass(frozen=True)
class BadRequest:
    """A request() call that must be refused: ``(method, url, headers, body)``."""

    method: object
    url: str
    headers: tuple[str, ...] = ()
    body: bytes = b""


def bad(case_id: str, title: str, method: object, url: str, *headers: str, body: bytes = b""):
    return pytest.param(BadRequest(method, url, headers, body), id=f"{case_id}-{title}")


REQUESTS = [
    # 1: the method
    bad("E01", "method-with-crlf-as-text", "GET /x HTTP/1.1\r\nX-Inj: 1", "/"),
    bad("E01b", "method-text-not-a-token", "GET /", "/"),  # any token is a method; not this
    bad("E01g", "method-text-with-nul", "GE\0T", "/"),
    bad("E01c", "method-max", Method.METHOD_MAX, "/"),
    bad("E01d", "method-negative", -1, "/"),
    bad("E01e", "method-bool", True, "/"),
    bad("E01f", "method-out-of-range", 99, "/"),
    # 2: the URL / target
    bad("E02", "url-crlf", GET, "/a\r\nX-Inj: 1"),
    bad("E02b", "url-lf", GET, "/a\nX-Inj: 1"),
    bad("E02c", "url-cr", GET, "/a\rX-Inj: 1"),
    bad("E02d", "url-nul", GET, "/a\0b"),
    bad("E02e", "url-space", GET, "/a b HTTP/1.1\r\nX-Inj: 1"),
    bad("E02f", "url-tab", GET, "/a\tb"),
    bad("E02g", "url-del", GET, "/a\x7fb"),
    bad("E02h", "url-without-slash", GET, "a"),
    bad("E02i", "url-empty", GET, ""),
    bad("E02j", "absolute-url-crlf", GET, "http://127.0.0.1/\r\nX-Inj: 1"),
    bad("E02k", "asterisk-for-get", GET, "*"),
    bad("E02l", "query-without-path", GET, "?a=1"),
    # 3: header values
    bad("E03", "value-crlf", GET, "/", "X-A: a\r\nX-Inj: 1"),
    bad("E03b", "value-lf", GET, "/", "X-A: a\nX-Inj: 1"),
    bad("E03c", "value-cr", GET, "/", "X-A: a\rX-Inj: 1"),
    bad("E03d", "value-nul", GET, "/", "X-A: a\0b"),
    bad("E03e", "value-ctl", GET, "/", "X-A: a\x01b"),
    bad("E03f", "value-del", GET, "/", "X-A: a\x7fb"),
    bad("E03g", "host-value-crlf", GET, "/", "Host: a\r\nX-Inj: 1"),
    bad("E03h", "value-crlf-in-second-header", GET, "/", "X-A: 1", "X-B: b\r\n\r\nGET /inj"),
    # 4: header names
    bad("E04", "name-crlf", GET, "/", "X-A\r\nX-Inj: 1"),
    bad("E04b", "name-with-space", GET, "/", "X A: b"),
    bad("E04c", "empty-name", GET, "/", ": b"),
    bad("E04d", "no-colon", GET, "/", "X-A b"),
    bad("E04e", "name-nul", GET, "/", "X\0A: b"),
    bad("E04f", "name-non-ascii", GET, "/", "X-\u00e9: b"),
    bad("E04g", "name-with-slash", GET, "/", "X/A: b"),
    bad("E04h", "name-lf-first", GET, "/", "\nX-Inj: 1"),
    # 5: framing given by the caller
    bad(
        "E05",
        "cl-and-te",
        POST,
        "/",
        "Content-Length: 3",
        "Transfer-Encoding: chunked",
        body=b"abc",
    ),
    bad("E05b", "cl-too-small", POST, "/", "Content-Length: 2", body=b"abc"),
    bad("E05c", "cl-too-large", POST, "/", "Content-Length: 4", body=b"abc"),
    bad("E05d", "cl-not-a-number", POST, "/", "Content-Length: abc", body=b"abc"),
    bad(
        "E05e",
        "cl-twice-different",
        POST,
        "/",
        "Content-Length: 3",
        "Content-Length: 4",
        body=b"abc",
    ),
    # 6: the Host header
    bad("E06", "two-host-headers", GET, "/", "Host: a", "Host: b"),
    # 7: CONNECT and OPTIONS targets
    bad("E07", "connect-path", CONNECT, "/path"),
    bad("E07b", "connect-no-port", CONNECT, "origin.test"),
    bad("E07c", "connect-port-0", CONNECT, "origin.test:0"),
    bad("E07d", "connect-port-65536", CONNECT, "origin.test:65536"),
    bad("E07e", "connect-crlf", CONNECT, "origin.test:443\r\nX-Inj: 1"),
    bad("E07f", "connect-absolute-url", CONNECT, "http://origin.test:443/"),
    bad("E07g", "options-asterisk-crlf", OPTIONS, "*\r\nX-Inj: 1"),
]


@pytest.mark.parametrize("bad_request", REQUESTS)
def test_request_is_refused_and_nothing_is_sent(bad_request: BadRequest) -> None:
    with ScriptedServer([[Read(), Send(ANSWER)]]) as server:
        client = HTTPClient()
        try:
            _connect(client, server.port)
            err = client.request_raw(
                bad_request.method,  # type: ignore[arg-type]
                bad_request.url,
                list(bad_request.headers),
                bad_request.body,
            )
            assert err == Error.ERR_INVALID_PARAMETER
            assert client.get_status() == Status.STATUS_CONNECTED
            assert client.get_request_bytes_pending() == 0
            assert isinstance(client.get_last_error(), InvalidParameterError)
            # The same connection then carries a valid request: it is the first thing sent.
            _fetch(client, "/after")
        finally:
            client.close()
    assert server.requests == [expected_get(server.port)]


GOOD_REQUESTS = [
    pytest.param(
        GET, "/%0D%0A%00", (), b"GET /%0D%0A%00 HTTP/1.1\r\n", id="E02m-encoded-crlf-as-is"
    ),
    pytest.param(
        GET,
        "/caf\u00e9?q=\u00fc",
        (),
        b"GET /caf%C3%A9?q=%C3%BC HTTP/1.1\r\n",
        id="E02n-non-ascii-encoded",
    ),
    pytest.param(GET, "/a#frag\r\nment", (), None, id="E02o-crlf-in-fragment-refused"),
    pytest.param(GET, "/a#fragment", (), b"GET /a HTTP/1.1\r\n", id="E02p-fragment-not-sent"),
    pytest.param(
        CONNECT,
        "origin.test:443",
        (),
        b"CONNECT origin.test:443 HTTP/1.1\r\n",
        id="E07h-connect-authority",
    ),
    pytest.param(
        CONNECT, "[::1]:8443", (), b"CONNECT [::1]:8443 HTTP/1.1\r\n", id="E07i-connect-ipv6"
    ),
    pytest.param(OPTIONS, "*", (), b"OPTIONS * HTTP/1.1\r\n", id="E07j-options-asterisk"),
    pytest.param(GET, "/", ("X-A: a\tb",), b"\r\nX-A: a\tb\r\n", id="E03i-tab-in-value-allowed"),
]


@pytest.mark.parametrize(("method", "url", "headers", "expected"), GOOD_REQUESTS)
def test_request_is_sent_encoded(method, url, headers, expected) -> None:
    """Inputs that are valid, or encoded on the way, reach the wire exactly so."""
    script = [
        Read(),
        Send(b"HTTP/1.1 200 Connection established\r\n\r\n" if method == CONNECT else ANSWER),
    ]
    with ScriptedServer([script]) as server:
        client = HTTPClient()
        try:
            _connect(client, server.port)
            err = client.request_raw(method, url, list(headers), b"")
            if expected is None:
                assert err == Error.ERR_INVALID_PARAMETER
                _fetch(client, "/after")
            else:
                assert err == Error.OK, client.get_last_error()
                _poll_while_waiting(client)
        finally:
            client.close()
    if expected is None:
        assert server.requests == [expected_get(server.port)]
    else:
        assert expected in server.requests[0]
        _never_forbidden(server.requests[0])


# -- host, port and proxy settings ---------------------------------------------------------------


HOSTS = [
    pytest.param("127.0.0.1\r\nX-Inj: 1", 80, id="E06b-host-crlf"),
    pytest.param("origin.test\r\nX-Inj: 1", 80, id="E06c-name-crlf"),
    pytest.param("origin\n.test", 80, id="E06d-name-lf"),
    pytest.param("origin\0.test", 80, id="E06e-name-nul"),
    pytest.param("origin .test", 80, id="E06f-name-space"),
    pytest.param("origin.test:8080", 80, id="E06g-port-in-host"),
    pytest.param("origin.test/path", 80, id="E06h-path-in-host"),
    pytest.param("user@origin.test", 80, id="E06i-userinfo-in-host"),
    pytest.param("", 80, id="E06j-empty-host"),
    pytest.param("origin.test", 0, id="E06k-port-0"),
    pytest.param("origin.test", 65536, id="E06l-port-65536"),
    pytest.param("origin.test", -2, id="E06m-port-negative"),
    pytest.param("http://origin.test\r\nX-Inj: 1", 80, id="E06n-prefixed-host-crlf"),
    pytest.param("127.0.0.1%\r\nX-Inj: 1", 80, id="E06o-crlf-after-percent-in-ipv4"),
    pytest.param("::1%\r\nX-Inj: 1", 80, id="E06p-crlf-in-ipv6-zone"),
]


@pytest.mark.parametrize(("host", "port"), HOSTS)
def test_host_is_refused_at_once(host: str, port: int) -> None:
    """E6: a bad host or port is ERR_INVALID_PARAMETER at once; no lookup, no connection."""
    with ScriptedServer([[Read(), Send(ANSWER)]]) as server:
        resolver = RecordingResolver(server.port)
        client = HTTPClient(resolver=resolver)
        try:
            assert client.connect_to_host(host, port) == Error.ERR_INVALID_PARAMETER
            assert client.get_status() == Status.STATUS_DISCONNECTED
            assert isinstance(client.get_last_error(), InvalidParameterError)
            assert resolver.asked == []
        finally:
            client.close()
    assert server.connections == 0


@pytest.mark.parametrize(("host", "port"), HOSTS)
def test_host_never_reaches_a_proxy(host: str, port: int) -> None:
    """E6 through proxies: a bad origin host is never written into a proxy request."""
    for https in (False, True):
        with ScriptedServer([[Read(), Send(ANSWER)]]) as proxy:
            client = HTTPClient(resolver=RecordingResolver(proxy.port))
            client.connect_timeout = 2.0
            try:
                if https:
                    client.set_https_proxy("127.0.0.1", proxy.port)
                else:
                    client.set_http_proxy("127.0.0.1", proxy.port)
                prefix = "https://" if https else ""
                if client.connect_to_host(prefix + host, port) == Error.OK:
                    _poll_while_waiting(client)
                    if client.get_status() == Status.STATUS_CONNECTED:
                        assert client.request(GET, "/", []) == Error.ERR_INVALID_PARAMETER
            finally:
                client.close()
        for raw in proxy.requests:
            _never_forbidden(raw)


PROXIES = [
    pytest.param("127.0.0.1\r\nX-Inj: 1", {}, id="proxy-host-crlf"),
    pytest.param("proxy.test\nX-Inj: 1", {}, id="proxy-name-lf"),
    pytest.param("127.0.0.1", {"username": "user\r\nX-Inj: 1"}, id="proxy-username-crlf"),
    pytest.param("127.0.0.1", {"password": "pass\r\nX-Inj: 1"}, id="proxy-password-crlf"),
    pytest.param("127.0.0.1", {"username": "user\0"}, id="proxy-username-nul"),
    pytest.param("http://user:pa%0D%0Ass@127.0.0.1", {}, id="proxy-encoded-crlf-password"),
    pytest.param("http://us%0Aer:pass@127.0.0.1", {}, id="proxy-encoded-lf-username"),
    pytest.param("http://user:pass\r\nX-Inj: 1@127.0.0.1", {}, id="proxy-crlf-userinfo"),
]


@pytest.mark.parametrize(("proxy_host", "credentials"), PROXIES)
def test_http_proxy_settings_are_refused(proxy_host: str, credentials: dict) -> None:
    """Injection through the proxy host or credentials: refused, the proxy is not used."""
    with (
        ScriptedServer([[Read(), Send(ANSWER)]]) as proxy,
        ScriptedServer([[Read(), Send(ANSWER)]]) as origin,
    ):
        client = HTTPClient()
        try:
            client.set_http_proxy(proxy_host, proxy.port, **credentials)
            assert isinstance(client.get_last_error(), InvalidParameterError)
            # The refused proxy is not set: a plain request goes straight to the origin.
            _connect(client, origin.port)
            _fetch(client, "/after")
        finally:
            client.close()
    assert proxy.connections == 0
    assert origin.requests == [expected_get(origin.port)]


@pytest.mark.parametrize(("proxy_host", "credentials"), PROXIES)
def test_https_proxy_settings_are_refused(proxy_host: str, credentials: dict) -> None:
    """The same for the CONNECT proxy: a TLS connect goes straight to the origin."""
    with ScriptedServer([[Read(), Send(ANSWER)]]) as proxy, ScriptedServer([[Close()]]) as origin:
        client = HTTPClient()
        client.connect_timeout = 2.0
        try:
            client.set_https_proxy(proxy_host, proxy.port, **credentials)
            assert isinstance(client.get_last_error(), InvalidParameterError)
            assert client.connect_to_host("https://127.0.0.1", origin.port) == Error.OK
            _poll_while_waiting(client)
            assert client.get_status() == Status.STATUS_TLS_HANDSHAKE_ERROR
        finally:
            client.close()
    assert proxy.connections == 0
    assert origin.connections == 1


@pytest.mark.parametrize(("proxy_host", "credentials"), PROXIES)
def test_request_proxy_settings_are_refused(proxy_host: str, credentials: dict) -> None:
    with (
        ScriptedServer([[Read(), Send(ANSWER)]]) as proxy,
        ScriptedServer([[Read(), Send(ANSWER)]]) as origin,
    ):
        run = make_request()
        try:
            run.req.set_http_proxy(proxy_host, proxy.port, **credentials)
            assert isinstance(run.req.get_last_error(), InvalidParameterError)
            assert run.req.request(f"http://127.0.0.1:{origin.port}/after") == Error.OK
            result = complete(run)
        finally:
            run.req.close()
    assert result[0] == pollhttp.Result.RESULT_SUCCESS
    assert proxy.connections == 0
    assert origin.requests[0].startswith(b"GET /after HTTP/1.1\r\n")


def test_proxy_credentials_are_encoded_not_injected() -> None:
    """Credentials that are valid but odd (colon, non-ASCII) go out base64-encoded."""
    with ScriptedServer([[Read(), Send(ANSWER)]]) as proxy:
        client = HTTPClient()
        try:
            client.set_http_proxy(
                "127.0.0.1", proxy.port, username="us:er", password="p\u00e4ss word"
            )
            assert client.get_last_error() is None
            _connect(client, 80, host="origin.test")
            _fetch(client, "/after")
        finally:
            client.close()
    raw = proxy.requests[0]
    assert raw.startswith(b"GET http://origin.test/after HTTP/1.1\r\nHost: origin.test\r\n")
    assert b"\r\nProxy-Authorization: Basic dXM6ZXI6cMOkc3Mgd29yZA==\r\n" in raw


# -- query_string_from_dict -----------------------------------------------------------------------

QUERIES = [
    pytest.param({"a\r\nX-Inj: 1": "v"}, "a%0D%0AX-Inj%3A%201=v", id="key-crlf"),
    pytest.param({"k": "v\r\nX-Inj: 1"}, "k=v%0D%0AX-Inj%3A%201", id="value-crlf"),
    pytest.param({"k\0": "v\0"}, "k%00=v%00", id="nul"),
    pytest.param({"k": ["a\n", "b\r"]}, "k=a%0A&k=b%0D", id="list-values"),
    pytest.param({"k": None, "\n": None}, "k&%0A", id="keys-alone"),
    pytest.param(
        {"k": {"x\r\n": "y"}}, "k=%7B%20%22x%0D%0A%22%3A%20%22y%22%20%7D", id="dict-value"
    ),
    pytest.param({"k": " /?#&="}, "k=%20%2F%3F%23%26%3D", id="delimiters"),
]


@pytest.mark.parametrize(("fields", "expected"), QUERIES)
def test_query_string_is_encoded_on_the_wire(fields: dict, expected: str) -> None:
    query = HTTPClient.query_string_from_dict(fields)
    assert query == expected
    with ScriptedServer([[Read(), Send(ANSWER)]]) as server:
        client = HTTPClient()
        try:
            _connect(client, server.port)
            _fetch(client, "/q?" + query)
        finally:
            client.close()
        run = make_request()
        try:
            assert run.req.request(f"http://127.0.0.1:{server.port}/q?{query}") == Error.OK
            assert complete(run)[0] == pollhttp.Result.RESULT_SUCCESS
        finally:
            run.req.close()
    for raw in server.requests:
        assert raw.startswith(f"GET /q?{expected} HTTP/1.1\r\n".encode())
        _never_forbidden(raw)


# -- HTTPRequest ----------------------------------------------------------------------------------


def request_url(port: int, suffix: str) -> str:
    return f"http://127.0.0.1:{port}{suffix}"


# (id, url builder, headers, method, body)
BAD_HTTP_REQUESTS = [
    pytest.param(lambda p: request_url(p, "/a\r\nX-Inj: 1"), (), GET, b"", id="E02q-url-crlf"),
    pytest.param(lambda p: request_url(p, "/a\nb"), (), GET, b"", id="E02r-url-lf"),
    pytest.param(lambda p: request_url(p, "/a\0b"), (), GET, b"", id="E02s-url-nul"),
    pytest.param(lambda p: request_url(p, "/a b"), (), GET, b"", id="E02t-url-space"),
    pytest.param(
        lambda p: f"http://127.0.0.1\r\nX-Inj: 1:{p}/", (), GET, b"", id="E06q-url-host-crlf"
    ),
    pytest.param(lambda p: "http://127.0.0.1:0/", (), GET, b"", id="E06r-url-port-0"),
    pytest.param(lambda p: "http://127.0.0.1:65536/", (), GET, b"", id="E06s-url-port-65536"),
    pytest.param(lambda p: "http://127.0.0.1:x/", (), GET, b"", id="E06t-url-port-text"),
    pytest.param(lambda p: "ftp://127.0.0.1/", (), GET, b"", id="E02u-url-scheme"),
    pytest.param(lambda p: "http:///path", (), GET, b"", id="E02v-url-no-host"),
    pytest.param(
        lambda p: request_url(p, "/"), ("X-A: a\r\nX-Inj: 1",), GET, b"", id="E03j-value-crlf"
    ),
    pytest.param(lambda p: request_url(p, "/"), ("X-A: a\0",), GET, b"", id="E03k-value-nul"),
    pytest.param(lambda p: request_url(p, "/"), ("X A: b",), GET, b"", id="E04i-name-space"),
    pytest.param(
        lambda p: request_url(p, "/"), ("X-A\r\nX-Inj: 1",), GET, b"", id="E04j-name-crlf"
    ),
    pytest.param(lambda p: request_url(p, "/"), (": b",), GET, b"", id="E04k-empty-name"),
    pytest.param(lambda p: request_url(p, "/"), (), Method.METHOD_MAX, b"", id="E01g-method-max"),
    pytest.param(lambda p: request_url(p, "/"), (), -1, b"", id="E01h-method-negative"),
    pytest.param(lambda p: request_url(p, "/"), (), "GET\r\nX-Inj: 1", b"", id="E01i-method-text"),
    pytest.param(
        lambda p: request_url(p, "/"),
        ("Content-Length: 3", "Transfer-Encoding: chunked"),
        POST,
        b"abc",
        id="E05f-cl-and-te",
    ),
    pytest.param(
        lambda p: request_url(p, "/"), ("Content-Length: 2",), POST, b"abc", id="E05g-cl-mismatch"
    ),
    pytest.param(
        lambda p: request_url(p, "/"), (), CONNECT, b"", id="E07k-connect-needs-authority"
    ),
]


@pytest.mark.parametrize(("url", "headers", "method", "body"), BAD_HTTP_REQUESTS)
def test_http_request_refuses_bad_input(url, headers, method, body) -> None:
    """HTTPRequest: ERR_INVALID_PARAMETER, no completion (not even a timeout), no connection."""
    with ScriptedServer([[Read(), Send(ANSWER)]]) as server:
        # Godot §7.1.1: a short timeout must not fire for a request that was refused.
        run = make_request(timeout=0.01)
        try:
            err = run.req.request_raw(url(server.port), list(headers), method, body)
            if err == Error.OK:
                complete(run)  # accepted after all: see what it does on the wire
            else:
                deadline = time.monotonic() + 0.03
                while time.monotonic() < deadline:
                    assert run.req.poll() == Error.ERR_UNCONFIGURED
                    run.req.wait(0.01)
        finally:
            run.req.close()
    # Never on the wire, whatever else happens.
    assert server.requests == []
    # Refused at once, with no completion and no connection.
    assert err == Error.ERR_INVALID_PARAMETER, run.completions
    assert isinstance(run.req.get_last_error(), InvalidParameterError)
    assert run.completions == []
    assert server.connections == 0


def test_pythonic_request_refuses_a_method_with_crlf() -> None:
    with ScriptedServer([[Read(), Send(ANSWER)]]) as server:
        with pytest.raises(InvalidParameterError):
            pollhttp.request("GET /x HTTP/1.1\r\nX-Inj: 1", request_url(server.port, "/"))
        with pytest.raises(InvalidParameterError):
            pollhttp.get(request_url(server.port, "/a\r\nX-Inj: 1"))
        with pytest.raises(InvalidParameterError):
            pollhttp.get(request_url(server.port, "/"), headers={"X-A": "a\r\nX-Inj: 1"})
    assert server.connections == 0


# -- helpers --------------------------------------------------------------------------------------


def _poll_while_waiting(client: HTTPClient, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while client.get_status() in (
        Status.STATUS_RESOLVING,
        Status.STATUS_CONNECTING,
        Status.STATUS_REQUESTING,
    ):
        assert time.monotonic() < deadline, client.get_status()
        client.poll()
        if client.get_status() == Status.STATUS_REQUESTING:
            client.wait(0.05)


def _connect(client: HTTPClient, port: int, host: str = "127.0.0.1") -> None:
    assert client.connect_to_host(host, port) == Error.OK, client.get_last_error()
    _poll_while_waiting(client)
    assert client.get_status() == Status.STATUS_CONNECTED, client.get_last_error()


def _fetch(client: HTTPClient, target: str) -> bytes:
    assert client.request(GET, target, []) == Error.OK, client.get_last_error()
    _poll_while_waiting(client)
    body = b""
    deadline = time.monotonic() + 5.0
    while client.get_status() == Status.STATUS_BODY:
        assert time.monotonic() < deadline
        piece = client.read_response_body_chunk()
        body += piece
        if not piece and client.get_status() == Status.STATUS_BODY:
            client.wait(0.05)
    assert client.get_response_code() == 200
    return body


def _never_forbidden(raw: bytes) -> None:
    for forbidden in FORBIDDEN:
        assert forbidden not in raw, raw
