"""A table of response fixtures for ClientConnection, each fed whole, split and byte by byte."""

from __future__ import annotations

import pytest

from pollhttp import (
    IncompleteBodyError,
    InvalidParameterError,
    LimitExceededError,
    NoResponseError,
    RemoteProtocolError,
)
from pollhttp.protocol import NEED_DATA, ClientConnection, ConnState, Limits, Response

from .helpers import (
    CLOSED,
    IDLE,
    Raises,
    byte_at_a_time,
    check,
    data,
    done,
    drive,
    end,
    every_split,
    info,
    one_piece,
    resp,
    start_request,
    tunnel,
)

GET, HEAD, POST, CONNECT = b"GET", b"HEAD", b"POST", b"CONNECT"
OK = b"HTTP/1.1 200 OK"
OK10 = b"HTTP/1.0 200 OK"
CL2 = b"Content-Length: 2"
TE = b"Transfer-Encoding: chunked"
NEXT = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"  # a second response on the connection
NEXT_EVENTS = (resp(200, 2), data(b"ok"), end(), IDLE)


def h(*lines: bytes, body: bytes = b"") -> bytes:
    """A response head from its lines (status line first), then ``body``."""
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def err(fragment: str, exc: type[Exception] = RemoteProtocolError, **attrs: object) -> Raises:
    return Raises(exc, fragment, attrs)


def limit(fragment: str) -> Raises:
    return Raises(LimitExceededError, fragment)


def case(name, methods, raw, *expected, eof=False, limits=None, upgrade=False):
    methods = (methods,) if isinstance(methods, bytes) else methods
    return pytest.param(methods, raw, expected, eof, limits, upgrade, id=name)


def head_of(size: int) -> bytes:
    """A complete head of exactly ``size`` bytes (blank line included)."""
    prefix = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX: "
    return prefix + b"a" * (size - len(prefix) - 4) + b"\r\n\r\n"


def headers_of(count: int) -> bytes:
    return h(OK, *(b"X-%d: v" % i for i in range(count - 1)), b"Content-Length: 0")


def chunk_line(size: int) -> bytes:
    """A chunk-size line for a 2-byte chunk, ``size`` bytes long with its CRLF."""
    return b"2;" + b"e" * (size - 4) + b"\r\n"


def trailer_of(size: int) -> bytes:
    """A trailer section (after the last chunk) of exactly ``size`` bytes."""
    return b"X: " + b"t" * (size - 7) + b"\r\n\r\n"


CHUNKED_ABC = b"1\r\na\r\n2\r\nbc\r\n0\r\n\r\n"
CHUNKED_HEAD = h(OK, TE)
INCOMPLETE = IncompleteBodyError
SMALL_HEAD = Limits(max_head_bytes=64)
SMALL_CHUNK_LINE = Limits(max_chunk_line_bytes=16)
SMALL_TRAILER = Limits(max_trailer_bytes=32)

