"""HTTPRequest over real sockets: Godot's tests, redirects, reuse, cancel, timeouts, cookies.

Godot's own HTTPRequest tests (godot-behaviour.md §6.2) mock the HTTPClient; here the same
cases run against scripted servers on 127.0.0.1, so frame counts differ but the results and
the requests the server sees are checked byte for byte.
"""

from __future__ import annotations

import http.cookiejar
import threading
import time

import pytest

from pollhttp import (
    Error,
    HTTPClient,
    HTTPRequest,
    InvalidParameterError,
    NoResponseError,
    Resolution,
    Result,
    TLSOptions,
    TransferTimeoutError,
)
from pollhttp.protocol._decoding import accept_encoding

from ..support.nginx import NginxServer
from ..support.servers import (
    Close,
    Pause,
    Read,
    Reset,
    ScriptedServer,
    Send,
    Step,
    Trickle,
    response,
    wait_for,
)
from ..support.tls import TLSServer, ca_certificate, server_context
from .conftest import (
    Recorded,
    RecordingResolver,
    body_of,
    complete,
    header_lines,
    header_names,
    request_line,
)

SUCCESS = Result.RESULT_SUCCESS
GET, HEAD, POST, PUT = (
    HTTPClient.METHOD_GET,
    HTTPClient.METHOD_HEAD,
    HTTPClient.METHOD_POST,
    HTTPClient.METHOD_PUT,
)
PATCH, DELETE = HTTPClient.METHOD_PATCH, HTTPClient.METHOD_DELETE
SILENT = [Read(), Pause(30)]  # reads the request and never answers
OK_BODY = b"Godot Rules!!!"
OK = [Read(), Send(response(body=OK_BODY))]
OK_HEADERS = [f"Content-Length: {len(OK_BODY)}"]
CREDENTIALS = ["Authorization: Bearer secret", "Cookie: session=1", "Proxy-Authorization: Basic x"]


def url(server: ScriptedServer | TLSServer, path: str = "/", scheme: str = "http") -> str:
    return f"{scheme}://127.0.0.1:{server.port}{path}"


def redirect(code: int, location: str, headers: tuple[str, ...] = (), body: bytes = b"") -> bytes:
    return response(f"{code} Redirect", [f"Location: {location}", *headers], body)


def drive_until(rec: Recorded, done: object, timeout: float = 5.0) -> None:
    """Poll the request until ``done()``; bounded."""
    deadline = time.monotonic() + timeout
    while not done():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        rec.req.poll()
        rec.req.wait(0.01)


def lines(server: ScriptedServer | TLSServer) -> list[str]:
    return [request_line(raw) for raw in server.requests]


# -- Godot's HTTPRequest tests (godot-behaviour.md §6.2), over real sockets ----------------


@pytest.mark.parametrize("value", [42, 255, 0, -1, 16 * 1024 * 1024 + 1, 10**12])
def test_download_chunk_size_out_of_range_is_refused(make, value):
    # Godot's range is 256..16 MiB; outside it, the assignment itself fails.
    req = make().req
    assert req.download_chunk_size == 65536
    with pytest.raises(InvalidParameterError, match=r"download_chunk_size must be 256\.\.16777216"):
        req.download_chunk_size = value
    assert req.download_chunk_size == 65536


@pytest.mark.parametrize("value", [256, 4096, 16 * 1024 * 1024])
def test_download_chunk_size_is_set_when_idle(make, value):
    req = make().req
    req.download_chunk_size = value
    assert req.download_chunk_size == value


def test_download_chunk_size_is_not_set_while_a_request_runs(make):
    rec = make(download_chunk_size=256)
    with ScriptedServer([SILENT]) as server:
        assert rec.req.request(url(server)) == Error.OK
        drive_until(rec, lambda: server.requests)
        rec.req.download_chunk_size = 1024
        assert rec.req.download_chunk_size == 256
        assert isinstance(rec.req.get_last_error(), InvalidParameterError)
        rec.req.cancel_request()
    rec.req.download_chunk_size = 1024
    assert rec.req.download_chunk_size == 1024


def test_download_chunk_size_bounds_every_read(make):
    body = bytes(range(256)) * 8
    with ScriptedServer([[Read(), Send(response(body=body))]]) as server:
        # One body read per poll(): the progress steps show the size of each read.
        rec = make(download_chunk_size=256, poll_byte_budget=1)
        assert rec.req.request(url(server)) == Error.OK
        assert rec.complete() == (SUCCESS, 200, [f"Content-Length: {len(body)}"], body)
    received = [done for done, _ in rec.downloads]
    steps = [b - a for a, b in zip([0, *received], received, strict=False)]
    assert received[-1] == len(body)
    assert max(steps) <= 256
    assert len(steps) >= len(body) // 256


@pytest.mark.parametrize("threads", [False, True], ids=["poll", "threads"])
def test_request_to_a_closed_port_cannot_connect(make, closed_port, threads):
    rec = make(use_threads=threads)
    assert rec.req.request(f"http://127.0.0.1:{closed_port}/") == Error.OK
    assert rec.complete() == (Result.RESULT_CANT_CONNECT, 0, [], b"")
    rec.idle(0.05)
    assert len(rec.completions) == 1


