"""Arguments of HTTPRequest and the one-call API: checked at the call, sent as given.

A body is bytes, bytearray, memoryview or str (a mapping or ``json=`` in the one-call API),
and it is sent with any method, GET included (RFC 9110 §9.3.1). Headers come as lines,
pairs or a mapping; a None value leaves a header out, a default one included. A wrong
value fails at the call or assignment that made it, naming the parameter, and nothing is
sent.
"""

from __future__ import annotations

import io
import math
from typing import Any

import pytest
import trustme

import pollhttp
from pollhttp import (
    ConnectError,
    Error,
    Headers,
    HTTPClient,
    HTTPRequest,
    InvalidParameterError,
    InvalidTypeError,
    Method,
    ResolveError,
    Result,
    TLSOptions,
    TransferTimeoutError,
)
from pollhttp.protocol._decoding import accept_encoding

from ..support.servers import Pause, Read, ScriptedServer, Send, needs_ipv6, response
from ..support.tls import chain_certificate, private_key
from .conftest import RecordingResolver, body_of, complete, header_lines, header_names, request_line

SUCCESS = Result.RESULT_SUCCESS
GET, HEAD, POST, PUT = Method.METHOD_GET, Method.METHOD_HEAD, Method.METHOD_POST, Method.METHOD_PUT
OK = [Read(), Send(response(body=b"ok"))]
CLOSE = "Connection: close"


def url(server: ScriptedServer, path: str = "/") -> str:
    return f"http://{server.host}:{server.port}{path}"


def generator() -> Any:
    yield b"x"


# Bodies nobody could mean as bytes: bytes(5) would be five NUL bytes.
BAD_BODIES = [5, 0, True, 1.5, [b"a"], (b"a",), {b"a"}, generator(), io.BytesIO(b"file"), object()]


# -- bodies ------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", BAD_BODIES, ids=lambda b: type(b).__name__)
def test_httprequest_refuses_a_body_that_is_not_bytes_or_text(make, body):
    with ScriptedServer([OK]) as server:
        rec = make()
        assert rec.req.request(url(server), [], POST, body) == Error.ERR_INVALID_PARAMETER
        error = rec.req.get_last_error()
        assert isinstance(error, InvalidTypeError)
        assert isinstance(error, TypeError)
        assert "request_data" in str(error)
        assert rec.req.request_raw(url(server), [], POST, body) == Error.ERR_INVALID_PARAMETER
        assert "request_data_raw" in str(rec.req.get_last_error())
        rec.idle(0.05)
        assert rec.completions == []
    assert server.connections == 0


def test_httprequest_refuses_none_as_a_body(make):
    rec = make()
    assert rec.req.request("http://127.0.0.1:1/", [], POST, None) == Error.ERR_INVALID_PARAMETER
    assert isinstance(rec.req.get_last_error(), InvalidTypeError)


@pytest.mark.parametrize(
    ("body", "sent"),
    [
        (b"raw\x00bytes", b"raw\x00bytes"),
        (bytearray(b"array"), b"array"),
        (memoryview(b"view"), b"view"),
        ("text é", "text é".encode()),
        ("", b""),
    ],
    ids=["bytes", "bytearray", "memoryview", "str", "empty"],
)
@pytest.mark.parametrize("call", ["request", "request_raw"])
def test_httprequest_sends_every_kind_of_body(make, call, body, sent):
    with ScriptedServer([OK]) as server:
        rec = make()
        assert getattr(rec.req, call)(url(server), [], PUT, body) == Error.OK
        assert complete(rec)[0] == SUCCESS
    assert body_of(server.requests[0]) == sent
    assert f"Content-Length: {len(sent)}" in header_lines(server.requests[0])


def test_text_that_is_not_valid_unicode_is_refused(make):
    rec = make()
    assert rec.req.request("http://127.0.0.1:1/", [], POST, "\ud800") == (
        Error.ERR_INVALID_PARAMETER
    )
    assert "request_data" in str(rec.req.get_last_error())


@pytest.mark.parametrize("data", BAD_BODIES, ids=lambda b: type(b).__name__)
def test_one_call_refuses_data_that_is_not_bytes_text_or_a_mapping(data):
    refused = pytest.raises(InvalidTypeError, match=r"\bdata must be bytes")
    with ScriptedServer([OK]) as server, refused:
        pollhttp.post(url(server), data=data)
    assert server.connections == 0


