"""pollhttp.request()/get()/post(): the one-call face, against scripted servers and the demo.

Most scripted responses say ``Connection: close`` so that each test checks one thing; the
kept-alive case has tests of its own.
"""

from __future__ import annotations

import gc
import http.cookiejar
import json
import time
import urllib.parse
import warnings
from collections.abc import Iterator

import pytest

import pollhttp
from pollhttp import (
    ConnectError,
    HTTPStatusError,
    IncompleteBodyError,
    InvalidParameterError,
    NoResponseError,
    PollHTTPError,
    RedirectError,
    TooManyRedirectsError,
    TransferTimeoutError,
)
from pollhttp.demo import DemoServer

from ..support.servers import Close, Pause, Read, ScriptedServer, Send, Step, response
from .conftest import body_of, header_lines, request_line

CLOSE = "Connection: close"


def url(server: ScriptedServer | DemoServer, path: str = "/") -> str:
    return f"http://127.0.0.1:{server.port}{path}"


def answer(status: str = "200 OK", headers: tuple[str, ...] = (), body: bytes = b"") -> list:
    """A one-response script that closes the connection after it."""
    return [[Read(), Send(response(status, [*headers, CLOSE], body))]]


@pytest.fixture
def demo() -> Iterator[DemoServer]:
    with DemoServer() as server:
        yield server


# -- the Response --------------------------------------------------------------------------


def test_response_fields():
    headers = (
        "Content-Type: text/plain; charset=iso-8859-1",
        "Set-Cookie: a=1; Path=/",
        "Set-Cookie: b=2",
        "X-Multi: one",
        "x-multi: two",
    )
    with ScriptedServer(answer(headers=headers, body="café".encode("latin-1"))) as server:
        r = pollhttp.get(url(server, "/p?q=1"))
    assert r.status_code == 200
    assert r.ok
    assert r.url == url(server, "/p?q=1")
    assert r.content == b"caf\xe9"
    assert r.text == "café"
    assert r.headers["content-type"] == "text/plain; charset=iso-8859-1"
    assert r.headers["CONTENT-TYPE"] == r.headers["Content-Type"]
    assert "set-cookie" in r.headers
    assert r.headers.get_all("set-cookie") == ["a=1; Path=/", "b=2"]
    assert r.headers.get_all("SET-COOKIE") == ["a=1; Path=/", "b=2"]
    assert r.headers["X-MULTI"] == "one, two"
    assert r.headers.get("x-missing") is None
    assert r.headers.get_all("x-missing") == []
    with pytest.raises(KeyError):
        r.headers["x-missing"]
    assert len(r.headers) == 5  # content-type, set-cookie, x-multi, connection, content-length
    assert request_line(server.requests[0]) == "GET /p?q=1 HTTP/1.1"


@pytest.mark.parametrize(
    ("content_type", "body", "text"),
    [
        (None, "ünï".encode(), "ünï"),
        ("text/plain; charset=utf-8", "ünï".encode(), "ünï"),
        ('text/plain; charset="ISO-8859-1"', b"\xfc", "ü"),
        ("text/plain; charset=no-such-charset", "ü".encode(), "ü"),
    ],
)
def test_text_uses_the_charset(content_type, body, text):
    headers = (f"Content-Type: {content_type}",) if content_type else ()
    with ScriptedServer(answer(headers=headers, body=body)) as server:
        assert pollhttp.get(url(server)).text == text


def test_json_body():
    document = {"a": [1, 2], "b": {"c": None}, "d": "é"}
    body = json.dumps(document).encode()
    with ScriptedServer(answer(headers=("Content-Type: application/json",), body=body)) as server:
        assert pollhttp.get(url(server)).json() == document


# -- what is sent --------------------------------------------------------------------------