@pytest.mark.parametrize(
    "bad_url",
    [
        "http://foo.com:8080:433",
        "ftp://foo.com",
        "foo.com/index.html",
        "http://",
        "http://foo.test:0/",
        "http://foo.test:65536/",
        "http://foo.test/a b",
        "http://foo.test/\r\nX: y",
    ],
)
def test_bad_url_is_invalid_parameter_and_never_completes(make, bad_url):
    resolver = RecordingResolver()
    rec = make(resolver=resolver)
    assert rec.req.request(bad_url) == Error.ERR_INVALID_PARAMETER
    assert isinstance(rec.req.get_last_error(), InvalidParameterError)
    assert rec.req.poll() == Error.ERR_UNCONFIGURED
    rec.idle(0.05)
    assert rec.completions == []
    assert resolver.asked == []


@pytest.mark.parametrize(
    ("method", "headers"),
    [
        (HTTPClient.METHOD_MAX, []),
        (-1, []),
        (GET, ["Bad Name: x"]),
        (GET, ["X-Split: a\r\nX-Injected: b"]),
        (GET, ["NoColon"]),
    ],
)
def test_bad_method_or_header_is_invalid_parameter(make, method, headers):
    with ScriptedServer([OK]) as server:
        rec = make()
        assert rec.req.request(url(server), headers, method) == Error.ERR_INVALID_PARAMETER
        rec.idle(0.05)
        assert rec.completions == []
        # Refused, not busy: a good request right after goes through.
        assert rec.req.request(url(server)) == Error.OK
        assert rec.complete() == (SUCCESS, 200, OK_HEADERS, OK_BODY)
    assert server.connections == 1


@pytest.mark.parametrize(
    ("given", "asked", "host_header", "target"),
    [
        ("http://foo.test:8080", ("foo.test", 8080), "foo.test:8080", "/"),
        ("http://foo.test", ("foo.test", 80), "foo.test", "/"),
        ("http://foo.test:80/a?b=c", ("foo.test", 80), "foo.test", "/a?b=c"),
        ("http://FOO.test:8081/#frag", ("foo.test", 8081), "foo.test:8081", "/"),
    ],
)
def test_port_is_parsed_and_defaults_to_80(make, given, asked, host_header, target):
    with ScriptedServer([OK]) as server:
        resolver = RecordingResolver(server.port)
        rec = make(resolver=resolver)
        assert rec.req.request(given) == Error.OK
        assert rec.complete() == (SUCCESS, 200, OK_HEADERS, OK_BODY)
    assert resolver.asked == [asked]
    assert lines(server) == [f"GET {target} HTTP/1.1"]
    assert header_lines(server.requests[0])[0] == f"Host: {host_header}"


def test_https_default_port_is_443_with_the_tls_options_given(make, ca):
    leaf = ca.issue_cert("foo.test")
    with TLSServer([[Read(), Send(response(body=OK_BODY))]], server_context(leaf=leaf)) as srv:
        resolver = RecordingResolver(srv.port)
        rec = make(resolver=resolver)
        rec.req.set_tls_options(TLSOptions.client(trusted_chain=ca_certificate(ca)))
        assert rec.req.request("https://foo.test") == Error.OK
        assert rec.complete() == (SUCCESS, 200, OK_HEADERS, OK_BODY)
    assert resolver.asked == [("foo.test", 443)]
    assert srv.server_names == ["foo.test"]
    assert header_lines(srv.requests[0])[0] == "Host: foo.test"


def test_https_without_trust_fails_the_handshake(make, ca):
    # The default options trust the system CAs only: the test CA's certificate is refused,
    # which shows that set_tls_options() above is what made the handshake succeed.
    leaf = ca.issue_cert("foo.test")
    with TLSServer([[Read(), Send(response())]], server_context(leaf=leaf)) as srv:
        rec = make(resolver=RecordingResolver(srv.port))
        assert rec.req.request("https://foo.test") == Error.OK
        assert rec.complete() == (Result.RESULT_TLS_HANDSHAKE_ERROR, 0, [], b"")
    assert srv.requests == []


def test_just_one_request_at_a_time(make):
    with ScriptedServer([SILENT]) as server:
        rec = make()
        assert rec.req.request(url(server)) == Error.OK
        assert rec.req.request(url(server, "/other")) == Error.ERR_BUSY
        assert rec.req.request_raw(url(server), [], POST, b"x") == Error.ERR_BUSY
        drive_until(rec, lambda: server.requests)
        assert rec.req.request(url(server)) == Error.ERR_BUSY
        rec.req.cancel_request()
    assert lines(server) == ["GET / HTTP/1.1"]
    assert rec.completions == []


@pytest.mark.parametrize("threads", [False, True], ids=["poll", "threads"])
@pytest.mark.parametrize("when", ["before any poll", "after the server got it"])
def test_cancelled_request_never_completes_and_a_new_one_works(make, threads, when):
    with ScriptedServer([SILENT]) as silent, ScriptedServer([OK]) as server:
        rec = make(use_threads=threads)
        assert rec.req.request(url(silent)) == Error.OK
        if when != "before any poll":
            drive_until(rec, lambda: silent.requests)
        rec.req.cancel_request()
        assert rec.req.poll() == Error.ERR_UNCONFIGURED
        assert rec.req.request(url(server)) == Error.OK
        assert rec.complete() == (SUCCESS, 200, OK_HEADERS, OK_BODY)
        rec.idle(0.05)
    assert rec.completions == [(SUCCESS, 200, OK_HEADERS, OK_BODY)]
    assert rec.req.get_final_url() == url(server)