def test_post_data_5_sends_nothing_at_all():
    """Five NUL bytes once went out for ``data=5``."""
    with ScriptedServer([OK]) as server, pytest.raises(TypeError, match="data"):
        pollhttp.post(url(server), data=5)
    assert server.requests == []
    assert server.connections == 0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"json": object()}, InvalidTypeError, "json"),
        ({"json": {"a": math.nan}}, InvalidParameterError, "json"),
        ({"json": [math.inf]}, InvalidParameterError, "json"),
        ({"json": {"a": 1}, "data": b"x"}, InvalidParameterError, "data or json"),
    ],
    ids=["object", "nan", "inf", "both"],
)
def test_one_call_refuses_json_that_is_not_json(kwargs, error, match):
    with ScriptedServer([OK]) as server, pytest.raises(error, match=match):
        pollhttp.post(url(server), **kwargs)
    assert server.connections == 0


@pytest.mark.parametrize(
    ("data", "sent"),
    [
        (b"raw", b"raw"),
        (bytearray(b"arr"), b"arr"),
        (memoryview(b"mv"), b"mv"),
        ("é", "é".encode()),
    ],
    ids=["bytes", "bytearray", "memoryview", "str"],
)
def test_one_call_sends_every_kind_of_data(data, sent):
    with ScriptedServer([[Read(), Send(response(headers=[CLOSE]))]]) as server:
        assert pollhttp.post(url(server), data=data).status_code == 200
    assert body_of(server.requests[0]) == sent


# -- a body with GET is sent -----------------------------------------------------------------


@pytest.mark.parametrize("call", ["request", "request_raw"])
def test_httprequest_sends_a_get_body(make, call):
    with ScriptedServer([OK]) as server:
        rec = make()
        assert getattr(rec.req, call)(url(server, "/q"), [], GET, '{"query": 1}') == Error.OK
        assert complete(rec)[::3] == (SUCCESS, b"ok")
    raw = server.requests[0]
    assert request_line(raw) == "GET /q HTTP/1.1"
    assert "Content-Length: 12" in header_lines(raw)
    assert body_of(raw) == b'{"query": 1}'


def test_one_call_sends_a_get_body():
    with ScriptedServer([[Read(), Send(response(headers=[CLOSE], body=b"found"))]]) as server:
        assert pollhttp.get(url(server, "/search"), data="q=1").content == b"found"
        raw = server.requests[0]
    assert request_line(raw) == "GET /search HTTP/1.1"
    assert body_of(raw) == b"q=1"
    assert "Content-Length: 3" in header_lines(raw)


@pytest.mark.parametrize(
    ("code", "keeps_body"), [(301, True), (302, True), (307, True), (308, True), (303, False)]
)
def test_get_body_across_redirects(make, code, keeps_body):
    """A GET keeps its body where the method is kept; a 303 asks for a GET without content."""
    moved = response(f"{code} Moved", ["Location: /b"])
    with ScriptedServer([[Read(), Send(moved), Read(), Send(response(body=b"end"))]]) as server:
        rec = make()
        headers = ["Content-Type: text/plain"]
        assert rec.req.request(url(server, "/a"), headers, GET, "payload") == Error.OK
        assert complete(rec)[::3] == (SUCCESS, b"end")
    first, second = server.requests
    assert body_of(first) == b"payload"
    assert request_line(second) == "GET /b HTTP/1.1"
    if keeps_body:
        assert body_of(second) == b"payload"
        assert "Content-Length: 7" in header_lines(second)
    else:
        assert body_of(second) == b""
        assert "content-length" not in header_names(second)
        assert "content-type" not in header_names(second)


# -- headers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        ["X-A: 1", "X-B: two"],
        [("X-A", "1"), ("X-B", "two")],
        [("X-A", 1), "X-B: two"],
        {"X-A": "1", "X-B": "two"},
        (("X-A", "1"), ["X-B", "two"]),
    ],
    ids=["lines", "pairs", "mixed", "mapping", "tuple-of-pairs"],
)
def test_httprequest_takes_every_header_form(make, headers):
    with ScriptedServer([OK]) as server:
        rec = make()
        assert rec.req.request(url(server), headers) == Error.OK
        assert complete(rec)[0] == SUCCESS
    lines = header_lines(server.requests[0])
    assert lines.index("X-A: 1") < lines.index("X-B: two")


