"""The request writer: field order, framing, defaults, injection and request-target forms."""

from __future__ import annotations

from typing import cast

import pytest

from pollhttp import InvalidParameterError
from pollhttp.protocol import ClientConnection, ConnState
from pollhttp.protocol._writers import check_target, request_head


def build_request(method, target, headers, body, defaults=()):
    """The whole request as the connection sends it: the cached head, then the body."""
    return request_head(method, target, tuple(headers), len(body), tuple(defaults))[0] + body


DEFAULTS = [(b"Host", b"example.com"), (b"User-Agent", b"pollhttp/test"), (b"Accept", b"*/*")]


def head_names(wire: bytes) -> list[bytes]:
    head = wire.split(b"\r\n\r\n", 1)[0]
    return [line.split(b":", 1)[0] for line in head.split(b"\r\n")[1:]]


def fields_of(wire: bytes) -> list[tuple[bytes, bytes]]:
    head = wire.split(b"\r\n\r\n", 1)[0]
    return [
        cast(tuple[bytes, bytes], tuple(line.split(b": ", 1))) for line in head.split(b"\r\n")[1:]
    ]


def test_simple_get_exact_bytes():
    assert build_request(b"GET", b"/", [], b"", DEFAULTS) == (
        b"GET / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: pollhttp/test\r\nAccept: */*\r\n\r\n"
    )


def test_post_exact_bytes():
    wire = build_request(b"POST", b"/f?x=1", [(b"Content-Type", b"text/plain")], b"hi", DEFAULTS)
    assert wire == (
        b"POST /f?x=1 HTTP/1.1\r\n"
        b"Host: example.com\r\n"
        b"Content-Type: text/plain\r\n"
        b"Content-Length: 2\r\n"
        b"User-Agent: pollhttp/test\r\n"
        b"Accept: */*\r\n"
        b"\r\n"
        b"hi"
    )


def test_host_first_then_user_headers_in_order():
    user = [(b"X-B", b"2"), (b"X-A", b"1"), (b"X-A", b"3")]
    wire = build_request(b"GET", b"/", user, b"", DEFAULTS)
    assert fields_of(wire) == [
        (b"Host", b"example.com"),
        *user,
        (b"User-Agent", b"pollhttp/test"),
        (b"Accept", b"*/*"),
    ]


def test_send_request_returns_the_wire_and_awaits_the_head():
    conn = ClientConnection()
    wire = conn.send_request(b"GET", b"/x", [(b"X", b"y")], b"", DEFAULTS)
    assert wire == build_request(b"GET", b"/x", [(b"X", b"y")], b"", DEFAULTS)
    assert conn.state is ConnState.AWAIT_HEAD


@pytest.mark.parametrize(
    ("method", "body", "length"),
    [
        (b"POST", b"abc", b"3"),
        (b"PUT", b"x" * 1000, b"1000"),
        (b"GET", b"x", b"1"),
        (b"DELETE", b"xy", b"2"),
        (b"POST", b"", b"0"),
        (b"PUT", b"", b"0"),
        (b"PATCH", b"", b"0"),
        (b"GET", b"", None),
        (b"DELETE", b"", None),
        (b"HEAD", b"", None),
        (b"OPTIONS", b"", None),
        (b"TRACE", b"", None),
    ],
)
def test_content_length_added(method, body, length):
    wire = build_request(method, b"/", [], body, DEFAULTS)
    lengths = [value for name, value in fields_of(wire) if name == b"Content-Length"]
    assert lengths == ([] if length is None else [length])
    assert wire.endswith(b"\r\n\r\n" + body)


@pytest.mark.parametrize("name", [b"Content-Length", b"content-length", b"CONTENT-LENGTH"])
def test_user_content_length_matching_is_kept_once(name):
    wire = build_request(b"POST", b"/", [(name, b"3")], b"abc", DEFAULTS)
    assert [field for field in fields_of(wire) if field[0].lower() == b"content-length"] == [
        (name, b"3")
    ]


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ([(b"Content-Length", b"4")], b"abc"),
        ([(b"Content-Length", b"2")], b"abc"),
        ([(b"Content-Length", b"1")], b""),
        ([(b"Content-Length", b"3"), (b"Content-Length", b"4")], b"abc"),
        ([(b"Content-Length", b"3, 3")], b"abc"),
        ([(b"Content-Length", b"+3")], b"abc"),
    ],
)
def test_user_content_length_mismatch(headers, body):
    with pytest.raises(InvalidParameterError, match="does not match"):
        build_request(b"POST", b"/", headers, body, DEFAULTS)