# The fixture table is laid out by hand, one fixture per row or two.
# fmt: off
VALID = [
    # -- Content-Length ------------------------------------------------------------------
    case("cl", GET, h(OK, b"Content-Length: 5", body=b"hello"), resp(200, 5), data(b"hello"),
         end(), IDLE),
    case("cl-zero", GET, h(OK, b"Content-Length: 0"), resp(200, 0), end(), IDLE),
    case("cl-19-digits", GET, h(OK, b"Content-Length: 0000000000000000002", body=b"ok"),
         resp(200, 2), data(b"ok"), end(), IDLE),
    case("cl-identical-lines", GET, h(OK, CL2, CL2, body=b"ok"), resp(200, 2), data(b"ok"),
         end(), IDLE),
    case("cl-identical-list", GET, h(OK, b"Content-Length: 2, 2", body=b"ok"), resp(200, 2),
         data(b"ok"), end(), IDLE),
    case("cl-ows", GET, h(OK, b"content-length: \t2 ", body=b"ok"), resp(200, 2),
         data(b"ok"), end(), IDLE),
    case("cl-then-next", (GET, GET), h(OK, CL2, body=b"ab") + NEXT, resp(200, 2),
         data(b"ab"), end(), *NEXT_EVENTS),
    case("cl-extra-bytes-kept", GET, h(OK, CL2, body=b"abXYZ"), resp(200, 2), data(b"ab"),
         end(), done("MUST_CLOSE", False, b"XYZ")),
    case("post-cl", POST, h(b"HTTP/1.1 201 Created", CL2, body=b"ok"), resp(201, 2),
         data(b"ok"), end(), IDLE),
    # -- chunked -------------------------------------------------------------------------
    case("chunked", GET, CHUNKED_HEAD + b"5\r\nhello\r\n0\r\n\r\n", resp(200, None, True),
         data(b"hello"), end(), IDLE),
    case("chunked-multiple", GET, CHUNKED_HEAD + CHUNKED_ABC, resp(200, None, True),
         data(b"abc"), end(), IDLE),
    case("chunked-empty-body", GET, CHUNKED_HEAD + b"0\r\n\r\n", resp(200, None, True),
         end(), IDLE),
    case("chunked-hex-case", GET,
         CHUNKED_HEAD + b"a\r\n" + b"x" * 10 + b"\r\nB\r\n" + b"y" * 11 + b"\r\n1f\r\n"
         + b"z" * 31 + b"\r\n1F\r\n" + b"w" * 31 + b"\r\n0\r\n\r\n",
         resp(200, None, True), data(b"x" * 10 + b"y" * 11 + b"z" * 31 + b"w" * 31), end(),
         IDLE),
    case("chunked-16-hex-digits", GET, CHUNKED_HEAD + b"0000000000000002\r\nok\r\n0\r\n\r\n",
         resp(200, None, True), data(b"ok"), end(), IDLE),
    case("chunked-extensions", GET,
         CHUNKED_HEAD + b"2;a=b\r\nok\r\n1 ; x = \"y;z\"\r\n!\r\n0;last\r\n\r\n",
         resp(200, None, True), data(b"ok!"), end(), IDLE),
    case("chunked-trailers", GET,
         CHUNKED_HEAD + b"2\r\nok\r\n0\r\nX-Sum: abc\r\nx-other:  v w \r\n\r\n",
         resp(200, None, True), data(b"ok"),
         end((b"X-Sum", b"abc"), (b"x-other", b"v w")), IDLE),
    case("chunked-bare-lf-end", GET, CHUNKED_HEAD + b"2\r\nok\r\n0\r\n\n",
         resp(200, None, True), data(b"ok"), end(), IDLE),
    case("chunked-te-case", GET, h(OK, b"transfer-encoding: Chunked", body=CHUNKED_ABC),
         resp(200, None, True), data(b"abc"), end(), IDLE),
    case("chunked-then-next", (GET, GET), CHUNKED_HEAD + CHUNKED_ABC + NEXT,
         resp(200, None, True), data(b"abc"), end(), *NEXT_EVENTS),
    case("chunked-trailers-then-next", (GET, GET), CHUNKED_HEAD + b"0\r\nA: b\r\n\r\n" + NEXT,
         resp(200, None, True), end((b"A", b"b")), *NEXT_EVENTS),
    # -- read until close ----------------------------------------------------------------
    case("until-close-11", GET, h(OK, body=b"all of it"), resp(200), data(b"all of it"),
         end(), CLOSED, eof=True),
    case("until-close-10", GET, h(OK10, b"Server: x", body=b"abc"), resp(200, v=b"1.0"),
         data(b"abc"), end(), CLOSED, eof=True),
    case("until-close-empty", GET, h(OK), resp(200), end(), CLOSED, eof=True),
    case("until-close-keepalive-ignored", GET, h(OK10, b"Connection: keep-alive", body=b"x"),
         resp(200, v=b"1.0"), data(b"x"), end(), CLOSED, eof=True),
    # -- persistence ---------------------------------------------------------------------
    case("http10-keepalive", (GET, GET),
         h(OK10, b"Connection: keep-alive", CL2, body=b"ab") + NEXT,
         resp(200, 2, v=b"1.0"), data(b"ab"), end(), *NEXT_EVENTS),
    case("http10-keepalive-token-list", GET, h(OK10, b"connection: foo, Keep-Alive", CL2,
         body=b"ab"), resp(200, 2, v=b"1.0"), data(b"ab"), end(), IDLE),
    case("http10-no-keepalive", GET, h(OK10, CL2, body=b"ab"), resp(200, 2, v=b"1.0"),
         data(b"ab"), end(), CLOSED),
    case("http10-keepalive-and-close", GET, h(OK10, b"Connection: keep-alive, close", CL2,
         body=b"ab"), resp(200, 2, v=b"1.0"), data(b"ab"), end(), CLOSED),
    case("connection-close", GET, h(OK, b"Connection: close", CL2, body=b"ab"), resp(200, 2),
         data(b"ab"), end(), CLOSED),
    case("connection-close-token", GET, h(OK, b"Connection: foo,  CLOSE ", CL2, body=b"ab"),
         resp(200, 2), data(b"ab"), end(), CLOSED),
    case("connection-close-second-line", GET,
         h(OK, b"Connection: keep-alive", b"Connection: close", CL2, body=b"ab"),
         resp(200, 2), data(b"ab"), end(), CLOSED),
    case("connection-keepalive-11", GET, h(OK, b"Connection: Keep-Alive", CL2, body=b"ab"),
         resp(200, 2), data(b"ab"), end(), IDLE),
    case("connection-closed-not-close", GET, h(OK, b"Connection: closed", CL2, body=b"ab"),
         resp(200, 2), data(b"ab"), end(), IDLE),
    case("cl-and-te-chunked-wins", GET, h(OK, b"Content-Length: 100", TE, body=CHUNKED_ABC),
         resp(200, None, True), data(b"abc"), end(), CLOSED),
    case("te-and-cl-chunked-wins", GET, h(OK, TE, b"Content-Length: 1", body=CHUNKED_ABC),
         resp(200, None, True), data(b"abc"), end(), CLOSED),
    # -- informational -------------------------------------------------------------------
    case("100-then-200", GET, h(b"HTTP/1.1 100 Continue") + h(OK, CL2, body=b"ok"),
         info(100), resp(200, 2), data(b"ok"), end(), IDLE),
    case("102-then-200", GET, h(b"HTTP/1.1 102 Processing") + h(OK, CL2, body=b"ok"),
         info(102), resp(200, 2), data(b"ok"), end(), IDLE),
    case("103-headers-then-200", GET,
         h(b"HTTP/1.1 103 Early Hints", b"Link: </a.css>; rel=preload", b"Link: </b.js>")
         + h(OK, CL2, body=b"ok"),
         info(103, (b"Link", b"</a.css>; rel=preload"), (b"Link", b"</b.js>")), resp(200, 2),
         data(b"ok"), end(), IDLE),
    case("199-unknown-then-200", GET, h(b"HTTP/1.1 199 Whatever") + h(OK, CL2, body=b"ok"),
         info(199), resp(200, 2), data(b"ok"), end(), IDLE),
    case("1xx-framing-ignored", GET,
         h(b"HTTP/1.1 100 Continue", b"Content-Length: 5") + h(OK, CL2, body=b"ok"),
         info(100, (b"Content-Length", b"5")), resp(200, 2), data(b"ok"), end(), IDLE),
    case("several-1xx", GET,
         h(b"HTTP/1.1 100 Continue") + h(b"HTTP/1.1 103 Early Hints", b"A: 1")
         + h(b"HTTP/1.1 103 Early Hints", b"A: 2") + h(OK, CL2, body=b"ok"),
         info(100), info(103, (b"A", b"1")), info(103, (b"A", b"2")), resp(200, 2),
         data(b"ok"), end(), IDLE),
    case("1xx-at-the-limit", GET, h(b"HTTP/1.1 100 Continue") * 2 + h(OK, CL2, body=b"ok"),
         info(100), info(100), resp(200, 2), data(b"ok"), end(), IDLE,
         limits=Limits(max_informational=2)),
    # -- tunnels -------------------------------------------------------------------------
    case("101-upgrade", GET,
         h(b"HTTP/1.1 101 Switching Protocols", b"Upgrade: websocket", body=b"\x81\x02hi"),
         resp(101, 0), tunnel(b"\x81\x02hi"), upgrade=True),
    case("100-then-101-upgrade", GET,
         h(b"HTTP/1.1 100 Continue") + h(b"HTTP/1.1 101 Switching Protocols", body=b"x"),
         info(100), resp(101, 0), tunnel(b"x"), upgrade=True),
    case("upgrade-refused-200", GET, h(OK, CL2, body=b"ok"), resp(200, 2), data(b"ok"),
         end(), IDLE, upgrade=True),
    case("connect-200", CONNECT,
         h(b"HTTP/1.1 200 Connection established", body=b"\x16\x03\x01tls"), resp(200, 0),
         tunnel(b"\x16\x03\x01tls")),
    case("connect-200-framing-ignored", CONNECT, h(OK, TE, b"Content-Length: 9",
         body=b"2\r\nab"), resp(200, 0), tunnel(b"2\r\nab")),
    case("connect-204", CONNECT, h(b"HTTP/1.1 204 No Content", body=b"raw"), resp(204, 0),
         tunnel(b"raw")),
    case("connect-407-has-body", CONNECT, h(b"HTTP/1.1 407 Proxy Auth", b"Content-Length: 4",
         body=b"deny"), resp(407, 4), data(b"deny"), end(), IDLE),
    # -- responses without a body --------------------------------------------------------
    case("head-cl-then-next", (HEAD, GET), h(OK, b"Content-Length: 5") + NEXT, resp(200, 0),
         end(), *NEXT_EVENTS),
    case("head-te-then-next", (HEAD, GET), CHUNKED_HEAD + NEXT, resp(200, 0), end(),
         *NEXT_EVENTS),
    case("head-no-framing", (HEAD, GET), h(OK) + NEXT, resp(200, 0), end(), *NEXT_EVENTS),
    case("204-cl-then-next", (GET, GET), h(b"HTTP/1.1 204 No Content", b"Content-Length: 5")
         + NEXT, resp(204, 0), end(), *NEXT_EVENTS),
    case("204-te-then-next", (GET, GET), h(b"HTTP/1.1 204 No Content", TE) + NEXT,
         resp(204, 0), end(), *NEXT_EVENTS),
    case("304-cl-then-next", (GET, GET), h(b"HTTP/1.1 304 Not Modified", b"Content-Length: 5")
         + NEXT, resp(304, 0), end(), *NEXT_EVENTS),
    case("304-te-then-next", (GET, GET), h(b"HTTP/1.1 304 Not Modified", TE) + NEXT,
         resp(304, 0), end(), *NEXT_EVENTS),
    case("204-close", GET, h(b"HTTP/1.1 204 No Content", b"Connection: close"), resp(204, 0),
         end(), CLOSED),
    # -- head syntax that is accepted ----------------------------------------------------
    case("bare-lf-head", GET, b"HTTP/1.1 200 OK\nContent-Length: 2\nX: y\n\nok", resp(200, 2),
         data(b"ok"), end(), IDLE),
    case("mixed-line-ends", GET, b"HTTP/1.1 200 OK\r\nContent-Length: 2\n\r\nok",
         resp(200, 2), data(b"ok"), end(), IDLE),
    case("empty-lines-before-status", GET, b"\r\n\n\r\n" + h(OK, CL2, body=b"ok"),
         resp(200, 2), data(b"ok"), end(), IDLE),
    case("empty-lines-before-second", (GET, GET), h(OK, CL2, body=b"ab") + b"\r\n" + NEXT,
         resp(200, 2), data(b"ab"), end(), *NEXT_EVENTS),
    case("no-reason", GET, b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", resp(200, 0), end(),
         IDLE),
    case("no-header-lines", GET, b"HTTP/1.1 200 OK\r\n\r\n", resp(200), end(), CLOSED,
         eof=True),
    case("obs-text-and-tab-in-values", GET, h(OK, b"X: caf\xe9\tau lait", CL2, body=b"ok"),
         resp(200, 2), data(b"ok"), end(), IDLE),
    case("status-599", GET, h(b"HTTP/1.1 599 Custom", CL2, body=b"ok"),
         resp(599, 2), data(b"ok"), end(), IDLE),
    # -- limits, exact boundaries that pass ----------------------------------------------
    case("head-at-limit", GET, head_of(64), resp(200, 0), end(), IDLE, limits=SMALL_HEAD),
    case("headers-at-limit", GET, headers_of(3), resp(200, 0), end(), IDLE,
         limits=Limits(max_headers=3)),
    case("chunk-line-at-limit", GET, CHUNKED_HEAD + chunk_line(16) + b"ok\r\n0\r\n\r\n",
         resp(200, None, True), data(b"ok"), end(), IDLE, limits=SMALL_CHUNK_LINE),
    case("trailer-at-limit", GET, CHUNKED_HEAD + b"0\r\n" + trailer_of(32),
         resp(200, None, True), end((b"X", b"t" * 25)), IDLE, limits=SMALL_TRAILER),
    case("chunk-at-size-limit", GET, CHUNKED_HEAD + b"4\r\nabcd\r\n0\r\n\r\n",
         resp(200, None, True), data(b"abcd"), end(), IDLE, limits=Limits(max_chunk_size=4)),
]