def test_cancel_without_a_request_does_nothing(make):
    rec = make()
    rec.req.cancel_request()
    assert rec.req.poll() == Error.ERR_UNCONFIGURED
    assert rec.completions == []


@pytest.mark.parametrize("threads", [False, True], ids=["poll", "threads"])
@pytest.mark.parametrize("where", ["silent server", "endless lookup"])
def test_timeout(make, threads, where):
    asked: list[tuple[str, int]] = []

    def endless(host: str, port: int) -> Resolution:
        asked.append((host, port))
        return Resolution()  # never finishes, like Godot's test stuck in RESOLVING

    with ScriptedServer([SILENT]) as server:
        if where == "endless lookup":
            rec = make(resolver=endless, use_threads=threads, timeout=0.3)
            target = "http://foo.test/"
        else:
            rec = make(use_threads=threads, timeout=0.3)
            target = url(server)
        start = time.monotonic()
        assert rec.req.request(target) == Error.OK
        assert rec.complete() == (Result.RESULT_TIMEOUT, 0, [], b"")
        elapsed = time.monotonic() - start
        rec.idle(0.05)
    assert 0.3 <= elapsed < 1.5
    assert len(rec.completions) == 1
    assert isinstance(rec.req.get_last_error(), TransferTimeoutError)
    if where == "endless lookup":
        assert asked == [("foo.test", 80)]
        assert server.requests == []
    else:
        assert lines(server) == ["GET / HTTP/1.1"]


def test_get_request_advertises_the_decoders(make):
    with ScriptedServer([[Read(), Send(response())]]) as server:
        rec = make()
        assert rec.req.request(url(server)) == Error.OK
        assert rec.complete() == (SUCCESS, 200, ["Content-Length: 0"], b"")
    assert lines(server) == ["GET / HTTP/1.1"]
    assert f"Accept-Encoding: {accept_encoding()}" in header_lines(server.requests[0])
    assert "gzip" in accept_encoding()


@pytest.mark.parametrize(
    ("accept_gzip", "headers", "expected"),
    [
        (False, [], []),
        (True, ["Accept-Encoding: identity"], ["Accept-Encoding: identity"]),
        (False, ["Accept-Encoding: gzip"], ["Accept-Encoding: gzip"]),
    ],
)
def test_accept_encoding_is_left_to_the_caller(make, accept_gzip, headers, expected):
    with ScriptedServer([[Read(), Send(response())]]) as server:
        rec = make(accept_gzip=accept_gzip)
        assert rec.req.request(url(server), headers) == Error.OK
        assert rec.complete()[0] == SUCCESS
    got = [h for h in header_lines(server.requests[0]) if h.lower().startswith("accept-encoding")]
    assert got == expected


@pytest.mark.parametrize("threads", [False, True], ids=["poll", "threads"])
def test_get_request_with_body_and_headers(make, threads):
    called_in: list[threading.Thread] = []
    with ScriptedServer([[Read(), Send(response(headers=["Server: Mock"], body=OK_BODY))]]) as srv:
        rec = make(use_threads=threads)
        rec.req.request_completed.connect(lambda *_: called_in.append(threading.current_thread()))
        assert rec.req.request(url(srv)) == Error.OK
        assert rec.complete() == (SUCCESS, 200, ["Server: Mock", *OK_HEADERS], OK_BODY)
    assert called_in == [threading.current_thread()]
    assert lines(srv) == ["GET / HTTP/1.1"]
    assert f"Accept-Encoding: {accept_encoding()}" in header_lines(srv.requests[0])
    assert rec.req.get_downloaded_bytes() == len(OK_BODY)
    assert rec.req.get_body_size() == len(OK_BODY)


def test_post_request_with_body_and_headers(make):
    with ScriptedServer([[Read(), Send(response("201 Created"))]]) as server:
        rec = make()
        assert rec.req.request(url(server), ["Accept: text/json"], POST, "Godot Rules!!!") == 0
        assert rec.complete() == (SUCCESS, 201, ["Content-Length: 0"], b"")
    raw = server.requests[0]
    assert request_line(raw) == "POST / HTTP/1.1"
    names = header_names(raw)
    # The caller's header, then Accept-Encoding, in that order; no default Accept added.
    assert names.count("accept") == 1
    assert names.index("accept") < names.index("accept-encoding")
    assert "Accept: text/json" in header_lines(raw)
    assert "Content-Length: 14" in header_lines(raw)
    assert body_of(raw) == b"Godot Rules!!!"


def test_request_raw_sends_bytes_as_they_are(make):
    data = bytes(range(256))
    with ScriptedServer([[Read(), Send(response("201 Created"))]]) as server:
        rec = make()
        assert rec.req.request_raw(url(server, "/up"), [], PUT, data) == Error.OK
        assert rec.complete()[:2] == (SUCCESS, 201)
    assert request_line(server.requests[0]) == "PUT /up HTTP/1.1"
    assert body_of(server.requests[0]) == data