@pytest.mark.parametrize(
    "headers",
    [
        [(b"Content-Length", b"3"), (b"Transfer-Encoding", b"chunked")],
        [(b"transfer-encoding", b"chunked"), (b"content-length", b"3")],
    ],
)
def test_user_content_length_and_transfer_encoding(headers):
    with pytest.raises(InvalidParameterError, match="both Content-Length and Transfer"):
        build_request(b"POST", b"/", headers, b"abc", DEFAULTS)


def test_user_transfer_encoding_suppresses_content_length():
    body = b"3\r\nabc\r\n0\r\n\r\n"
    wire = build_request(b"POST", b"/", [(b"Transfer-Encoding", b"chunked")], body, DEFAULTS)
    assert b"Content-Length" not in wire
    assert wire.endswith(b"\r\n\r\n" + body)


@pytest.mark.parametrize(
    ("user", "suppressed"),
    [
        ((b"accept", b"x"), b"Accept"),
        ((b"ACCEPT", b"x"), b"Accept"),
        ((b"user-agent", b"me"), b"User-Agent"),
        ((b"hOsT", b"other:81"), b"Host"),
    ],
)
def test_defaults_suppressed_case_insensitively(user, suppressed):
    wire = build_request(b"GET", b"/", [user], b"", DEFAULTS)
    names = head_names(wire)
    assert suppressed not in names
    assert names.count(user[0]) == 1
    assert [name.lower() for name in names].count(suppressed.lower()) == 1
    other_defaults = [name for name, _ in DEFAULTS if name != suppressed]
    assert all(name in names for name in other_defaults)


def test_two_host_headers_rejected():
    with pytest.raises(InvalidParameterError, match="Host"):
        build_request(b"GET", b"/", [(b"Host", b"a"), (b"host", b"b")], b"", DEFAULTS)


def test_no_defaults_no_host():
    assert build_request(b"GET", b"/", [], b"") == b"GET / HTTP/1.1\r\n\r\n"


@pytest.mark.parametrize(
    "value", [b"", b"a b", b"a\tb", b"caf\xc3\xa9", b"\x80\xff", b'!~"(),/:;<=>?@[\\]{}']
)
def test_allowed_header_values(value):
    wire = build_request(b"GET", b"/", [(b"X", value)], b"", DEFAULTS)
    # An empty value is written "X:", as curl does (OWS is optional, RFC 9112 §5).
    assert (b"\r\nX: " + value if value else b"\r\nX:") + b"\r\n" in wire


# -- injection (ecosystem.md §3.3 cases 1-4 and 7) ----------------------------------------

BAD_METHODS = [
    b"GET /x HTTP/1.1\r\nX: y",
    b"GET\r\n",
    b"GET\r",
    b"GET\n",
    b"G\0ET",
    b"GE T",
    b"GET ",
    b"GET\t",
    b"",
    b"GET(",
    b"G\xc3\x89T",
    b"GET\x7f",
]
BAD_TARGETS = [
    b"/a\r\nX-Inj: 1",
    b"/a\r",
    b"/a\n",
    b"/a\0",
    b"/a b",
    b"/a\tb",
    b"/ HTTP/1.1\r\nX: y\r\n\r\nGET /",
    b"/\x7f",
    b"/\x01",
    b"/caf\xc3\xa9",
    b"",
    b" /",
]
BAD_NAMES = [
    b"X-A: b\r\nX",
    b"X A",
    b"",
    b"X\r",
    b"X\n",
    b"X\0",
    b"X:",
    b"X\t",
    b" X",
    b"X(y)",
    b"X\xc3\xa9",
]
BAD_VALUES = [
    b"a\r\nX-Inj: 1",
    b"a\rb",
    b"a\nb",
    b"a\0b",
    b"a\r\n",
    b"\r\n\r\nGET / HTTP/1.1",
    b"a\x01b",
    b"a\x1b",
    b"\x7f",
]


@pytest.mark.parametrize("method", BAD_METHODS)
def test_bad_method_rejected(method):
    with pytest.raises(InvalidParameterError, match="method"):
        build_request(method, b"/", [], b"", DEFAULTS)


@pytest.mark.parametrize("target", BAD_TARGETS)
@pytest.mark.parametrize("method", [b"GET", b"OPTIONS", b"CONNECT"])
def test_bad_target_rejected(method, target):
    with pytest.raises(InvalidParameterError, match="target"):
        build_request(method, target, [], b"", DEFAULTS)


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_header_name_rejected(name):
    with pytest.raises(InvalidParameterError, match="header name"):
        build_request(b"GET", b"/", [(name, b"v")], b"", DEFAULTS)