INVALID = [
    # -- head syntax ---------------------------------------------------------------------
    case("bare-cr-in-value", GET, h(OK, b"X: a\rb", CL2), err("bare CR")),
    case("bare-cr-line-end", GET, b"HTTP/1.1 200 OK\rContent-Length: 0\r\n\r\n",
         err("bare CR")),
    case("cr-cr-lf", GET, h(OK, b"X: a\r", CL2), err("bare CR")),
    case("nul-in-value", GET, h(OK, b"X: a\0b", CL2), err("NUL")),
    case("nul-in-name", GET, h(OK, b"X\0: ab", CL2), err("NUL")),
    case("nul-in-status", GET, h(b"HTTP/1.1 200 O\0K", CL2), err("NUL")),
    case("space-before-colon", GET, h(OK, b"Content-Length : 2", body=b"ok"),
         err("invalid header line")),
    case("tab-before-colon", GET, h(OK, b"Content-Length\t: 2", body=b"ok"),
         err("invalid header line")),
    case("obs-fold-space", GET, h(OK, b"X: a", b" b", CL2), err("obsolete line folding")),
    case("obs-fold-tab", GET, h(OK, b"X: a", b"\tb", CL2), err("obsolete line folding")),
    case("obs-fold-first-line", GET, h(OK, b" X: a", CL2), err("obsolete line folding")),
    case("ctl-in-value", GET, h(OK, b"X: a\x01b", CL2), err("invalid header line")),
    case("del-in-value", GET, h(OK, b"X: a\x7f", CL2), err("invalid header line")),
    case("esc-in-value", GET, h(OK, b"X: \x1b[31m", CL2), err("invalid header line")),
    case("empty-name", GET, h(OK, b": v", CL2), err("invalid header line")),
    case("no-colon", GET, h(OK, b"NoColon", CL2), err("invalid header line")),
    case("non-token-name", GET, h(OK, b"X(y): v", CL2), err("invalid header line")),
    case("1xx-bad-header", GET, h(b"HTTP/1.1 100 Continue", b"X : y") + h(OK, CL2),
         err("invalid header line")),
    # -- status line ---------------------------------------------------------------------
    case("garbage-status", GET, h(b"ICY 200 OK", CL2), err("invalid status line")),
    case("lowercase-http", GET, h(b"http/1.1 200 OK", CL2), err("invalid status line")),
    case("letter-in-code", GET, h(b"HTTP/1.1 2OO OK", CL2), err("status line")),
    case("two-spaces", GET, h(b"HTTP/1.1  200 OK", CL2), err("status line")),
    case("no-space-after-code", GET, h(b"HTTP/1.1 200OK", CL2), err("status line")),
    case("short-code", GET, h(b"HTTP/1.1 20 OK", CL2), err("status line")),
    case("long-code", GET, h(b"HTTP/1.1 2000 OK", CL2), err("status line")),
    case("code-099", GET, h(b"HTTP/1.1 099 Low", CL2), err("status line")),
    case("code-600", GET, h(b"HTTP/1.1 600 High", CL2), err("status line")),
    case("code-000", GET, h(b"HTTP/1.1 000 Zero", CL2), err("status line")),
    case("http-2.0", GET, h(b"HTTP/2.0 200 OK", CL2), err("unsupported HTTP version")),
    case("http-1.2", GET, h(b"HTTP/1.2 200 OK", CL2), err("unsupported HTTP version")),
    case("http-0.9", GET, h(b"HTTP/0.9 200 OK", CL2), err("unsupported HTTP version")),
    case("http-2", GET, h(b"HTTP/2 200 OK", CL2), err("unsupported HTTP version")),
    case("ctl-in-reason", GET, h(b"HTTP/1.1 200 O\x01K", CL2), err("status line")),
    case("101-without-upgrade", GET, h(b"HTTP/1.1 101 Switching Protocols",
         b"Upgrade: websocket"), err("without an Upgrade request")),
    # -- Content-Length ------------------------------------------------------------------
    case("cl-plus", GET, h(OK, b"Content-Length: +2", body=b"ok"), err("invalid Content-Len")),
    case("cl-minus", GET, h(OK, b"Content-Length: -1", body=b"ok"), err("invalid Content-Len")),
    case("cl-hex", GET, h(OK, b"Content-Length: 0x2", body=b"ok"), err("invalid Content-Len")),
    case("cl-space-inside", GET, h(OK, b"Content-Length: 1 2", body=b"ok"),
         err("invalid Content-Length")),
    case("cl-20-digits", GET, h(OK, b"Content-Length: 00000000000000000002", body=b"ok"),
         err("invalid Content-Length")),
    case("cl-decimal", GET, h(OK, b"Content-Length: 2.0", body=b"ok"),
         err("invalid Content-Length")),
    case("cl-empty", GET, h(OK, b"Content-Length: ", body=b"ok"), err("empty Content-Length")),
    case("cl-only-comma", GET, h(OK, b"Content-Length: ,", body=b"ok"),
         err("empty Content-Length")),
    case("cl-conflicting-lines", GET, h(OK, b"Content-Length: 2", b"Content-Length: 3",
         body=b"okk"), err("conflicting Content-Length")),
    case("cl-conflicting-list", GET, h(OK, b"Content-Length: 2, 3", body=b"okk"),
         err("conflicting Content-Length")),
    case("cl-conflicting-leading-zero", GET, h(OK, b"Content-Length: 2, 02", body=b"ok"),
         err("conflicting Content-Length")),
    # -- Transfer-Encoding ---------------------------------------------------------------
    case("te-gzip", GET, h(OK, b"Transfer-Encoding: gzip", body=b"x"),
         err("unsupported Transfer-Encoding")),
    case("te-chunked-gzip", GET, h(OK, b"Transfer-Encoding: chunked, gzip", body=b"x"),
         err("unsupported Transfer-Encoding")),
    case("te-gzip-chunked", GET, h(OK, b"Transfer-Encoding: gzip, chunked", body=CHUNKED_ABC),
         err("unsupported Transfer-Encoding")),
    case("te-identity", GET, h(OK, b"Transfer-Encoding: identity", body=b"x"),
         err("unsupported Transfer-Encoding")),
    case("te-two-lines", GET, h(OK, b"Transfer-Encoding: gzip", TE, body=CHUNKED_ABC),
         err("unsupported Transfer-Encoding")),
    case("te-chunked-twice", GET, h(OK, TE, TE, body=CHUNKED_ABC),
         err("unsupported Transfer-Encoding")),
    case("te-on-http10", GET, h(OK10, TE, body=CHUNKED_ABC), err("HTTP/1.0")),
    # -- chunked framing -----------------------------------------------------------------
    case("chunk-size-0x", GET, CHUNKED_HEAD + b"0x2\r\nok\r\n0\r\n\r\n", resp(200, None, True),
         err("invalid chunk size line")),
    case("chunk-size-plus", GET, CHUNKED_HEAD + b"+2\r\nok\r\n0\r\n\r\n",
         resp(200, None, True), err("invalid chunk size line")),
    case("chunk-size-minus", GET, CHUNKED_HEAD + b"-2\r\nok\r\n0\r\n\r\n",
         resp(200, None, True), err("invalid chunk size line")),
    case("chunk-size-empty", GET, CHUNKED_HEAD + b"\r\nok\r\n0\r\n\r\n",
         resp(200, None, True), err("invalid chunk size line")),
    case("chunk-size-leading-space", GET, CHUNKED_HEAD + b" 2\r\nok\r\n0\r\n\r\n",
         resp(200, None, True), err("invalid chunk size line")),
    case("chunk-size-space-inside", GET, CHUNKED_HEAD + b"1 0\r\n" + b"x" * 16,
         resp(200, None, True), err("invalid chunk size line")),
    case("chunk-size-not-hex", GET, CHUNKED_HEAD + b"g\r\n", resp(200, None, True),
         err("invalid chunk size line")),
    case("chunk-size-17-digits", GET, CHUNKED_HEAD + b"00000000000000002\r\nok\r\n0\r\n\r\n",
         resp(200, None, True), err("invalid chunk size line")),
    case("chunk-size-bare-cr", GET, CHUNKED_HEAD + b"2\rok\r\n0\r\n\r\n",
         resp(200, None, True), err("invalid chunk size line")),
    case("chunk-ext-ctl", GET, CHUNKED_HEAD + b"2;a\x01\r\nok\r\n0\r\n\r\n",
         resp(200, None, True), err("invalid chunk size line")),
    case("chunk-data-then-xx", GET, CHUNKED_HEAD + b"2\r\nhiXX0\r\n\r\n",
         resp(200, None, True), data(b"hi"), err("not followed by CRLF")),
    case("chunk-data-then-lf", GET, CHUNKED_HEAD + b"2\r\nhi\n0\r\n\r\n",
         resp(200, None, True), data(b"hi"), err("not followed by CRLF")),
    case("chunk-data-too-long", GET, CHUNKED_HEAD + b"2\r\nhey\r\n0\r\n\r\n",
         resp(200, None, True), data(b"he"), err("not followed by CRLF")),
    case("trailer-bad-line", GET, CHUNKED_HEAD + b"0\r\nX : y\r\n\r\n", resp(200, None, True),
         err("invalid header line")),
    case("trailer-obs-fold", GET, CHUNKED_HEAD + b"0\r\nX: y\r\n z\r\n\r\n",
         resp(200, None, True), err("obsolete line folding")),
    case("trailer-nul", GET, CHUNKED_HEAD + b"0\r\nX: \0\r\n\r\n", resp(200, None, True),
         err("NUL")),
    case("trailer-bare-cr", GET, CHUNKED_HEAD + b"0\r\nX: a\rb\r\n\r\n",
         resp(200, None, True), err("bare CR")),
    # -- limits --------------------------------------------------------------------------
    case("head-over-limit", GET, head_of(65), limit("response head larger than 64"),
         limits=SMALL_HEAD),
    case("head-never-ends", GET, b"HTTP/1.1 200 OK\r\nX: " + b"a" * 100,
         limit("response head larger than 64"), limits=SMALL_HEAD),
    case("1xx-head-over-limit", GET, h(b"HTTP/1.1 100 Continue", b"X: " + b"a" * 60),
         limit("response head larger"), limits=SMALL_HEAD),
    case("headers-over-limit", GET, headers_of(4), limit("more than 3 header fields"),
         limits=Limits(max_headers=3)),
    case("chunk-line-over-limit", GET, CHUNKED_HEAD + chunk_line(17) + b"ok\r\n0\r\n\r\n",
         resp(200, None, True), limit("chunk size line longer than 16"),
         limits=SMALL_CHUNK_LINE),
    case("chunk-line-never-ends", GET, CHUNKED_HEAD + b"2;" + b"e" * 40,
         resp(200, None, True), limit("chunk size line longer than 16"),
         limits=SMALL_CHUNK_LINE),
    case("chunk-over-size-limit", GET, CHUNKED_HEAD + b"5\r\nabcde\r\n0\r\n\r\n",
         resp(200, None, True), limit("exceeds the limit of 4"),
         limits=Limits(max_chunk_size=4)),
    case("trailer-over-limit", GET, CHUNKED_HEAD + b"0\r\n" + trailer_of(33),
         resp(200, None, True), limit("trailer section larger than 32"), limits=SMALL_TRAILER),
    case("trailer-never-ends", GET, CHUNKED_HEAD + b"0\r\nX: " + b"t" * 40,
         resp(200, None, True), limit("trailer section larger than 32"), limits=SMALL_TRAILER),
    case("trailer-too-many-fields", GET, CHUNKED_HEAD + b"0\r\nA: 1\r\nB: 2\r\n\r\n",
         resp(200, None, True), limit("more than 1 header fields"),
         limits=Limits(max_headers=1)),
    case("1xx-over-limit", GET, h(b"HTTP/1.1 100 Continue") * 3 + h(OK, CL2, body=b"ok"),
         info(100), info(100), limit("more than 2 interim"),
         limits=Limits(max_informational=2)),
    # -- premature end of stream ---------------------------------------------------------
    case("eof-before-anything", GET, b"", err("without sending a response", NoResponseError),
         eof=True),
    case("eof-after-empty-lines", GET, b"\r\n\r\n",
         err("without sending a response", NoResponseError), eof=True),
    case("eof-mid-status-line", GET, b"HTTP/1.1 2", err("middle of the response head"),
         eof=True),
    case("eof-mid-head", GET, b"HTTP/1.1 200 OK\r\nContent-Le",
         err("middle of the response head"), eof=True),
    case("eof-before-blank-line", GET, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n",
         err("middle of the response head"), eof=True),
    case("eof-after-1xx", GET, h(b"HTTP/1.1 100 Continue"), info(100),
         err("without sending a response", NoResponseError), eof=True),
    case("eof-mid-cl-body", GET, h(OK, b"Content-Length: 5", body=b"abc"), resp(200, 5),
         data(b"abc"), err("after 3 of 5 body bytes", INCOMPLETE, received=3, expected=5),
         eof=True),
    case("eof-right-after-head", GET, h(OK, b"Content-Length: 5"), resp(200, 5),
         err("after 0 of 5", INCOMPLETE, received=0, expected=5), eof=True),
    case("eof-mid-chunk", GET, CHUNKED_HEAD + b"5\r\nhel", resp(200, None, True),
         data(b"hel"), err("before the end of the chunked body", INCOMPLETE, received=3,
         expected=None), eof=True),
    case("eof-mid-chunk-size", GET, CHUNKED_HEAD + b"2\r\nok\r\n1", resp(200, None, True),
         data(b"ok"), err("after 2 body bytes", INCOMPLETE, received=2, expected=None),
         eof=True),
    case("eof-before-chunk-crlf", GET, CHUNKED_HEAD + b"2\r\nok", resp(200, None, True),
         data(b"ok"), err("chunked body", INCOMPLETE, received=2, expected=None), eof=True),
    case("eof-before-last-crlf", GET, CHUNKED_HEAD + b"2\r\nok\r\n0\r\n",
         resp(200, None, True), data(b"ok"), err("chunked body", INCOMPLETE, received=2,
         expected=None), eof=True),
    case("eof-mid-trailers", GET, CHUNKED_HEAD + b"0\r\nX: y\r\n", resp(200, None, True),
         err("chunked body", INCOMPLETE, received=0, expected=None), eof=True),
    case("eof-mid-second-response", (GET, GET), h(OK, CL2, body=b"ab") + b"HTTP/1.1 200",
         resp(200, 2), data(b"ab"), end(), err("middle of the response head"), eof=True),
]
# fmt: on