# -- redirects -----------------------------------------------------------------------------


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_redirect_is_followed(make, code):
    script = [
        Read(),
        Send(redirect(code, "/next", body=b"moved")),
        Read(),
        Send(response(body=b"final")),
    ]
    with ScriptedServer([script]) as server:
        rec = make()
        assert rec.req.request(url(server, "/start")) == Error.OK
        assert rec.complete() == (SUCCESS, 200, ["Content-Length: 5"], b"final")
    assert lines(server) == ["GET /start HTTP/1.1", "GET /next HTTP/1.1"]
    assert rec.req.get_final_url() == url(server, "/next")


@pytest.mark.parametrize(
    ("code", "method", "new_method", "keeps_body"),
    [
        (301, POST, "GET", False),
        (302, POST, "GET", False),
        (303, POST, "GET", False),
        (303, PUT, "GET", False),
        (303, DELETE, "GET", False),
        (307, POST, "POST", True),
        (308, POST, "POST", True),
        (307, PUT, "PUT", True),
        (308, PATCH, "PATCH", True),
        (301, PUT, "PUT", True),
        (302, DELETE, "DELETE", True),
    ],
)
def test_redirect_method_and_body(make, code, method, new_method, keeps_body):
    with (
        ScriptedServer([[Read(), Send(response())]]) as target,
        ScriptedServer([[Read(), Send(redirect(code, url(target, "/b")))]]) as origin,
    ):
        rec = make()
        headers = ["Content-Type: text/plain", "X-Keep: 1"]
        assert rec.req.request(url(origin, "/a"), headers, method, "payload") == Error.OK
        assert rec.complete() == (SUCCESS, 200, ["Content-Length: 0"], b"")
    assert body_of(origin.requests[0]) == b"payload"
    raw = target.requests[0]
    assert request_line(raw) == f"{new_method} /b HTTP/1.1"
    assert "X-Keep: 1" in header_lines(raw)
    if keeps_body:
        assert body_of(raw) == b"payload"
        assert "Content-Type: text/plain" in header_lines(raw)
        assert "Content-Length: 7" in header_lines(raw)
    else:
        assert body_of(raw) == b""
        assert "content-type" not in header_names(raw)
        assert "content-length" not in header_names(raw)


def test_redirect_credentials_dropped_for_another_origin(make):
    with (
        ScriptedServer([[Read(), Send(response())]]) as other,
        ScriptedServer([[Read(), Send(redirect(302, url(other, "/b")))]]) as origin,
    ):
        rec = make()
        assert rec.req.request(url(origin), [*CREDENTIALS, "X-Other: 1"]) == Error.OK
        assert rec.complete()[:2] == (SUCCESS, 200)
    first, second = origin.requests[0], other.requests[0]
    assert all(line in header_lines(first) for line in CREDENTIALS)
    names = header_names(second)
    assert not {"authorization", "cookie", "proxy-authorization"} & set(names)
    assert "X-Other: 1" in header_lines(second)


def test_redirect_credentials_kept_on_the_same_origin(make):
    script = [Read(), Send(redirect(307, "/b")), Read(), Send(response())]
    with ScriptedServer([script]) as server:
        rec = make()
        assert rec.req.request(url(server), [*CREDENTIALS, "X-Other: 1"]) == Error.OK
        assert rec.complete()[:2] == (SUCCESS, 200)
    assert lines(server) == ["GET / HTTP/1.1", "GET /b HTTP/1.1"]
    for raw in server.requests:
        assert all(line in header_lines(raw) for line in CREDENTIALS)


@pytest.mark.parametrize("same_origin", [True, False])
def test_url_credentials_follow_only_within_the_origin(make, same_origin):
    basic = "Authorization: Basic dXNlcjpwdw=="  # user:pw
    with ScriptedServer([[Read(), Send(response())]]) as other:
        location = "/b" if same_origin else url(other, "/b")
        script = [Read(), Send(redirect(302, location)), Read(), Send(response())]
        with ScriptedServer([script]) as origin:
            rec = make()
            assert rec.req.request(f"http://user:pw@127.0.0.1:{origin.port}/a") == Error.OK
            assert rec.complete()[:2] == (SUCCESS, 200)
    assert basic in header_lines(origin.requests[0])
    second = origin.requests[1] if same_origin else other.requests[0]
    assert request_line(second) == "GET /b HTTP/1.1"
    assert (basic in header_lines(second)) is same_origin


def test_https_to_http_downgrade_drops_credentials(make, ca):
    leaf = ca.issue_cert("127.0.0.1")
    with ScriptedServer([[Read(), Send(response())]]) as plain:
        script = [[Read(), Send(redirect(302, url(plain, "/b")))]]
        with TLSServer(script, server_context(leaf=leaf)) as secure:
            rec = make()
            rec.req.set_tls_options(TLSOptions.client(trusted_chain=ca_certificate(ca)))
            assert rec.req.request(url(secure, scheme="https"), CREDENTIALS) == Error.OK
            assert rec.complete()[:2] == (SUCCESS, 200)
    assert all(line in header_lines(secure.requests[0]) for line in CREDENTIALS)
    assert not {"authorization", "cookie", "proxy-authorization"} & set(
        header_names(plain.requests[0])
    )
    assert rec.req.get_final_url() == url(plain, "/b")