@pytest.mark.parametrize(
    "headers", [[("X-A", "1")], {"X-A": "1"}, ["X-A: 1"]], ids=["pairs", "mapping", "lines"]
)
def test_one_call_takes_every_header_form(headers):
    with ScriptedServer([[Read(), Send(response(headers=[CLOSE]))]]) as server:
        pollhttp.get(url(server), headers=headers)
    assert "X-A: 1" in header_lines(server.requests[0])


@pytest.mark.parametrize(
    "left_out",
    [
        {"User-Agent": None, "Accept": None, "Accept-Encoding": None},
        [("user-agent", None), ("ACCEPT", None), ("Accept-Encoding", None)],
    ],
    ids=["mapping", "pairs"],
)
def test_none_leaves_default_headers_out(make, left_out):
    with ScriptedServer([OK, OK]) as server:
        rec = make()
        assert rec.req.request(url(server), left_out) == Error.OK
        assert complete(rec)[0] == SUCCESS
        rec.req.close()
        pollhttp.get(url(server), headers=left_out)
    for raw in server.requests:
        names = header_names(raw)
        assert "user-agent" not in names
        assert "accept" not in names
        assert "accept-encoding" not in names
        assert names[0] == "host"
    assert len(server.requests) == 2


def test_none_for_a_header_that_is_not_a_default_sends_nothing_for_it(make):
    with ScriptedServer([OK]) as server:
        rec = make()
        assert rec.req.request(url(server), {"X-A": None, "X-B": "kept"}) == Error.OK
        assert complete(rec)[0] == SUCCESS
    lines = header_lines(server.requests[0])
    assert "X-B: kept" in lines
    assert not any(line.lower().startswith("x-a") for line in lines)
    assert "X-A: None" not in lines
    assert f"Accept-Encoding: {accept_encoding()}" in lines  # the other defaults stay


def test_none_leaves_out_what_httprequest_adds_and_stays_out_after_a_redirect(make):
    """URL credentials become Authorization unless it is left out; a redirect keeps that."""
    moved = response("302 Found", ["Location: /b"])
    with ScriptedServer([[Read(), Send(moved), Read(), Send(response(body=b"end"))]]) as server:
        rec = make()
        target = f"http://user:pw@127.0.0.1:{server.port}/a"
        headers = [("Authorization", None), ("Accept-Encoding", None), ("User-Agent", None)]
        assert rec.req.request(target, headers) == Error.OK
        assert complete(rec)[::3] == (SUCCESS, b"end")
    assert len(server.requests) == 2
    for raw in server.requests:
        names = header_names(raw)
        assert "authorization" not in names
        assert "accept-encoding" not in names
        assert "user-agent" not in names


@pytest.mark.parametrize(
    "headers", ["X-A: 1", b"X-A: 1", 5, [5], [("X-A",)], [("X-A", b"1")], [(1, "x")]], ids=repr
)
def test_wrong_headers_are_refused(make, headers):
    with ScriptedServer([OK]) as server:
        rec = make()
        assert rec.req.request(url(server), headers) == Error.ERR_INVALID_PARAMETER
        error = rec.req.get_last_error()
        assert isinstance(error, InvalidTypeError)
        assert "custom_headers" in str(error)
        with pytest.raises(InvalidTypeError, match="headers"):
            pollhttp.get(url(server), headers=headers)
    assert server.connections == 0


def test_host_cannot_be_left_out(make):
    rec = make()
    assert rec.req.request("http://127.0.0.1:1/", [("Host", None)]) == Error.ERR_INVALID_PARAMETER
    assert "Host" in str(rec.req.get_last_error())


# -- wrong values at the call -------------------------------------------------------------------


@pytest.mark.parametrize("bad_url", [None, b"http://127.0.0.1/", 5, ["http://x/"]], ids=repr)
def test_url_must_be_text(make, bad_url):
    rec = make()
    for call in (rec.req.request, rec.req.request_raw):
        assert call(bad_url) == Error.ERR_INVALID_PARAMETER
        error = rec.req.get_last_error()
        assert isinstance(error, InvalidTypeError)
        assert "url must be a str" in str(error)
    with pytest.raises(InvalidTypeError, match="url must be a str"):
        pollhttp.get(bad_url)
    with pytest.raises(InvalidTypeError, match="url must be a str"):
        pollhttp.request("GET", bad_url)
    assert rec.req.poll() == Error.ERR_UNCONFIGURED