FIXTURES = VALID + INVALID
ARGS = "methods, raw, expected, eof, limits, upgrade"


@pytest.mark.parametrize(ARGS, FIXTURES)
@pytest.mark.parametrize("splitter", [one_piece, every_split, byte_at_a_time])
def test_fixture(splitter, methods, raw, expected, eof, limits, upgrade):
    for pieces in splitter(raw):
        outcome = drive(methods, pieces, eof=eof, limits=limits, upgrade=upgrade)
        check(outcome, expected)


@pytest.mark.parametrize(ARGS, FIXTURES)
@pytest.mark.parametrize("max_data", [1, 7, 4096])
def test_max_data_bounds_every_data_event(max_data, methods, raw, expected, eof, limits, upgrade):
    for pieces in ([raw], byte_at_a_time(raw)[0]):
        outcome = drive(methods, pieces, eof=eof, limits=limits, upgrade=upgrade, max_data=max_data)
        check(outcome, expected)
        assert all(0 < size <= max_data for size in outcome.sizes), outcome.sizes


@pytest.mark.parametrize(ARGS, FIXTURES)
def test_max_data_zero_never_returns_data(methods, raw, expected, eof, limits, upgrade):
    # next_event(0) before every step: same outcome, and never a Data event.
    for pieces in ([raw], byte_at_a_time(raw)[0]):
        outcome = drive(methods, pieces, eof=eof, limits=limits, upgrade=upgrade, probe_zero=True)
        check(outcome, expected)