@pytest.mark.parametrize(
    ("location", "target"),
    [
        ("next", "/dir/next"),
        ("../up?x=1", "/up?x=1"),
        ("/x", "/x"),
        ("?q=2", "/dir/page?q=2"),
    ],
)
def test_relative_locations(make, location, target):
    script = [Read(), Send(redirect(302, location)), Read(), Send(response(body=b"ok"))]
    with ScriptedServer([script]) as server:
        rec = make()
        assert rec.req.request(url(server, "/dir/page")) == Error.OK
        assert rec.complete() == (SUCCESS, 200, ["Content-Length: 2"], b"ok")
    assert lines(server) == ["GET /dir/page HTTP/1.1", f"GET {target} HTTP/1.1"]
    assert rec.req.get_final_url() == url(server, target)


@pytest.mark.parametrize("form", ["protocol-relative", "absolute"])
def test_locations_to_another_server(make, form):
    with ScriptedServer([[Read(), Send(response(body=b"there"))]]) as other:
        location = f"//127.0.0.1:{other.port}/y" if form != "absolute" else url(other, "/y")
        with ScriptedServer([[Read(), Send(redirect(301, location))]]) as origin:
            rec = make()
            assert rec.req.request(url(origin, "/x")) == Error.OK
            assert rec.complete() == (SUCCESS, 200, ["Content-Length: 5"], b"there")
    assert lines(origin) == ["GET /x HTTP/1.1"]
    assert lines(other) == ["GET /y HTTP/1.1"]
    assert header_lines(other.requests[0])[0] == f"Host: 127.0.0.1:{other.port}"
    assert rec.req.get_final_url() == url(other, "/y")


@pytest.mark.parametrize(
    "location",
    [
        "ftp://x/",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http://:80/",
        "http://foo.test:0/",
        "http://foo.test:99999/",
    ],
)
def test_location_that_cannot_be_followed_fails_the_request(make, location):
    resolver = RecordingResolver()  # any lookup fails, and is recorded
    with ScriptedServer([[Read(), Send(redirect(302, location))]]) as server:
        rec = make(resolver=resolver)
        assert rec.req.request(url(server)) == Error.OK
        assert rec.complete() == (Result.RESULT_REQUEST_FAILED, 0, [], b"")
    assert server.connections == 1
    assert len(server.requests) == 1
    assert resolver.asked == []


def test_redirect_without_location_is_the_response(make):
    with ScriptedServer([[Read(), Send(response("302 Found", body=b"nowhere"))]]) as server:
        rec = make()
        assert rec.req.request(url(server)) == Error.OK
        assert rec.complete() == (SUCCESS, 302, ["Content-Length: 7"], b"nowhere")


def test_max_redirects_zero_returns_the_redirect(make):
    with ScriptedServer([[Read(), Send(redirect(301, "/next", body=b"moved"))]]) as server:
        rec = make(max_redirects=0)
        assert rec.req.request(url(server)) == Error.OK
        assert rec.complete() == (
            SUCCESS,
            301,
            ["Location: /next", "Content-Length: 5"],
            b"moved",
        )
    assert len(server.requests) == 1
    assert rec.req.get_final_url() == url(server)


def _hops(count: int) -> list[Step]:
    """One connection: ``count`` redirects /1 -> /2 -> ... then 200."""
    steps: list[Step] = []
    for hop in range(1, count + 1):
        steps += [Read(), Send(redirect(301, f"/{hop + 1}"))]
    return [*steps, Read(), Send(response(body=b"end"))]


@pytest.mark.parametrize(("limit", "requests"), [(1, 2), (2, 3)])
def test_too_many_redirects(make, limit, requests):
    with ScriptedServer([_hops(3)]) as server:
        rec = make(max_redirects=limit)
        assert rec.req.request(url(server, "/1")) == Error.OK
        result, code, headers, _ = rec.complete()
    assert (result, code) == (Result.RESULT_REDIRECT_LIMIT_REACHED, 301)
    assert f"Location: /{requests + 1}" in headers
    assert len(server.requests) == requests


@pytest.mark.parametrize("limit", [3, -1])
def test_enough_redirects(make, limit):
    with ScriptedServer([_hops(3)]) as server:
        rec = make(max_redirects=limit)
        assert rec.req.request(url(server, "/1")) == Error.OK
        assert rec.complete() == (SUCCESS, 200, ["Content-Length: 3"], b"end")
    assert lines(server)[-1] == "GET /4 HTTP/1.1"
    assert rec.req.get_final_url() == url(server, "/4")


def test_redirect_loop_between_two_servers_with_unlimited_redirects(make):
    with (
        ScriptedServer([[Read(), Send(response())]]) as b_server,
        ScriptedServer([[Read(), Send(redirect(302, url(b_server, "/b")))]]) as a_server,
    ):
        # B's script needs A's port: set it before the client connects to B.
        b_server.scripts = [[Read(), Send(redirect(302, url(a_server, "/a")))]]
        rec = make(max_redirects=-1)
        assert rec.req.request(url(a_server, "/a")) == Error.OK
        result, code, headers, _ = rec.complete()
    assert (result, code) == (Result.RESULT_REDIRECT_LIMIT_REACHED, 302)
    assert f"Location: {url(a_server, '/a')}" in headers
    assert len(a_server.requests) + len(b_server.requests) <= 4


# -- connection reuse ----------------------------------------------------------------------