@pytest.mark.parametrize("value", BAD_VALUES)
def test_bad_header_value_rejected(value):
    with pytest.raises(InvalidParameterError, match="control character"):
        build_request(b"GET", b"/", [(b"X", value)], b"", DEFAULTS)


@pytest.mark.parametrize(
    ("method", "target", "headers"),
    [
        (BAD_METHODS[0], b"/", []),
        (b"GET", BAD_TARGETS[0], []),
        (b"GET", b"/", [(BAD_NAMES[0], b"v")]),
        (b"GET", b"/", [(b"X", BAD_VALUES[0])]),
        (b"GET", b"/", [(b"Content-Length", b"9")]),
    ],
)
def test_rejected_request_leaves_the_connection_idle(method, target, headers):
    conn = ClientConnection()
    with pytest.raises(InvalidParameterError):
        conn.send_request(method, target, headers, b"", DEFAULTS)
    assert conn.state is ConnState.IDLE
    assert conn.send_request(b"GET", b"/", [], b"", DEFAULTS).startswith(b"GET / HTTP/1.1\r\n")


# -- request-target forms (RFC 9112 §3.2) -------------------------------------------------


@pytest.mark.parametrize(
    ("method", "target"),
    [
        (b"GET", b"/"),
        (b"GET", b"/a/b?c=d&e=%20f"),
        (b"GET", b"//double"),
        (b"GET", b"/~user/!$&'()*+,;=:@"),
        (b"GET", b"http://example.com/x"),
        (b"GET", b"https://example.com:8443/x?y"),
        (b"GET", b"HTTP://EXAMPLE.COM"),
        (b"POST", b"http://[::1]:8080/"),
        (b"OPTIONS", b"*"),
        (b"OPTIONS", b"/x"),
        (b"OPTIONS", b"http://example.com"),
        (b"CONNECT", b"example.com:443"),
        (b"CONNECT", b"127.0.0.1:1"),
        (b"CONNECT", b"a:65535"),
        (b"CONNECT", b"[::1]:8080"),
        (b"CONNECT", b"[2001:db8::1]:443"),
        (b"CONNECT", b"[::ffff:127.0.0.1]:443"),
        (b"CONNECT", b"xn--caf-dma.example:80"),
    ],
)
def test_valid_targets(method, target):
    check_target(method, target)
    assert build_request(method, target, [], b"", DEFAULTS).startswith(
        method + b" " + target + b" HTTP/1.1\r\n"
    )


@pytest.mark.parametrize(
    ("method", "target"),
    [
        (b"GET", b"*"),
        (b"HEAD", b"*"),
        (b"POST", b"*"),
        (b"OPTIONS", b"**"),
        (b"OPTIONS", b"* "),
        (b"GET", b"example.com"),
        (b"GET", b"example.com:80"),
        (b"GET", b"x/y"),
        (b"GET", b"?q"),
        (b"GET", b"ftp://example.com/x"),
        (b"GET", b"http://"),
        (b"GET", b"http:/x"),
        (b"CONNECT", b"example.com"),
        (b"CONNECT", b"example.com:"),
        (b"CONNECT", b":443"),
        (b"CONNECT", b"example.com:0"),
        (b"CONNECT", b"example.com:00000"),
        (b"CONNECT", b"example.com:65536"),
        (b"CONNECT", b"example.com:99999"),
        (b"CONNECT", b"example.com:100000"),
        (b"CONNECT", b"example.com:-1"),
        (b"CONNECT", b"example.com:44a"),
        (b"CONNECT", b"/"),
        (b"CONNECT", b"*"),
        (b"CONNECT", b"http://example.com:443"),
        (b"CONNECT", b"::1:443"),
        (b"CONNECT", b"[::1]"),
        (b"CONNECT", b"[::1]:0"),
        (b"CONNECT", b"[::1]:65536"),
        (b"CONNECT", b"[::1"),
        # uri-host is an IP literal, an IPv4 address or a reg-name: no userinfo, and no
        # gen-delims ("/?#[]@") outside the brackets of an IP literal (RFC 3986 §3.2.2).
        (b"CONNECT", b"[zz]:443"),
        (b"CONNECT", b"a]:1"),
        (b"CONNECT", b"user@host:443"),
        (b"CONNECT", b"a/b:443"),
        (b"CONNECT", b"a?b:443"),
        (b"CONNECT", b"a#b:443"),
        (b"CONNECT", b"a b:443"),
        (b"CONNECT", b"a:443/x"),
    ],
)
def test_invalid_targets(method, target):
    with pytest.raises(InvalidParameterError):
        check_target(method, target)
    with pytest.raises(InvalidParameterError):
        build_request(method, target, [], b"", DEFAULTS)