# -- the default limits, at their exact boundaries ---------------------------------------


@pytest.mark.parametrize("splitter", [one_piece, byte_at_a_time])
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(head_of(64 * 1024), [resp(200, 0), end(), IDLE], id="head-64KiB"),
        pytest.param(head_of(64 * 1024 + 1), [limit("larger than 65536 bytes")], id="head-64KiB+1"),
        pytest.param(headers_of(100), [resp(200, 0), end(), IDLE], id="100-headers"),
        pytest.param(headers_of(101), [limit("more than 100 header fields")], id="101-headers"),
    ],
)
def test_default_head_limits(splitter, raw, expected):
    for pieces in splitter(raw):
        check(drive([GET], pieces, eof=False), expected)


def test_default_limits_values():
    limits = Limits()
    assert (limits.max_head_bytes, limits.max_headers, limits.max_chunk_line_bytes) == (
        65536,
        100,
        4096,
    )
    assert (limits.max_trailer_bytes, limits.max_informational) == (65536, 32)


# -- details the table does not show -----------------------------------------------------


def first_response(raw: bytes, method: bytes = GET) -> Response:
    conn = ClientConnection()
    start_request(conn, method)
    conn.receive_data(raw)
    event = conn.next_event()
    assert isinstance(event, Response)
    return event