def test_post_json():
    with ScriptedServer(answer("201 Created")) as server:
        r = pollhttp.post(url(server, "/items"), json={"name": "x", "n": [1, 2]})
    assert r.status_code == 201
    raw = server.requests[0]
    assert request_line(raw) == "POST /items HTTP/1.1"
    assert "Content-Type: application/json" in header_lines(raw)
    assert json.loads(body_of(raw)) == {"name": "x", "n": [1, 2]}
    assert f"Content-Length: {len(body_of(raw))}" in header_lines(raw)


def test_post_form_dict():
    fields = {"a": "1 2", "b": "x&y=z", "c": "é"}
    with ScriptedServer(answer()) as server:
        pollhttp.post(url(server), data=fields)
    raw = server.requests[0]
    assert "Content-Type: application/x-www-form-urlencoded" in header_lines(raw)
    parsed = urllib.parse.parse_qs(body_of(raw).decode("ascii"), strict_parsing=True)
    assert parsed == {key: [value] for key, value in fields.items()}


@pytest.mark.parametrize(
    ("data", "sent"), [("héllo", "héllo".encode()), (b"\x00\xff", b"\x00\xff"), (None, b"")]
)
def test_post_raw_data(data, sent):
    with ScriptedServer(answer()) as server:
        pollhttp.post(url(server), data=data, headers={"Content-Type": "application/x-test"})
    raw = server.requests[0]
    assert body_of(raw) == sent
    assert f"Content-Length: {len(sent)}" in header_lines(raw)
    assert [h for h in header_lines(raw) if h.lower().startswith("content-type")] == [
        "Content-Type: application/x-test"
    ]


@pytest.mark.parametrize(
    "headers", [{"X-A": "1", "Accept": "text/json"}, ["X-A: 1", "Accept: text/json"]]
)
def test_headers_as_mapping_or_lines(headers):
    with ScriptedServer(answer()) as server:
        pollhttp.request("get", url(server), headers=headers)
    lines = header_lines(server.requests[0])
    assert "X-A: 1" in lines
    assert [h for h in lines if h.lower().startswith("accept:")] == ["Accept: text/json"]


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
def test_other_methods(method):
    with ScriptedServer(answer()) as server:
        assert pollhttp.request(method, url(server)).status_code == 200
    assert request_line(server.requests[0]) == f"{method} / HTTP/1.1"


def test_cookie_jar_across_a_redirect():
    jar = http.cookiejar.CookieJar()
    script = [
        Read(),
        Send(response("302 Found", ["Location: /next", "Set-Cookie: a=1; Path=/"])),
        Read(),
        Send(response(headers=[CLOSE], body=b"in")),
    ]
    with ScriptedServer([script]) as server:
        r = pollhttp.get(url(server, "/login"), cookie_jar=jar)
    assert r.content == b"in"
    assert r.url == url(server, "/next")
    assert "Cookie: a=1" in header_lines(server.requests[1])


# -- raise_for_status and failures -----------------------------------------------------------


@pytest.mark.parametrize(("status", "code"), [("404 Not Found", 404), ("500 Oops", 500)])
def test_raise_for_status_raises_for_errors(status, code):
    with ScriptedServer(answer(status, body=b"no")) as server:
        r = pollhttp.get(url(server))
    assert r.status_code == code
    assert not r.ok
    assert r.content == b"no"
    with pytest.raises(HTTPStatusError) as info:
        r.raise_for_status()
    assert info.value.status_code == code


@pytest.mark.parametrize("status", ["200 OK", "204 No Content", "304 Not Modified"])
def test_raise_for_status_returns_the_response(status):
    with ScriptedServer([[Read(), Send(response(status, [CLOSE], length=False)), Close()]]) as srv:
        r = pollhttp.get(url(srv))
    assert r.raise_for_status() is r


def test_closed_port_raises_connect_error(closed_port):
    with pytest.raises(ConnectError):
        pollhttp.get(f"http://127.0.0.1:{closed_port}/")


