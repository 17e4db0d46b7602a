"""HTTPClient reading responses end to end over real sockets (ScriptedServer, raw bytes).

Covers every body framing, read_chunk_size, connection reuse and close, 1xx responses,
bodiless responses, header access, truncated bodies, malformed heads, limits, resets,
and golden (poll() result, status) traces.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar, cast

import pytest

from pollhttp import (
    Error,
    HTTPClient,
    IncompleteBodyError,
    InvalidParameterError,
    LimitExceededError,
    Limits,
    PollHTTPError,
    RemoteProtocolError,
    Status,
)

from ..support.polling import connect, poll_while_waiting, read_body
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
)

OK = Error.OK
GET = HTTPClient.METHOD_GET
HEAD = HTTPClient.METHOD_HEAD
REQUESTING = Status.STATUS_REQUESTING
CONNECTING = Status.STATUS_CONNECTING
CONNECTED = Status.STATUS_CONNECTED
BODY = Status.STATUS_BODY
DISCONNECTED = Status.STATUS_DISCONNECTED
CONNECTION_ERROR = Status.STATUS_CONNECTION_ERROR

MIB = 1024 * 1024
# 10 KiB whose bytes vary, so a lost, doubled or reordered piece shows.
BIG = bytes(i % 251 for i in range(10 * 1024))
CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


def chunked(*chunks: bytes, trailers: bytes = b"") -> bytes:
    """A chunked body: one size line per chunk, the last chunk, trailers, blank line."""
    out = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks)
    return out + b"0\r\n" + trailers + b"\r\n"


T = TypeVar("T")


def squash(trace: Sequence[T]) -> list[T]:
    """Drop consecutive duplicates: timing decides how often a status repeats."""
    return [item for i, item in enumerate(trace) if i == 0 or item != trace[i - 1]]


def read_pieces(client: HTTPClient, timeout: float = 10.0) -> list[bytes]:
    """Every read_response_body_chunk() result while the status is BODY (bounded)."""
    pieces: list[bytes] = []
    deadline = time.monotonic() + timeout
    while client.get_status() == BODY:
        if time.monotonic() > deadline:
            raise AssertionError(f"body read timed out after {sum(map(len, pieces))} bytes")
        client.poll()
        pieces.append(client.read_response_body_chunk())
    return pieces


def ask(
    client: HTTPClient, method: int = GET, path: str = "/", headers: Sequence[str] = ()
) -> list[tuple[Error, Status]]:
    """Send a request and poll until the status leaves REQUESTING; return the poll trace."""
    assert client.request(method, path, list(headers)) == OK
    return poll_while_waiting(client)


@contextmanager
def exchange(
    *scripts: Sequence[Step], limits: Limits | None = None
) -> Iterator[tuple[ScriptedServer, HTTPClient]]:
    """A scripted server and a client connected to it; the client closes first."""
    with ScriptedServer(list(scripts)) as server:
        client = HTTPClient(limits=limits)
        try:
            connect(client, "127.0.0.1", server.port)
            yield server, client
        finally:
            client.close()


def assert_sticky_error(client: HTTPClient) -> None:
    """CONNECTION_ERROR stays until close(); close() leaves DISCONNECTED and no response."""
    for _ in range(3):
        assert client.poll() == Error.ERR_CONNECTION_ERROR
        assert client.get_status() == CONNECTION_ERROR
        assert client.read_response_body_chunk() == b""
    assert client.request(GET, "/", []) == Error.ERR_INVALID_PARAMETER
    assert client.get_status() == CONNECTION_ERROR
    client.close()
    assert client.get_status() == DISCONNECTED
    assert client.get_response_code() == 0
    assert not client.has_response()
    assert client.get_response_headers() == []
    assert client.poll() == Error.ERR_UNCONFIGURED


# -- framings ----------------------------------------------------------------------------


def test_content_length_body():
    with exchange([Read(), Send(response(body=b"hello world"))]) as (_, client):
        ask(client)
        assert client.get_status() == BODY
        assert client.get_response_body_length() == 11
        assert not client.is_response_chunked()
        assert read_body(client) == b"hello world"
        assert client.get_status() == CONNECTED
        assert client.get_response_trailers() == []


def test_chunked_body_with_extensions_and_trailers():
    wire = (
        CHUNKED_HEAD
        + b"5;name=value\r\nhello\r\n"
        + b"1 ; a=b;c\r\n \r\n"
        + b'5;quoted="x;y"\r\nworld\r\n'
        + b"0;last\r\nX-Checksum: abc\r\nx-other:  spaced  \r\n\r\n"
    )
    with exchange([Read(), Send(wire)]) as (_, client):
        ask(client)
        assert client.get_status() == BODY
        assert client.is_response_chunked()
        assert client.get_response_body_length() == -1
        assert client.get_response_trailers() == []
        assert read_body(client) == b"hello world"
        assert client.get_status() == CONNECTED
        assert client.get_response_trailers() == ["X-Checksum: abc", "x-other: spaced"]
        # Trailers are not response headers.
        assert client.get_response_headers() == ["Transfer-Encoding: chunked"]


@pytest.mark.parametrize(
    ("script", "body"),
    [
        pytest.param(
            [Send(b"HTTP/1.1 200 OK\r\n\r\nhello"), Close()], b"hello", id="1.1-no-framing"
        ),
        pytest.param(
            [Send(b"HTTP/1.0 200 OK\r\n\r\nhello"), Close()], b"hello", id="1.0-no-framing"
        ),
        pytest.param([Send(b"HTTP/1.1 200 OK\r\n\r\n"), Close()], b"", id="no-framing-empty"),
        pytest.param([Send(b"HTTP/1.1 200 OK\r\n\r\n" + BIG), Close()], BIG, id="no-framing-10k"),
        pytest.param(
            [Send(b"HTTP/1.0 200 OK\r\n\r\nhel"), Pause(0.05), Send(b"lo"), Close()],
            b"hello",
            id="1.0-no-framing-two-writes",
        ),
    ],
)
def test_body_delimited_by_close_ends_disconnected(script, body):
    with exchange([Read(), *script]) as (_, client):
        ask(client)
        assert client.get_response_body_length() == -1
        assert not client.is_response_chunked()
        assert read_body(client) == body
        assert client.get_status() == DISCONNECTED
        assert client.get_last_error() is None
        assert client.get_response_code() == 200


def test_http10_keep_alive_with_content_length_is_reused():
    reply = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 5\r\n\r\nhello"
    with exchange([Read(), Send(reply), Read(), Send(reply)]) as (server, client):
        for _ in range(2):
            ask(client)
            assert read_body(client) == b"hello"
            assert client.get_status() == CONNECTED
        client.close()
    assert server.connections == 1
    assert len(server.requests) == 2


# -- read_chunk_size -----------------------------------------------------------------------

READ_FRAMINGS = [
    pytest.param([Send(response(body=BIG))], CONNECTED, id="content-length"),
    pytest.param([Send(CHUNKED_HEAD + chunked(BIG))], CONNECTED, id="chunked-one-chunk"),
    pytest.param(
        [Send(CHUNKED_HEAD + chunked(*(BIG[i : i + 25] for i in range(0, len(BIG), 25))))],
        CONNECTED,
        id="chunked-many-small-chunks",
    ),
    pytest.param(
        [Send(CHUNKED_HEAD + chunked(*(BIG[i : i + 300] for i in range(0, len(BIG), 300))))],
        CONNECTED,
        id="chunked-chunks-over-the-limit",
    ),
    pytest.param([Send(b"HTTP/1.1 200 OK\r\n\r\n" + BIG), Close()], DISCONNECTED, id="until-close"),
]


@pytest.mark.parametrize(("script", "end"), READ_FRAMINGS)
def test_read_chunk_size_bounds_every_read(script, end):
    with exchange([Read(), *script]) as (_, client):
        client.set_read_chunk_size(256)
        ask(client)
        pieces = read_pieces(client)
        assert b"".join(pieces) == BIG
        assert max(map(len, pieces)) <= 256, sorted(set(map(len, pieces)))
        # The body was sent in one write: reads fill up to the limit, gathering several
        # small chunks into one call where the framing has them.
        assert max(map(len, pieces)) == 256
        assert client.get_status() == end


@pytest.mark.parametrize(("script", "end"), READ_FRAMINGS)
def test_read_chunk_size_lowered_after_the_head(script, end):
    """The head read took the whole body into the buffer; a smaller limit still holds."""
    with exchange([Read(), *script]) as (_, client):
        ask(client)
        assert client.get_status() == BODY
        client.read_chunk_size = 256
        pieces = read_pieces(client)
        assert b"".join(pieces) == BIG
        assert max(map(len, pieces)) == 256, sorted(set(map(len, pieces)))
        assert client.get_status() == end


@pytest.mark.parametrize(
    ("head", "rest", "body"),
    [
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", b"hello", b"hello", id="length"
        ),
        pytest.param(CHUNKED_HEAD, chunked(b"hello"), b"hello", id="chunked"),
        pytest.param(
            CHUNKED_HEAD + b"5\r\nhel", b"lo\r\n0\r\n\r\n", b"hello", id="chunked-mid-chunk"
        ),
    ],
)
def test_read_returns_empty_while_nothing_has_arrived(head, rest, body):
    with exchange([Read(), Send(head), Pause(0.3), Send(rest)]) as (_, client):
        ask(client)
        assert client.get_status() == BODY
        first = client.read_response_body_chunk()
        assert body.startswith(first)
        assert client.read_response_body_chunk() == b""
        assert client.get_status() == BODY
        assert client.poll() == OK
        assert client.get_status() == BODY
        assert first + read_body(client) == body
        assert client.get_status() == CONNECTED


@pytest.mark.parametrize(
    "wire",
    [
        pytest.param(
            response(headers=["X-A: 1"], body=b"trickled, one byte at a time"), id="length"
        ),
        pytest.param(
            CHUNKED_HEAD + chunked(b"trickled, ", b"one byte ", b"at a time", trailers=b"T: 1\r\n"),
            id="chunked",
        ),
    ],
)
def test_trickled_response_arrives_intact(wire):
    with exchange([Read(), Trickle(wire, 0.001)]) as (_, client):
        client.read_chunk_size = 256
        ask(client)
        assert client.get_status() == BODY
        pieces = read_pieces(client)
        assert b"".join(pieces) == b"trickled, one byte at a time"
        assert len([p for p in pieces if p]) > 1  # it really came in pieces
        assert client.get_status() == CONNECTED


def test_read_chunk_size_default_and_property():
    client = HTTPClient()
    assert client.get_read_chunk_size() == 65536
    assert client.read_chunk_size == 65536
    client.read_chunk_size = 1024
    assert client.get_read_chunk_size() == 1024
    client.read_chunk_size = 100
    assert client.read_chunk_size == 1024


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (256, 256),
        (257, 257),
        (16 * MIB, 16 * MIB),
        (255, 65536),
        (16 * MIB + 1, 65536),
        (0, 65536),
        (-1, 65536),
    ],
)
def test_set_read_chunk_size_bounds(value, expected):
    client = HTTPClient()
    client.set_read_chunk_size(value)
    assert client.get_read_chunk_size() == expected
    if value != expected:
        assert isinstance(client.get_last_error(), InvalidParameterError)


# -- reuse and close -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "first", "first_body", "body_state"),
    [
        pytest.param(GET, response(body=b"first"), b"first", True, id="content-length"),
        pytest.param(
            GET,
            CHUNKED_HEAD + chunked(b"fir", b"st", trailers=b"X-T: 1\r\n"),
            b"first",
            True,
            id="chunked-trailers",
        ),
        pytest.param(GET, response(body=b""), b"", False, id="content-length-0"),
        pytest.param(
            HEAD, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", b"", False, id="head-cl5"
        ),
        pytest.param(HEAD, CHUNKED_HEAD, b"", False, id="head-chunked"),
        pytest.param(
            GET, b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", b"", False, id="204-cl5"
        ),
        pytest.param(
            GET, b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", b"", False, id="304-cl5"
        ),
    ],
)
def test_reusable_connection_carries_the_next_response(method, first, first_body, body_state):
    second = response(headers=["X-Second: yes"], body=b"second")
    with exchange([Read(), Send(first), Read(), Send(second)]) as (server, client):
        ask(client, method)
        if body_state:
            assert client.get_status() == BODY
        else:
            # No body: CONNECTED at once, and a body read has nothing.
            assert client.get_status() == CONNECTED
            assert client.get_response_body_length() == 0
            assert client.read_response_body_chunk() == b""
        assert read_body(client) == first_body
        assert client.get_status() == CONNECTED
        ask(client)
        assert client.get_response_code() == 200
        assert client.get_response_headers() == ["X-Second: yes", "Content-Length: 6"]
        assert read_body(client) == b"second"
        assert client.get_status() == CONNECTED
        client.close()
    assert server.connections == 1
    assert len(server.requests) == 2
    assert server.requests[0].startswith(b"HEAD " if method == HEAD else b"GET ")


@pytest.mark.parametrize(
    ("reply", "request_headers", "body"),
    [
        pytest.param(
            response(headers=["Connection: close"], body=b"bye"), [], b"bye", id="server-close"
        ),
        pytest.param(
            response(headers=["connection: Keep-Alive, CLOSE"], body=b"bye"),
            [],
            b"bye",
            id="server-close-in-list",
        ),
        pytest.param(response(body=b"bye"), ["Connection: close"], b"bye", id="request-close"),
        pytest.param(
            b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nbye", [], b"bye", id="1.0-no-keep-alive"
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
            + chunked(b"bye"),
            [],
            b"bye",
            id="cl-and-te",
        ),
        pytest.param(
            b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", [], b"", id="204-close"
        ),
    ],
)
def test_connection_not_reusable_ends_disconnected(reply, request_headers, body):
    with exchange([Read(), Send(reply)]) as (server, client):
        ask(client, headers=request_headers)
        code = client.get_response_code()
        headers = client.get_response_headers()
        assert code in (200, 204)
        assert headers
        assert read_body(client) == body
        assert client.get_status() == DISCONNECTED
        # The response stays readable after DISCONNECTED.
        assert client.has_response()
        assert client.get_response_code() == code
        assert client.get_response_headers() == headers
        assert client.request(GET, "/", []) == Error.ERR_INVALID_PARAMETER
        assert isinstance(client.get_last_error(), InvalidParameterError)
        assert client.get_status() == DISCONNECTED
        assert client.poll() == Error.ERR_UNCONFIGURED
        assert client.get_response_code() == code
    assert server.connections == 1


# -- 1xx -------------------------------------------------------------------------------------

INTERIM = (
    b"HTTP/1.1 100 Continue\r\n\r\n"
    b"HTTP/1.1 102 Processing\r\n\r\n"
    b"HTTP/1.1 103 Early Hints\r\n"
    b"Link: </style.css>; rel=preload; as=style\r\n"
    b"Link: </app.js>; rel=preload; as=script\r\n\r\n"
    b"HTTP/1.1 199 Something New\r\nX-Interim: 1\r\n\r\n"
)
INTERIM_EXPECTED = [
    (100, []),
    (102, []),
    (
        103,
        [
            "Link: </style.css>; rel=preload; as=style",
            "Link: </app.js>; rel=preload; as=script",
        ],
    ),
    (199, ["X-Interim: 1"]),
]


@pytest.mark.parametrize(
    "steps",
    [
        pytest.param([Send(INTERIM + response(body=b"final"))], id="one-write"),
        pytest.param(
            [Send(INTERIM[:30]), Pause(0.05), Send(INTERIM[30:]), Send(response(body=b"final"))],
            id="split",
        ),
        pytest.param([Trickle(INTERIM + response(body=b"final"))], id="trickled"),
    ],
)
def test_informational_responses_are_kept_in_order(steps):
    with exchange([Read(), *steps]) as (_, client):
        assert client.get_informational_responses() == []
        ask(client)
        assert client.get_response_code() == 200
        assert client.get_response_headers() == ["Content-Length: 5"]
        assert client.get_informational_responses() == INTERIM_EXPECTED
        assert read_body(client) == b"final"
        assert client.get_status() == CONNECTED
        # Reading them does not consume them.
        assert client.get_informational_responses() == INTERIM_EXPECTED


def test_informational_responses_cleared_by_next_request():
    script = [Read(), Send(INTERIM + response(body=b"a")), Read(), Send(response(body=b"b"))]
    with exchange(script) as (_, client):
        ask(client)
        assert read_body(client) == b"a"
        assert len(client.get_informational_responses()) == 4
        ask(client)
        assert client.get_informational_responses() == []
        assert read_body(client) == b"b"


def test_101_without_upgrade_request_is_an_error():
    reply = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
    with exchange([Read(), Send(reply)]) as (_, client):
        trace = ask(client)
        assert trace[-1] == (Error.ERR_CONNECTION_ERROR, CONNECTION_ERROR)
        error = client.get_last_error()
        assert isinstance(error, RemoteProtocolError)
        assert "101" in str(error)
        assert client.get_response_code() != 200
        assert_sticky_error(client)


# -- headers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (b"HTTP/1.1 204 No Content\r\n\r\n", 204),
        (b"HTTP/1.1 304 Not Modified\r\n\r\n", 304),
        (b"HTTP/1.1 200 OK\r\n\r\n", 200),
        (b"HTTP/1.1 204\r\n\r\n", 204),
        (b"HTTP/1.1 204 \r\n\r\n", 204),
    ],
)
def test_head_without_header_lines_is_a_response(reply, code):
    script = [Send(reply), Close()] if code == 200 else [Send(reply)]
    with exchange([Read(), *script]) as (_, client):
        assert not client.has_response()
        ask(client)
        assert client.has_response()
        assert client.get_response_code() == code
        assert client.get_response_headers() == []
        assert client.get_response_headers_as_dictionary() == {}
        assert read_body(client) == b""
        assert client.get_status() == (DISCONNECTED if code == 200 else CONNECTED)
        assert client.has_response()


def test_headers_keep_order_and_case_and_are_not_consumed():
    headers = [
        "X-Zeta: 1",
        "content-type: text/plain",
        "Set-Cookie: a=1; Path=/",
        "X-A: one",
        "Set-Cookie: b=2",
        "x-a: two",
        "X-Pad: \t padded \t",
        "X-Empty:",
        "X-Utf8: caf\u00e9",
    ]
    with exchange([Read(), Send(response(headers=headers, body=b"ok"))]) as (_, client):
        ask(client)
        expected = [
            "X-Zeta: 1",
            "content-type: text/plain",
            "Set-Cookie: a=1; Path=/",
            "X-A: one",
            "Set-Cookie: b=2",
            "x-a: two",
            "X-Pad: padded",
            "X-Empty: ",
            "X-Utf8: caf\u00e9",
            "Content-Length: 2",
        ]
        assert client.get_response_headers() == expected
        assert client.get_response_headers() == expected
        dictionary = {
            "X-Zeta": "1",
            "content-type": "text/plain",
            "Set-Cookie": "a=1; Path=/; b=2",
            "X-A": "one; two",
            "X-Pad": "padded",
            "X-Empty": "",
            "X-Utf8": "caf\u00e9",
            "Content-Length": "2",
        }
        assert client.get_response_headers_as_dictionary() == dictionary
        assert list(client.get_response_headers_as_dictionary()) == list(dictionary)
        # Changing the returned list changes nothing inside.
        client.get_response_headers().clear()
        assert read_body(client) == b"ok"
        assert client.get_response_headers() == expected
        assert client.get_response_headers_as_dictionary() == dictionary


# -- truncation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "body", "expected"),
    [
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10,
            b"x" * 10,
            100,
            id="content-length-short",
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", b"", 5, id="content-length-none"
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nContent-Length: 20000\r\n\r\n" + BIG,
            BIG,
            20000,
            id="content-length-10k-of-20k",
        ),
        pytest.param(CHUNKED_HEAD, b"", None, id="chunked-none"),
        pytest.param(CHUNKED_HEAD + b"5\r\nhel", b"hel", None, id="chunked-mid-data"),
        pytest.param(CHUNKED_HEAD + b"5\r\nhello", b"hello", None, id="chunked-before-crlf"),
        pytest.param(
            CHUNKED_HEAD + b"5\r\nhello\r\n3\r\nabc", b"helloabc", None, id="chunked-mid-second"
        ),
        pytest.param(CHUNKED_HEAD + b"5\r\nhello\r\n3", b"hello", None, id="chunked-mid-size-line"),
        pytest.param(
            CHUNKED_HEAD + b"5\r\nhello\r\n0\r\nX-T: 1\r\n",
            b"hello",
            None,
            id="chunked-in-trailers",
        ),
    ],
)
@pytest.mark.parametrize("chunk_size", [65536, 256])
def test_truncated_body_is_an_error_with_the_bytes_delivered(wire, body, expected, chunk_size):
    with exchange([Read(), Send(wire), Close()]) as (_, client):
        client.read_chunk_size = chunk_size
        ask(client)
        assert client.get_status() == BODY
        pieces = read_pieces(client)
        assert max(map(len, pieces)) <= chunk_size
        assert b"".join(pieces) == body
        assert client.get_status() == CONNECTION_ERROR
        error = client.get_last_error()
        assert isinstance(error, IncompleteBodyError), repr(error)
        assert error.received == len(body)
        assert error.expected == expected
        assert str(len(body)) in str(error)
        # The head stays readable until close().
        assert client.get_response_code() == 200
        assert_sticky_error(client)


# -- malformed responses -----------------------------------------------------------------------

MALFORMED_HEADS = [
    pytest.param(
        b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 2\r\n\r\nok", "bare CR", id="bare-cr"
    ),
    pytest.param(b"HTTP/1.1 200 OK\rContent-Length: 2\r\n\r\nok", "bare CR", id="bare-cr-line-end"),
    pytest.param(b"HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 2\r\n\r\nok", "NUL", id="nul"),
    pytest.param(
        b"HTTP/1.1 200 OK\r\nX-A: a\x01b\r\nContent-Length: 2\r\n\r\nok",
        "invalid header line",
        id="ctl-in-value",
    ),
    pytest.param(
        b"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok",
        "invalid header line",
        id="space-before-colon",
    ),
    pytest.param(
        b"HTTP/1.1 200 OK\r\nX-A\t: a\r\nContent-Length: 2\r\n\r\nok",
        "invalid header line",
        id="tab-before-colon",
    ),
    pytest.param(
        b"HTTP/1.1 200 OK\r\nX-A: a\r\n  folded\r\nContent-Length: 2\r\n\r\nok",
        "line folding",
        id="obs-fold",
    ),
    pytest.param(
        b"HTTP/1.1 200 OK\r\nX-A: a\r\n\tContent-Length: 2\r\n\r\nok",
        "line folding",
        id="obs-fold-tab",
    ),
    pytest.param(b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "invalid header line", id="no-colon"),
    pytest.param(b"hello there\r\n\r\n", "status line", id="garbage-status-line"),
    pytest.param(
        b"HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nok", "status line", id="two-digit-code"
    ),
    pytest.param(
        b"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok", "status line", id="four-digit-code"
    ),
    pytest.param(b"HTTP/1.1 600 Odd\r\nContent-Length: 2\r\n\r\nok", "status line", id="code-600"),
    pytest.param(b"HTTP/1.1 099 Low\r\nContent-Length: 2\r\n\r\nok", "status line", id="code-099"),
    pytest.param(b"http/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "status line", id="lower-case"),
    pytest.param(b"HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok", "status line", id="http-2.0"),
    pytest.param(b"HTTP/1.2 200 OK\r\nContent-Length: 2\r\n\r\nok", "status line", id="http-1.2"),
    pytest.param(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
        "conflicting Content-Length",
        id="conflicting-content-length",
    ),
    pytest.param(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok",
        "conflicting Content-Length",
        id="content-length-list",
    ),
    pytest.param(
        b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok",
        "Content-Length",
        id="content-length-plus",
    ),
    pytest.param(
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok",
        "Content-Length",
        id="content-length-negative",
    ),
    pytest.param(
        b"HTTP/1.1 200 OK\r\nContent-Length: 0x2\r\n\r\nok",
        "Content-Length",
        id="content-length-hex",
    ),
    pytest.param(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nok",
        "Transfer-Encoding",
        id="te-gzip",
    ),
    pytest.param(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        "Transfer-Encoding",
        id="te-gzip-chunked",
    ),
    pytest.param(
        b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        "Transfer-Encoding",
        id="te-on-http-1.0",
    ),
]


@pytest.mark.parametrize(("wire", "message"), MALFORMED_HEADS)
def test_malformed_head_is_a_connection_error(wire, message):
    # The server does not close: the client must decide from the bytes alone.
    with exchange([Read(), Send(wire)]) as (_, client):
        trace = ask(client)
        assert trace[-1] == (Error.ERR_CONNECTION_ERROR, CONNECTION_ERROR)
        assert not client.has_response()
        assert client.get_response_code() == 0
        error = client.get_last_error()
        assert isinstance(error, RemoteProtocolError), repr(error)
        assert message in str(error)
        assert read_body(client) == b""
        assert_sticky_error(client)


MALFORMED_BODIES = [
    pytest.param(b"0x2\r\nok\r\n0\r\n\r\n", b"", "chunk size", id="chunk-size-0x"),
    pytest.param(b"+2\r\nok\r\n0\r\n\r\n", b"", "chunk size", id="chunk-size-plus"),
    pytest.param(b"\r\nok\r\n0\r\n\r\n", b"", "chunk size", id="chunk-size-empty"),
    pytest.param(b" 2\r\nok\r\n0\r\n\r\n", b"", "chunk size", id="chunk-size-leading-space"),
    pytest.param(b"1" * 17 + b"\r\nok\r\n", b"", "chunk size", id="chunk-size-17-digits"),
    pytest.param(b"2\nok\r\n0\r\n\r\n", b"", "chunk size", id="chunk-size-bare-lf"),
    pytest.param(b"2\r\nhiXX0\r\n\r\n", b"hi", "CRLF", id="chunk-data-then-XX"),
    pytest.param(b"2\r\nhi\n0\r\n\r\n", b"hi", "CRLF", id="chunk-data-then-bare-lf"),
    pytest.param(b"2\r\nok\r\n" + b"f" * 5000, b"ok", "chunk size line", id="chunk-line-too-long"),
]


@pytest.mark.parametrize(("body_wire", "good", "message"), MALFORMED_BODIES)
def test_malformed_chunked_body_is_a_connection_error(body_wire, good, message):
    with exchange([Read(), Send(CHUNKED_HEAD + body_wire)]) as (_, client):
        ask(client)
        assert client.get_status() == BODY
        received = read_body(client)
        # Only the well-framed data before the fault may be delivered; nothing invented.
        assert good.startswith(received)
        assert client.get_status() == CONNECTION_ERROR
        error = client.get_last_error()
        assert isinstance(error, RemoteProtocolError), repr(error)
        assert not isinstance(error, IncompleteBodyError)
        assert message in str(error)
        assert_sticky_error(client)


# -- limits --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wire",
    [
        pytest.param(
            b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * MIB + b"\r\nContent-Length: 2\r\n\r\nok",
            id="1MiB-header-line",
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\n"
            + b"".join(b"X-H%d: v\r\n" % i for i in range(5000))
            + b"Content-Length: 2\r\n\r\nok",
            id="5000-headers",
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\n" + b"A: b\r\n" * 5000 + b"Content-Length: 2\r\n\r\nok",
            id="5000-short-headers",
        ),
        pytest.param(b"HTTP/1.1 200 OK\r\nX: " + b"a" * MIB, id="1MiB-unterminated"),
        pytest.param(b"HTTP/1.1 100 Continue\r\n\r\n" * 40, id="40-interim-responses"),
    ],
)
def test_oversized_head_exceeds_limits(wire):
    with exchange([Read(), Send(wire)]) as (_, client):
        trace = ask(client)
        assert trace[-1] == (Error.ERR_CONNECTION_ERROR, CONNECTION_ERROR)
        assert isinstance(client.get_last_error(), LimitExceededError), client.get_last_error()
        assert not client.has_response()
        assert_sticky_error(client)


@pytest.mark.parametrize(
    ("headers", "accepted"),
    [
        (["A: 1", "B: 2"], True),  # + Content-Length = 3
        (["A: 1", "B: 2", "C: 3"], False),  # + Content-Length = 4
    ],
)
def test_custom_limits_max_headers(headers, accepted):
    with exchange(
        [Read(), Send(response(headers=headers, body=b"ok"))], limits=Limits(max_headers=3)
    ) as (_, client):
        ask(client)
        if accepted:
            assert len(client.get_response_headers()) == 3
            assert read_body(client) == b"ok"
            assert client.get_status() == CONNECTED
        else:
            assert client.get_status() == CONNECTION_ERROR
            error = client.get_last_error()
            assert isinstance(error, LimitExceededError)
            assert "3" in str(error)
            assert_sticky_error(client)


# -- resets and silent servers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "sent_body"),
    [
        pytest.param([Reset()], b"", id="before-head"),
        pytest.param([Send(b"HTTP/1.1 200 OK\r\nContent-Le"), Reset()], b"", id="mid-head"),
        pytest.param(
            [Send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"y" * 10), Reset()],
            b"y" * 10,
            id="mid-body",
        ),
        pytest.param(
            [Send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"), Pause(0.1), Reset()],
            b"",
            id="after-head",
        ),
        pytest.param([Send(CHUNKED_HEAD + b"5\r\nhel"), Reset()], b"hel", id="mid-chunk"),
    ],
)
def test_reset_by_server_is_a_connection_error(steps, sent_body):
    with exchange([Read(), *steps]) as (_, client):
        ask(client)
        received = read_body(client)
        assert sent_body.startswith(received)
        assert client.get_status() == CONNECTION_ERROR
        error = client.get_last_error()
        assert isinstance(error, PollHTTPError)
        assert error.code == Error.ERR_CONNECTION_ERROR
        assert_sticky_error(client)


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        pytest.param([Close()], "without sending a response", id="close"),
        pytest.param([Pause(0.1), Close()], "without sending a response", id="pause-close"),
        pytest.param(
            [Send(b"HTTP/1.1 200 OK\r\nContent-Le"), Close()],
            "middle of the response head",
            id="close-mid-head",
        ),
    ],
)
def test_server_closes_without_a_response(steps, message):
    with exchange([Read(), *steps]) as (_, client):
        trace = ask(client)
        assert trace[-1] == (Error.ERR_CONNECTION_ERROR, CONNECTION_ERROR)
        error = client.get_last_error()
        assert isinstance(error, RemoteProtocolError)
        assert message in str(error)
        assert not client.has_response()
        assert_sticky_error(client)


# -- golden traces -----------------------------------------------------------------------------


def test_golden_trace_connect():
    with ScriptedServer([[Read()]]) as server:
        client = HTTPClient()
        try:
            trace = [(client.connect_to_host("127.0.0.1", server.port), client.get_status())]
            trace += poll_while_waiting(client)
            trace.append((client.poll(), client.get_status()))
            assert squash(trace) == [(OK, CONNECTING), (OK, CONNECTED)]
        finally:
            client.close()


def exchange_trace(client: HTTPClient) -> list[tuple[object, Status]]:
    """request(), polls, body reads and one more poll, as (result, status) pairs."""
    trace: list[tuple[object, Status]] = [(client.request(GET, "/", []), client.get_status())]
    trace += poll_while_waiting(client)
    deadline = time.monotonic() + 5
    while client.get_status() == BODY:
        assert time.monotonic() < deadline, trace
        trace.append((client.read_response_body_chunk(), client.get_status()))
    trace.append((client.poll(), client.get_status()))
    return trace


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        pytest.param(
            [Send(response(body=b"hello"))],
            [(OK, REQUESTING), (OK, BODY), (b"hello", CONNECTED), (OK, CONNECTED)],
            id="content-length",
        ),
        pytest.param(
            [Send(CHUNKED_HEAD + chunked(b"hel", b"lo"))],
            [(OK, REQUESTING), (OK, BODY), (b"hello", CONNECTED), (OK, CONNECTED)],
            id="chunked",
        ),
        pytest.param(
            [Send(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"), Pause(0.2), Send(b"hello")],
            [(OK, REQUESTING), (OK, BODY), (b"", BODY), (b"hello", CONNECTED), (OK, CONNECTED)],
            id="slow-body",
        ),
        pytest.param(
            [Pause(0.1), Send(response(body=b"hello"))],
            [(OK, REQUESTING), (OK, BODY), (b"hello", CONNECTED), (OK, CONNECTED)],
            id="slow-head",
        ),
        pytest.param(
            [Send(response(headers=["Connection: close"], body=b"hello"))],
            [
                (OK, REQUESTING),
                (OK, BODY),
                (b"hello", DISCONNECTED),
                (Error.ERR_UNCONFIGURED, DISCONNECTED),
            ],
            id="connection-close",
        ),
        pytest.param(
            [Send(b"HTTP/1.1 204 No Content\r\n\r\n")],
            [(OK, REQUESTING), (OK, CONNECTED)],
            id="no-content",
        ),
        pytest.param(
            [Send(b"HTTP/1.1 100 Continue\r\n\r\n"), Pause(0.1), Send(response(body=b"hello"))],
            [(OK, REQUESTING), (OK, BODY), (b"hello", CONNECTED), (OK, CONNECTED)],
            id="interim-then-final",
        ),
        pytest.param(
            [Send(b"HTTP/2.0 200 OK\r\n\r\n")],
            [(OK, REQUESTING), (Error.ERR_CONNECTION_ERROR, CONNECTION_ERROR)],
            id="bad-head",
        ),
        pytest.param(
            [Send(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhello"), Close()],
            None,  # timing decides where "hello" and the close land; checked below
            id="truncated",
        ),
    ],
)
def test_golden_trace_request(steps, expected):
    with exchange([Read(), *steps]) as (_, client):
        trace = squash(exchange_trace(client))
        if expected is not None:
            assert trace == expected
        else:
            assert trace[:2] == [(OK, REQUESTING), (OK, BODY)]
            assert trace[-1] == (Error.ERR_CONNECTION_ERROR, CONNECTION_ERROR)
            reads = trace[2:-1]
            assert b"".join(cast(bytes, r) for r, _ in reads) == b"hello"
            assert [s for _, s in reads][-1] == CONNECTION_ERROR
            assert all(s == BODY for _, s in reads[:-1])