@pytest.mark.parametrize(
    ("raw", "headers"),
    [
        (
            h(OK, b"Content-Type: text/html", b"SET-COOKIE: a=1", b"set-cookie: b=2"),
            [(b"Content-Type", b"text/html"), (b"SET-COOKIE", b"a=1"), (b"set-cookie", b"b=2")],
        ),
        (h(OK, b"X:", b"Y: \t", b"Z:\tv\t \t"), [(b"X", b""), (b"Y", b""), (b"Z", b"v")]),
        (h(OK, b"X: a  b,\tc"), [(b"X", b"a  b,\tc")]),
        (b"HTTP/1.1 200 OK\nA: 1\nB: 2\n\n", [(b"A", b"1"), (b"B", b"2")]),
        (h(OK, b"X: \x80\xff"), [(b"X", b"\x80\xff")]),
        (h(OK, b"!#$%&'*+-.^_`|~09azAZ: tchar"), [(b"!#$%&'*+-.^_`|~09azAZ", b"tchar")]),
    ],
)
def test_header_fields_kept_in_order_and_case(raw, headers):
    assert first_response(raw).headers == headers


@pytest.mark.parametrize(
    ("status_line", "reason"),
    [
        (b"HTTP/1.1 200 OK", b"OK"),
        (b"HTTP/1.1 404 Not  Found ", b"Not  Found "),
        (b"HTTP/1.1 200", b""),
        (b"HTTP/1.1 200 ", b""),
        (b"HTTP/1.0 500 \xe9rreur", b"\xe9rreur"),
    ],
)
def test_reason_phrase(status_line, reason):
    assert first_response(h(status_line)).reason == reason