def test_timeout_raises_transfer_timeout_error():
    with ScriptedServer([[Read(), Pause(30)]]) as server:
        start = time.monotonic()
        with pytest.raises(TransferTimeoutError):
            pollhttp.get(url(server), timeout=0.3)
        elapsed = time.monotonic() - start
    assert 0.3 <= elapsed < 1.5


def test_too_many_redirects():
    steps: list[Step] = []
    for hop in range(1, 4):
        steps += [Read(), Send(response("301 Moved", [f"Location: /{hop + 1}"]))]
    with ScriptedServer([steps]) as server, pytest.raises(TooManyRedirectsError):
        pollhttp.get(url(server, "/1"), max_redirects=2)
    assert len(server.requests) == 3


def test_redirect_loop_raises_too_many_redirects():
    script = [[Read(), Send(response("302 Found", ["Location: /", CLOSE]))]]
    with ScriptedServer(script) as server, pytest.raises(TooManyRedirectsError):
        pollhttp.get(url(server), max_redirects=-1)


def test_bad_location_raises_redirect_error():
    script = answer("302 Found", ("Location: ftp://x/",))
    with ScriptedServer(script) as server, pytest.raises(RedirectError):
        pollhttp.get(url(server))


def test_max_redirects_zero_returns_the_redirect():
    with ScriptedServer(answer("301 Moved", ("Location: /next",), b"moved")) as server:
        r = pollhttp.get(url(server), max_redirects=0)
    assert (r.status_code, r.headers["location"], r.content) == (301, "/next", b"moved")
    assert r.raise_for_status() is r


def test_close_without_a_response_raises_no_response_error():
    with ScriptedServer([[Read(), Close()]]) as server, pytest.raises(NoResponseError):
        pollhttp.get(url(server))


def test_truncated_body_raises():
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10
    script = [[Read(), Send(raw), Close()]]
    with ScriptedServer(script) as server, pytest.raises(IncompleteBodyError):
        pollhttp.get(url(server))


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("GET", "ftp://x"),
        ("GET", "http://foo.test:8080:433/"),
        ("GET", "http://foo.test/a b"),
        ("BR EW", "http://127.0.0.1:{port}/"),  # any token is a method; this is none
        ("", "http://127.0.0.1:{port}/"),
        ("GET\r\n", "http://127.0.0.1:{port}/"),
    ],
)
def test_invalid_parameter(method, target):
    with ScriptedServer(answer()) as server, pytest.raises(InvalidParameterError):
        pollhttp.request(method, target.format(port=server.port))
    assert server.connections == 0


def test_invalid_header_raises_invalid_parameter():
    with ScriptedServer(answer()) as server, pytest.raises(InvalidParameterError):
        pollhttp.get(url(server), headers=["X-Bad: a\r\nX-Injected: b"])
    assert server.connections == 0


def test_exceptions_share_one_base():
    for kind in (ConnectError, TransferTimeoutError, TooManyRedirectsError, HTTPStatusError):
        assert issubclass(kind, PollHTTPError)


# -- kept-alive connections and the demo server -------------------------------------------


def test_request_leaves_no_socket_open():
    # The server keeps the connection alive: the one-call request must still close it.
    script = [[Read(), Send(response(body=b"kept"))]]
    with ScriptedServer(script) as server, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = pollhttp.get(url(server))
        gc.collect()
    assert r.content == b"kept"
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == []


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", b"Hello from the pollhttp demo server!\n"),
        ("/chunked", b"".join(b"chunk %d\n" % i for i in range(5))),
        ("/large", bytes(range(256)) * 4096),
    ],
)
def test_demo_server(demo, path, expected):
    r = pollhttp.get(url(demo, path))
    assert r.raise_for_status() is r
    assert r.content == expected
    assert r.headers["content-type"] in ("text/plain", "application/octet-stream")


def test_demo_server_not_found(demo):
    r = pollhttp.get(url(demo, "/missing"))
    assert r.status_code == 404
    with pytest.raises(HTTPStatusError):
        r.raise_for_status()