@pytest.mark.parametrize(
    ("method", "error"),
    [
        (None, InvalidTypeError),
        (1.0, InvalidTypeError),
        (b"GET", InvalidTypeError),
        (True, InvalidTypeError),
        ("GE T", InvalidParameterError),  # a name must be a token (RFC 9110 §9.1)
        ("", InvalidParameterError),
    ],
    ids=repr,
)
def test_httprequest_method_must_be_a_method(make, method, error):
    rec = make()
    assert rec.req.request("http://127.0.0.1:1/", [], method) == Error.ERR_INVALID_PARAMETER
    assert isinstance(rec.req.get_last_error(), error)
    assert "method" in str(rec.req.get_last_error())


@pytest.mark.parametrize(
    ("method", "error"),
    [(None, InvalidTypeError), (1, InvalidTypeError), (b"GET", InvalidTypeError)],
    ids=repr,
)
def test_one_call_method_must_be_text(method, error):
    with ScriptedServer([OK]) as server:
        with pytest.raises(error, match="method must be a str"):
            pollhttp.request(method, url(server))
        with pytest.raises(InvalidParameterError, match="not a token"):
            pollhttp.request("FE TCH", url(server))
    assert server.connections == 0


@pytest.mark.parametrize("options", ["x", 5, TLSOptions], ids=repr)
def test_tls_options_must_be_tls_options(make, options):
    req = make().req
    with pytest.raises(InvalidTypeError, match="client_options must be TLSOptions"):
        req.set_tls_options(options)
    refused = pytest.raises(InvalidTypeError, match="tls_options must be TLSOptions")
    with ScriptedServer([OK]) as server, refused:
        pollhttp.get(url(server), tls_options=options)
    assert server.connections == 0


def test_tls_options_must_be_client_options(make):
    leaf = trustme.CA().issue_cert("localhost")
    options = TLSOptions.server(private_key(leaf.private_key_pem), chain_certificate(leaf))
    req = make().req
    with pytest.raises(InvalidParameterError, match="client TLS options"):
        req.set_tls_options(options)


SETTINGS_REFUSED = [
    ("timeout", "10", InvalidTypeError),
    ("timeout", -1, InvalidParameterError),
    ("timeout", math.nan, InvalidParameterError),
    ("timeout", True, InvalidTypeError),
    ("stall_timeout", "1", InvalidTypeError),
    ("stall_timeout", -0.5, InvalidParameterError),
    ("stall_timeout", math.nan, InvalidParameterError),
    ("max_redirects", "8", InvalidTypeError),
    ("max_redirects", -2, InvalidParameterError),
    ("max_redirects", 1.0, InvalidTypeError),
    ("max_redirects", None, InvalidTypeError),
    ("body_size_limit", -2, InvalidParameterError),
    ("body_size_limit", "1", InvalidTypeError),
    ("body_size_limit", 2**63, InvalidParameterError),
    ("download_chunk_size", -1, InvalidParameterError),
    ("download_chunk_size", 0, InvalidParameterError),
    ("download_chunk_size", 10**12, InvalidParameterError),
    ("download_chunk_size", 4096.0, InvalidTypeError),
    ("max_content_codings", -1, InvalidParameterError),
    ("max_content_codings", 65, InvalidParameterError),
    ("max_redirect_visits", 0, InvalidParameterError),
    ("redirect_drain_limit", -1, InvalidParameterError),
    ("redirect_drain_limit", "64k", InvalidTypeError),
    ("poll_time_budget", -0.1, InvalidParameterError),
    ("poll_time_budget", None, InvalidTypeError),
    ("poll_byte_budget", 0, InvalidParameterError),
    ("accept_gzip", "false", InvalidTypeError),
    ("accept_gzip", 0, InvalidTypeError),
    ("resume_download", 1, InvalidTypeError),
    ("use_threads", "yes", InvalidTypeError),
    ("use_environment_proxies", None, InvalidTypeError),
    ("cookie_jar", "jar", InvalidTypeError),
    ("cookie_jar", {}, InvalidTypeError),
    ("download_file", 5, InvalidTypeError),
    ("download_file", b"out.bin", InvalidTypeError),
    ("download_file", "a\0b", InvalidParameterError),
    ("ip_version", 5, InvalidParameterError),
    ("ip_version", -4, InvalidParameterError),
    ("ip_version", "4", InvalidTypeError),
    ("ip_version", True, InvalidTypeError),
    ("ip_version", None, InvalidTypeError),
]