def test_request_connection_close_makes_response_not_reusable():
    conn = ClientConnection()
    conn.send_request(GET, b"/", [(b"Host", b"a"), (b"Connection", b"close")])
    conn.receive_data(h(OK, CL2, body=b"ok"))
    events = [conn.next_event() for _ in range(3)]
    assert [type(e).__name__ for e in events] == ["Response", "Data", "EndOfMessage"]
    assert conn.state is ConnState.MUST_CLOSE
    assert not conn.reusable


def test_send_request_refused_until_the_response_ends():
    conn = ClientConnection()
    start_request(conn, GET)
    with pytest.raises(InvalidParameterError, match="await_head"):
        start_request(conn, GET)
    conn.receive_data(h(OK, CL2, body=b"o"))
    conn.next_event()
    with pytest.raises(InvalidParameterError, match="body"):
        start_request(conn, GET)


def failed_connection() -> ClientConnection:
    conn = ClientConnection()
    start_request(conn, GET)
    conn.receive_data(h(b"HTTP/9.9 200 OK"))
    with pytest.raises(RemoteProtocolError, match="unsupported HTTP version"):
        conn.next_event()
    return conn


def test_error_is_sticky():
    conn = failed_connection()
    conn.receive_data(h(OK, CL2, body=b"ok"))
    assert conn.next_event() is NEED_DATA
    assert conn.state is ConnState.ERROR
    with pytest.raises(InvalidParameterError, match="error"):
        start_request(conn, GET)


def test_failed_connection_is_not_reusable():
    # A connection that failed mid-response can never carry another request.
    assert not failed_connection().reusable