@pytest.mark.parametrize("threads", [False, True], ids=["poll", "threads"])
def test_ten_requests_share_one_connection(make, threads):
    script = [s for i in range(10) for s in (Read(), Send(response(body=b"r%d" % i)))]
    with ScriptedServer([script]) as server:
        rec = make(use_threads=threads)
        for i in range(10):
            assert rec.req.request(url(server, f"/{i}")) == Error.OK
            assert complete(rec, count=i + 1) == (SUCCESS, 200, ["Content-Length: 2"], b"r%d" % i)
    assert server.connections == 1
    assert lines(server) == [f"GET /{i} HTTP/1.1" for i in range(10)]


def test_another_origin_gets_its_own_connection(make):
    with ScriptedServer([OK]) as one, ScriptedServer([OK]) as two:
        rec = make()
        for server in (one, two, one):
            assert rec.req.request(url(server)) == Error.OK
            assert rec.req.request(url(server)) == Error.ERR_BUSY
            rec.complete()
            assert rec.completions.pop() == (SUCCESS, 200, OK_HEADERS, OK_BODY)
    assert (one.connections, two.connections) == (2, 1)


def test_close_drops_the_kept_alive_connection(make):
    with ScriptedServer([OK]) as server:
        rec = make()
        for count in (1, 2):
            assert rec.req.request(url(server)) == Error.OK
            assert complete(rec, count=count) == (SUCCESS, 200, OK_HEADERS, OK_BODY)
            rec.req.close()
            assert rec.req.get_http_client_status() == HTTPClient.STATUS_DISCONNECTED
    assert server.connections == 2


def test_context_manager_closes_and_cancels():
    with ScriptedServer([SILENT]) as server:
        with HTTPRequest() as req:
            rec = Recorded(req)
            assert req.request(url(server)) == Error.OK
            drive_until(rec, lambda: server.requests)
        assert req.poll() == Error.ERR_UNCONFIGURED
        assert req.get_http_client_status() == HTTPClient.STATUS_DISCONNECTED
    assert rec.completions == []


def test_connection_close_response_is_not_reused(make):
    answer = [Read(), Send(response(headers=["Connection: close"], body=b"x"))]
    with ScriptedServer([answer]) as server:
        rec = make()
        for count in (1, 2):
            assert rec.req.request(url(server)) == Error.OK
            assert complete(rec, count=count) == (
                SUCCESS,
                200,
                ["Connection: close", "Content-Length: 1"],
                b"x",
            )
    assert server.connections == 2


def test_stale_connection_is_retried_only_once(make):
    # The server reads the second request and closes without an answer, on both connections.
    # (Closes seen before a request are tests/request/test_stale_connections.py.)
    first = [Read(), Send(response(body=b"one")), Read(), Close()]
    with ScriptedServer([first, [Read(), Close()]]) as server:
        rec = make()
        assert rec.req.request(url(server, "/1")) == Error.OK
        assert complete(rec)[0] == SUCCESS
        assert rec.req.request(url(server, "/2")) == Error.OK
        assert complete(rec, count=2) == (Result.RESULT_NO_RESPONSE, 0, [], b"")
        rec.idle(0.05)
    assert server.connections == 2
    assert isinstance(rec.req.get_last_error(), NoResponseError)


@pytest.fixture(scope="module")
def nginx(nginx: NginxServer) -> NginxServer:
    """The shared nginx (tests/conftest.py), serving hello.txt."""
    nginx.write_file("hello.txt", b"Hello from nginx!\n")
    return nginx


@pytest.mark.nginx
def test_ten_requests_to_nginx_on_one_connection(make, nginx):
    rec = make()
    for i in range(10):
        assert rec.req.request(f"http://127.0.0.1:{nginx.port}/hello.txt?t=ten&i={i}") == 0
        result, code, _, body = complete(rec, count=i + 1)
        assert (result, code, body) == (SUCCESS, 200, b"Hello from nginx!\n")
    entries = nginx.tagged("ten", 10)
    assert len({entry.connection for entry in entries}) == 1
    assert [entry.requests for entry in entries] == list(range(1, 11))


@pytest.mark.nginx
def test_nginx_closing_after_each_response(make, nginx):
    rec = make()
    for i in range(3):
        assert rec.req.request(f"http://127.0.0.1:{nginx.port}/last/hello.txt?t=last&i={i}") == 0
        result, code, _, body = complete(rec, count=i + 1)
        assert (result, code, body) == (SUCCESS, 200, b"Hello from nginx!\n")
    entries = nginx.tagged("last", 3)
    assert len({entry.connection for entry in entries}) == 3


# -- cancel from callbacks, cancel in threads mode -------------------------------------------


def test_request_again_from_the_completion_callback(make):
    script = [Read(), Send(response(body=b"one")), Read(), Send(response(body=b"two"))]
    with ScriptedServer([script]) as server:
        rec = make()
        answers: list[Error] = []

        def again(*_: object) -> None:
            if len(rec.completions) == 1:
                rec.req.cancel_request()  # nothing runs any more: harmless
                answers.append(rec.req.request(url(server, "/2")))

        rec.req.request_completed.connect(again)
        assert rec.req.request(url(server, "/1")) == Error.OK
        complete(rec, count=2)
        rec.idle(0.05)
    assert answers == [Error.OK]
    assert [c[3] for c in rec.completions] == [b"one", b"two"]
    assert lines(server) == ["GET /1 HTTP/1.1", "GET /2 HTTP/1.1"]