@pytest.mark.parametrize(("name", "value", "error"), SETTINGS_REFUSED, ids=repr)
def test_settings_are_checked_at_the_assignment(make, name, value, error):
    req = make().req
    before = getattr(req, name)
    with pytest.raises(error, match=name):
        setattr(req, name, value)
    assert getattr(req, name) == before


@pytest.mark.parametrize(
    ("name", "value", "read_back"),
    [
        ("timeout", 2, 2.0),
        ("timeout", math.inf, 0.0),
        ("timeout", 1e308, 0.0),
        ("timeout", None, 0.0),
        ("stall_timeout", 0.25, 0.25),
        ("stall_timeout", math.inf, 0.0),
        ("max_redirects", -1, -1),
        ("max_redirects", 0, 0),
        ("body_size_limit", 0, 0),
        ("max_content_codings", 0, 0),
        ("redirect_drain_limit", 0, 0),
        ("poll_time_budget", 0.0, 0.0),
        ("poll_time_budget", math.inf, math.inf),
        ("accept_gzip", False, False),
        ("ip_version", 4, 4),
        ("ip_version", 6, 6),
        ("download_chunk_size", 256, 256),
    ],
    ids=repr,
)
def test_settings_take_good_values(make, name, value, read_back):
    req = make().req
    setattr(req, name, value)
    assert getattr(req, name) == read_back


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"timeout": "5"}, InvalidTypeError, "timeout"),
        ({"timeout": -1}, InvalidParameterError, "timeout"),
        ({"timeout": math.nan}, InvalidParameterError, "timeout"),
        ({"max_redirects": "8"}, InvalidTypeError, "max_redirects"),
        ({"max_redirects": -5}, InvalidParameterError, "max_redirects"),
        ({"accept_gzip": "no"}, InvalidTypeError, "accept_gzip"),
        ({"cookie_jar": "jar"}, InvalidTypeError, "cookie_jar"),
        ({"ip_version": 5}, InvalidParameterError, "ip_version"),
    ],
    ids=repr,
)
def test_one_call_values_are_checked_before_anything_is_sent(kwargs, error, match):
    with ScriptedServer([OK]) as server, pytest.raises(error, match=match):
        pollhttp.get(url(server), **kwargs)
    assert server.connections == 0


# -- timeouts without a limit, over a real transfer --------------------------------------------


@pytest.mark.parametrize("limit", [math.inf, 1e308, None], ids=repr)
@pytest.mark.parametrize("threads", [False, True], ids=["poll", "threads"])
def test_infinite_timeouts_are_no_limit_in_a_transfer(make, limit, threads):
    # The answer comes in two writes: the stall timer is read between them.
    head = response(headers=["Content-Length: 4"], length=False)
    with ScriptedServer([[Read(), Send(head + b"ab"), Pause(0.05), Send(b"cd")]]) as server:
        rec = make(timeout=limit, stall_timeout=limit, use_threads=threads)
        assert rec.req.request(url(server)) == Error.OK
        assert rec.req.get_wait_timeout() is None
        assert complete(rec) == (SUCCESS, 200, ["Content-Length: 4"], b"abcd")


@pytest.mark.parametrize("limit", [math.inf, 1e308, None], ids=repr)
def test_one_call_infinite_timeout_is_no_limit(limit):
    with ScriptedServer([[Read(), Send(response(headers=[CLOSE], body=b"done"))]]) as server:
        assert pollhttp.get(url(server), timeout=limit).content == b"done"


def test_one_call_finite_timeout_still_fires():
    with ScriptedServer([[Read(), Pause(30)]]) as server, pytest.raises(TransferTimeoutError):
        pollhttp.get(url(server), timeout=0.2)


# -- ip_version -------------------------------------------------------------------------------


def test_ip_version_4_to_an_ipv4_server(make):
    with ScriptedServer([OK]) as server:
        rec = make(ip_version=4)
        assert rec.req.request(url(server)) == Error.OK
        assert complete(rec)[::3] == (SUCCESS, b"ok")
        assert rec.req.get_http_client().ip_version == 4
        assert pollhttp.get(url(server), ip_version=4, headers=[CLOSE]).content == b"ok"