def test_request_then_cancel_from_the_completion_callback(make):
    with ScriptedServer([OK]) as server, ScriptedServer([SILENT]) as silent:
        rec = make()

        def again(*_: object) -> None:
            if len(rec.completions) == 1:
                assert rec.req.request(url(silent)) == Error.OK
                rec.req.cancel_request()

        rec.req.request_completed.connect(again)
        assert rec.req.request(url(server)) == Error.OK
        complete(rec)
        rec.idle(0.1)
        assert rec.completions == [(SUCCESS, 200, OK_HEADERS, OK_BODY)]
        assert rec.req.poll() == Error.ERR_UNCONFIGURED


@pytest.mark.parametrize("threads", [False, True], ids=["poll", "threads"])
def test_cancel_another_request_from_a_callback(make, threads):
    with ScriptedServer([OK]) as fast, ScriptedServer([SILENT]) as slow:
        a, b = make(), make(use_threads=threads)
        a.req.request_completed.connect(lambda *_: b.req.cancel_request())
        assert b.req.request(url(slow)) == Error.OK
        drive_until(b, lambda: slow.requests)
        assert a.req.request(url(fast)) == Error.OK
        deadline = time.monotonic() + 5
        while not a.completions:
            assert time.monotonic() < deadline
            b.req.poll()
            a.req.poll()
            a.req.wait(0.01)
        b.idle(0.1)
        assert a.completions == [(SUCCESS, 200, OK_HEADERS, OK_BODY)]
        assert b.completions == []
        assert b.req.request(url(fast)) == Error.OK  # not busy any more
        assert b.complete() == (SUCCESS, 200, OK_HEADERS, OK_BODY)


@pytest.mark.parametrize("where", ["silent server", "endless lookup"])
def test_cancel_in_threads_mode_returns_at_once(make, where):
    with ScriptedServer([SILENT]) as server:
        if where == "endless lookup":
            rec = make(use_threads=True, resolver=lambda host, port: Resolution())
            assert rec.req.request("http://foo.test/") == Error.OK
            rec.idle(0.05)
        else:
            rec = make(use_threads=True)
            assert rec.req.request(url(server)) == Error.OK
            drive_until(rec, lambda: server.requests)
            rec.idle(0.05)  # the worker is asleep on the socket by now
        start = time.perf_counter()
        rec.req.cancel_request()
        elapsed = time.perf_counter() - start
        rec.idle(0.1)
    assert elapsed < 0.05
    assert rec.completions == []


# -- stall_timeout and the total timeout ---------------------------------------------------


PARTIAL = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10


@pytest.mark.parametrize("threads", [False, True], ids=["poll", "threads"])
@pytest.mark.parametrize("where", ["mid-body", "before the head"])
def test_stall_timeout(make, threads, where):
    script = [Read(), Send(PARTIAL), Pause(30)] if where == "mid-body" else SILENT
    with ScriptedServer([script]) as server:
        rec = make(stall_timeout=0.2, use_threads=threads)
        assert rec.req.timeout == 0
        start = time.monotonic()
        assert rec.req.request(url(server)) == Error.OK
        assert rec.complete() == (Result.RESULT_TIMEOUT, 0, [], b"")
        elapsed = time.monotonic() - start
    assert 0.2 <= elapsed < 1.0
    assert isinstance(rec.req.get_last_error(), TransferTimeoutError)
    if where == "mid-body":
        assert rec.req.get_downloaded_bytes() == 10


def test_stall_timeout_is_not_the_total_time(make):
    body = b"abcdef"
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n"
    with ScriptedServer([[Read(), Send(head), Trickle(body, 0.07)]]) as server:
        rec = make(stall_timeout=0.25)
        start = time.monotonic()
        assert rec.req.request(url(server)) == Error.OK
        assert rec.complete() == (SUCCESS, 200, ["Content-Length: 6"], body)
    assert time.monotonic() - start > 0.25  # longer than stall_timeout in all


def test_total_timeout_covers_redirects(make):
    script = [
        Read(),
        Pause(0.15),
        Send(redirect(302, "/2")),
        Read(),
        Pause(0.15),
        Send(redirect(302, "/3")),
        Read(),
        Pause(0.15),
        Send(response(body=b"late")),
    ]
    with ScriptedServer([script]) as server:
        rec = make(timeout=0.35)
        start = time.monotonic()
        assert rec.req.request(url(server, "/1")) == Error.OK
        assert rec.complete() == (Result.RESULT_TIMEOUT, 0, [], b"")
        elapsed = time.monotonic() - start
    assert 0.35 <= elapsed < 1.0
    assert len(server.requests) >= 2  # each hop was quicker than the timeout


# -- truncated and missing responses ---------------------------------------------------------