def test_ip_version_6_to_an_ipv4_address_fails_cleanly(make):
    with ScriptedServer([OK]) as server:
        rec = make(ip_version=6)
        assert rec.req.request(url(server)) == Error.OK
        result = complete(rec)
        assert result[0] in (Result.RESULT_CANT_RESOLVE, Result.RESULT_CANT_CONNECT)
        assert result[1:] == (0, [], b"")
        with pytest.raises((ResolveError, ConnectError)):
            pollhttp.get(url(server), ip_version=6)
    assert server.connections == 0


def test_ip_version_filters_what_the_resolver_gives(make):
    with ScriptedServer([OK]) as server:
        resolver = RecordingResolver(server.port)  # every name is 127.0.0.1
        ipv6_only = make(resolver=resolver, ip_version=6)
        assert ipv6_only.req.request(f"http://example.test:{server.port}/") == Error.OK
        assert complete(ipv6_only)[0] in (Result.RESULT_CANT_RESOLVE, Result.RESULT_CANT_CONNECT)
        ipv4_only = make(resolver=resolver, ip_version=4)
        assert ipv4_only.req.request(f"http://example.test:{server.port}/") == Error.OK
        assert complete(ipv4_only)[::3] == (SUCCESS, b"ok")
    assert server.connections == 1


@needs_ipv6
def test_ip_version_with_an_ipv6_server(make):
    with ScriptedServer([OK], host="::1") as server:
        rec = make(ip_version=6)
        assert rec.req.request(f"http://[::1]:{server.port}/") == Error.OK
        assert complete(rec)[::3] == (SUCCESS, b"ok")
        only4 = make(ip_version=4)
        assert only4.req.request(f"http://[::1]:{server.port}/") == Error.OK
        assert complete(only4)[0] in (Result.RESULT_CANT_RESOLVE, Result.RESULT_CANT_CONNECT)
    assert server.connections == 1


def test_changing_ip_version_opens_a_new_connection(make):
    with ScriptedServer([[Read(), Send(response(body=b"ok")), Read(), Send(response())], OK]) as s:
        rec = make()
        assert rec.req.request(url(s)) == Error.OK
        assert complete(rec)[0] == SUCCESS
        rec.req.ip_version = 4
        assert rec.req.request(url(s)) == Error.OK
        assert complete(rec, count=2)[0] == SUCCESS
    assert s.connections == 2


def test_httpclient_default_is_unchanged_by_a_default_httprequest(make):
    with ScriptedServer([OK]) as server:
        rec = make()
        assert rec.req.request(url(server)) == Error.OK
        assert complete(rec)[0] == SUCCESS
        assert rec.req.get_http_client().ip_version == 0
    assert isinstance(rec.req, HTTPRequest)
    assert HTTPClient().ip_version == 0


# -- the smaller public pieces -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"limits": "x"}, "limits must be Limits"), ({"resolver": ""}, "resolver must be callable")],
    ids=repr,
)
def test_httprequest_constructor_checks_its_arguments(kwargs, match):
    with pytest.raises(InvalidTypeError, match=match):
        HTTPRequest(**kwargs)


def test_download_file_must_be_a_file_name(make):
    req = make().req
    with pytest.raises(InvalidParameterError, match="download_file"):
        req.download_file = "\ud800.bin"  # a lone surrogate: no file system takes it
    assert req.download_file == ""


@pytest.mark.parametrize("callback", [None, 5, "print"], ids=repr)
def test_signal_connect_needs_a_callable(make, callback):
    signal = make().req.request_completed
    with pytest.raises(InvalidTypeError, match="callback must be callable"):
        signal.connect(callback)
    assert not signal.is_connected(callback)
    signal.emit()  # nothing connected: nothing to fail


def test_headers_checks_its_arguments():
    with pytest.raises(InvalidTypeError, match="lines"):
        Headers(None)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="lines"):
        Headers("X-A: 1")
    with pytest.raises(InvalidTypeError, match="lines"):
        Headers([b"X-A: 1"])  # type: ignore[list-item]
    headers = Headers(["X-A: 1"])
    assert headers.get(None) is None  # type: ignore[call-overload]
    assert None not in headers
    with pytest.raises(InvalidTypeError, match="name must be a str"):
        headers.get_all(None)  # type: ignore[arg-type]
    assert headers.get("x-a") == "1"