@pytest.mark.parametrize(
    "script",
    [
        [Read(), Send(PARTIAL), Close()],
        [Read(), Send(PARTIAL), Reset()],
        [
            Read(),
            Send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"),
            Close(),
        ],
        [Read(), Send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\nhel"), Close()],
        [
            Read(),
            Send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n"),
            Close(),
        ],
        [Read(), Send(b"HTTP/1.1 200 OK\r\nContent-Le"), Close()],
    ],
    ids=["length", "length-reset", "chunked", "mid-chunk", "no-last-crlf", "head"],
)
def test_truncated_response_is_a_connection_error(make, script):
    with ScriptedServer([script]) as server:
        rec = make()
        assert rec.req.request(url(server)) == Error.OK
        assert rec.complete() == (Result.RESULT_CONNECTION_ERROR, 0, [], b"")
        rec.idle(0.05)
    assert len(rec.completions) == 1
    assert server.connections == 1


def test_close_without_a_response_is_no_response(make):
    with ScriptedServer([[Read(), Close()]]) as server:
        rec = make()
        assert rec.req.request(url(server)) == Error.OK
        assert rec.complete() == (Result.RESULT_NO_RESPONSE, 0, [], b"")
    assert isinstance(rec.req.get_last_error(), NoResponseError)
    assert server.connections == 1  # a fresh connection is not retried


def test_read_until_close_body_is_complete_at_close(make):
    raw = b"HTTP/1.1 200 OK\r\nX: y\r\n\r\nuntil close"
    with ScriptedServer([[Read(), Send(raw), Close()]]) as server:
        rec = make()
        assert rec.req.request(url(server)) == Error.OK
        assert rec.complete() == (SUCCESS, 200, ["X: y"], b"until close")
    assert rec.req.get_body_size() == -1


# -- cookies ---------------------------------------------------------------------------------


@pytest.mark.parametrize("with_jar", [True, False])
def test_cookie_set_by_a_redirect_is_sent_on(make, with_jar):
    script = [
        Read(),
        Send(redirect(302, "/next", ("Set-Cookie: a=1; Path=/",))),
        Read(),
        Send(response(body=b"done")),
    ]
    jar = http.cookiejar.CookieJar() if with_jar else None
    with ScriptedServer([script]) as server:
        rec = make(cookie_jar=jar)
        assert rec.req.request(url(server, "/login")) == Error.OK
        assert rec.complete() == (SUCCESS, 200, ["Content-Length: 4"], b"done")
    assert lines(server) == ["GET /login HTTP/1.1", "GET /next HTTP/1.1"]
    cookies = [h for h in header_lines(server.requests[1]) if h.lower().startswith("cookie:")]
    assert cookies == (["Cookie: a=1"] if with_jar else [])
    assert "cookie" not in header_names(server.requests[0])
    if jar is not None:
        assert [(c.name, c.value) for c in jar] == [("a", "1")]


def test_cookie_jar_serves_the_next_request(make):
    script = [
        Read(),
        Send(response(headers=["Set-Cookie: a=1; Path=/", "Set-Cookie: b=2; Path=/"])),
        Read(),
        Send(response()),
    ]
    with ScriptedServer([script]) as server:
        rec = make(cookie_jar=http.cookiejar.CookieJar())
        for count in (1, 2):
            assert rec.req.request(url(server, f"/{count}")) == Error.OK
            assert complete(rec, count=count)[0] == SUCCESS
    cookie = [h for h in header_lines(server.requests[1]) if h.lower().startswith("cookie:")]
    assert len(cookie) == 1
    assert sorted(cookie[0].partition(": ")[2].split("; ")) == ["a=1", "b=2"]


# -- progress --------------------------------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
def test_download_progress(make, chunked):
    body = bytes(range(256)) * 256  # 64 KiB
    if chunked:
        pieces = [body[i : i + 5000] for i in range(0, len(body), 5000)]
        wire = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
        raw = response(headers=["Transfer-Encoding: chunked"], body=wire, length=False)
        total = -1
    else:
        raw, total = response(body=body), len(body)
    with ScriptedServer([[Read(), Send(raw)]]) as server:
        rec = make(download_chunk_size=4096, poll_byte_budget=1)
        assert rec.req.request(url(server)) == Error.OK
        result, code, _, got = rec.complete()
    assert (result, code, got) == (SUCCESS, 200, body)
    done = [d for d, _ in rec.downloads]
    assert done == sorted(set(done))  # strictly increasing
    assert {t for _, t in rec.downloads} == {total}
    assert rec.downloads[-1] == (len(body), total)
    assert len(rec.downloads) >= len(body) // 4096
    assert rec.req.get_downloaded_bytes() == len(body)


def test_upload_progress(make):
    data = bytes(range(256)) * 4096  # 1 MiB: more than one socket write
    with ScriptedServer([[Read(), Send(response("201 Created"))]]) as server:
        rec = make()
        assert rec.req.request_raw(url(server), [], POST, data) == Error.OK
        assert rec.complete()[:2] == (SUCCESS, 201)
    assert body_of(server.requests[0]) == data
    sent = [s for s, _ in rec.uploads]
    totals = {t for _, t in rec.uploads}
    assert len(totals) == 1
    (total,) = totals
    assert total >= len(data)
    assert sent == sorted(sent)
    assert rec.uploads[-1] == (total, total)


def test_wait_sleeps_on_the_socket(make):
    with ScriptedServer([SILENT]) as server:
        rec = make()
        assert rec.req.request(url(server)) == Error.OK
        drive_until(rec, lambda: server.requests)
        start = time.monotonic()
        assert rec.req.wait(0.1) is False
        assert time.monotonic() - start >= 0.09
        rec.req.cancel_request()
    wait_for(lambda: server.connections == 1)
