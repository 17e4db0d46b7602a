"""Golden status traces: HTTPClient over a ScriptedStreamPeer, no sockets.

The scripts are deterministic, so every trace is compared as an exact list of
``(poll() result, get_status())`` pairs (or ``(call, result, status)`` steps when body
reads are mixed in).
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from pollhttp import (
    Error,
    HTTPClient,
    IncompleteBodyError,
    InvalidParameterError,
    NetworkError,
    RemoteProtocolError,
    Status,
    __version__,
)

from ..support.scripted_peer import WOULD_BLOCK, ScriptedStreamPeer

EOF = Error.ERR_FILE_EOF
OK_REQUESTING = (Error.OK, Status.STATUS_REQUESTING)
OK_BODY = (Error.OK, Status.STATUS_BODY)
OK_CONNECTED = (Error.OK, Status.STATUS_CONNECTED)
OK_DISCONNECTED = (Error.OK, Status.STATUS_DISCONNECTED)
CONNECTION_ERROR = (Error.ERR_CONNECTION_ERROR, Status.STATUS_CONNECTION_ERROR)
UNCONFIGURED = (Error.ERR_UNCONFIGURED, Status.STATUS_DISCONNECTED)

# What request(GET, "/t", []) writes on a stream given with set_connection(): there is no
# host to name, so Host is sent empty (RFC 9112 §3.2).
GET_T = (
    b"GET /t HTTP/1.1\r\nHost:\r\nUser-Agent: pollhttp/"
    + __version__.encode()
    + b"\r\nAccept: */*\r\n\r\n"
)
OK_2 = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def start(
    reads: Sequence[bytes | Error | None], write_sizes: Sequence[int] = ()
) -> tuple[HTTPClient, ScriptedStreamPeer]:
    """A client on a scripted peer with ``GET /t`` queued (nothing written yet)."""
    peer = ScriptedStreamPeer(reads, write_sizes)
    client = HTTPClient()
    client.set_connection(peer)
    assert client.get_status() == Status.STATUS_CONNECTED
    assert client.request(HTTPClient.METHOD_GET, "/t", []) == Error.OK
    assert client.get_status() == Status.STATUS_REQUESTING
    assert peer.written == b""  # request() only queues; poll() writes
    return client, peer


def polls(client: HTTPClient, count: int) -> list[tuple[Error, Status]]:
    return [(client.poll(), client.get_status()) for _ in range(count)]


def poll_step(client: HTTPClient) -> tuple[str, Error, Status]:
    return ("poll", client.poll(), client.get_status())


def read_step(client: HTTPClient) -> tuple[str, bytes, Status]:
    return ("read", client.read_response_body_chunk(), client.get_status())


# -- writing the request ---------------------------------------------------------------------


def test_partial_writes_keep_requesting_until_everything_is_written():
    client, peer = start([WOULD_BLOCK, OK_2], write_sizes=[3, 0, 5])
    assert polls(client, 1) == [OK_REQUESTING]
    assert peer.written == GET_T[:3]
    assert len(peer.reads) == 2  # no read while request bytes are pending
    # 5 more bytes, then the sizes run out and the rest is taken whole; the read blocks.
    assert polls(client, 1) == [OK_REQUESTING]
    assert peer.written == GET_T
    assert len(peer.reads) == 1
    assert polls(client, 1) == [OK_BODY]
    assert client.read_response_body_chunk() == b"ok"
    assert client.get_status() == Status.STATUS_CONNECTED


def test_stalled_writes_never_read_before_the_request_is_out():
    client, peer = start([OK_2], write_sizes=[3, 0, 5, 0, 0])
    trace, written, unread = [], [], []
    for _ in range(4):
        trace.append((client.poll(), client.get_status()))
        written.append(len(peer.written))
        unread.append(len(peer.reads))
    assert trace == [OK_REQUESTING, OK_REQUESTING, OK_REQUESTING, OK_BODY]
    assert written == [3, 8, 8, len(GET_T)]
    assert unread == [1, 1, 1, 0]
    assert peer.written == GET_T


@pytest.mark.parametrize(
    ("write_sizes", "expected"),
    [
        ([-1], [CONNECTION_ERROR, CONNECTION_ERROR]),
        ([5, -1], [CONNECTION_ERROR, CONNECTION_ERROR]),
        ([5, 0, -1], [OK_REQUESTING, CONNECTION_ERROR]),
    ],
    ids=["first-write", "after-a-partial-write", "on-a-later-poll"],
)
def test_write_error_is_a_connection_error(write_sizes, expected):
    client, peer = start([OK_2], write_sizes=write_sizes)
    assert polls(client, 2) == expected
    assert len(peer.reads) == 1  # nothing was read
    assert peer.closed
    assert isinstance(client.get_last_error(), NetworkError)
    assert str(client.get_last_error()) == "scripted write error"
    assert client.has_response() is False


# -- reading the head ------------------------------------------------------------------------


def test_empty_reads_keep_requesting():
    client, peer = start([WOULD_BLOCK, WOULD_BLOCK, WOULD_BLOCK, OK_2])
    assert polls(client, 4) == [OK_REQUESTING, OK_REQUESTING, OK_REQUESTING, OK_BODY]
    assert peer.written == GET_T
    assert client.read_response_body_chunk() == b"ok"
    assert client.get_status() == Status.STATUS_CONNECTED


def test_head_split_over_several_reads():
    reads = [
        b"HTTP/1.1 20",
        WOULD_BLOCK,
        b"0 OK\r\nContent-Le",
        b"ngth: 2\r\n\r",  # the blank line is split between \r and \n
        WOULD_BLOCK,
        b"\nok",
    ]
    client, _ = start(reads)
    assert polls(client, 3) == [OK_REQUESTING, OK_REQUESTING, OK_BODY]
    assert client.get_response_code() == 200
    assert client.get_response_headers() == ["Content-Length: 2"]
    assert client.read_response_body_chunk() == b"ok"
    assert client.get_status() == Status.STATUS_CONNECTED


def test_head_split_between_the_two_line_ends():
    reads = [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n", WOULD_BLOCK, b"\r\n", WOULD_BLOCK, b"ok"]
    client, _ = start(reads)
    assert polls(client, 2) == [OK_REQUESTING, OK_BODY]
    assert [read_step(client), read_step(client)] == [
        ("read", b"", Status.STATUS_BODY),
        ("read", b"ok", Status.STATUS_CONNECTED),
    ]


def test_head_one_byte_per_poll():
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
    reads: list[bytes | Error | None] = []
    for i in range(len(head)):
        reads += [head[i : i + 1], WOULD_BLOCK]
    reads[-1] = b"ok"
    client, _ = start(reads)
    assert polls(client, len(head)) == [OK_REQUESTING] * (len(head) - 1) + [OK_BODY]
    assert client.read_response_body_chunk() == b"ok"
    assert client.get_status() == Status.STATUS_CONNECTED


def test_100_continue_then_200():
    reads = [b"HTTP/1.1 100 Continue\r\n\r\n", WOULD_BLOCK, OK_2]
    client, _ = start(reads)
    assert polls(client, 1) == [OK_REQUESTING]
    # The interim response is not the response.
    assert client.has_response() is False
    assert client.get_response_code() == 0
    assert polls(client, 1) == [OK_BODY]
    assert client.get_response_code() == 200
    assert client.get_informational_responses() == [(100, [])]
    assert client.read_response_body_chunk() == b"ok"
    assert client.get_status() == Status.STATUS_CONNECTED


def test_several_interim_responses_in_one_read():
    reads = [
        b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
        b"HTTP/1.1 100 Continue\r\n\r\n" + OK_2
    ]
    client, _ = start(reads)
    assert polls(client, 1) == [OK_BODY]
    assert client.get_response_code() == 200
    assert client.get_informational_responses() == [
        (103, ["Link: </s.css>; rel=preload"]),
        (100, []),
    ]


@pytest.mark.parametrize(
    ("method", "head", "expected"),
    [
        (HTTPClient.METHOD_GET, b"HTTP/1.1 204 No Content\r\n\r\n", OK_CONNECTED),
        (HTTPClient.METHOD_GET, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", OK_CONNECTED),
        (HTTPClient.METHOD_HEAD, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", OK_CONNECTED),
        (
            HTTPClient.METHOD_GET,
            b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
            OK_CONNECTED,
        ),
        (
            HTTPClient.METHOD_GET,
            b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
            OK_CONNECTED,
        ),
        (
            HTTPClient.METHOD_GET,
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            OK_DISCONNECTED,
        ),
        (HTTPClient.METHOD_GET, b"HTTP/1.0 204 No Content\r\n\r\n", OK_DISCONNECTED),
    ],
    ids=[
        "204",
        "length-0",
        "head-with-length",
        "204-with-length",
        "304-with-length",
        "length-0-close",
        "http-1.0",
    ],
)
def test_bodiless_response_skips_body(method, head, expected):
    # Once the head says there is no body, poll() goes straight to CONNECTED (or
    # DISCONNECTED when the connection cannot be reused) and no body read is needed.
    peer = ScriptedStreamPeer([head])
    client = HTTPClient()
    client.set_connection(peer)
    assert client.request(method, "/t", []) == Error.OK
    after = OK_CONNECTED if expected == OK_CONNECTED else UNCONFIGURED
    assert polls(client, 2) == [expected, after]
    assert client.has_response() is True
    assert peer.closed is (expected == OK_DISCONNECTED)
    assert client.read_response_body_chunk() == b""


# -- end of stream and read errors -----------------------------------------------------------


def test_eof_before_any_byte():
    client, peer = start([EOF])
    assert polls(client, 3) == [CONNECTION_ERROR] * 3
    assert peer.closed
    assert isinstance(client.get_last_error(), RemoteProtocolError)
    assert client.has_response() is False
    assert client.get_response_code() == 0


def test_eof_after_an_empty_read():
    client, _ = start([WOULD_BLOCK, EOF])
    assert polls(client, 3) == [OK_REQUESTING, CONNECTION_ERROR, CONNECTION_ERROR]


def test_eof_mid_head():
    client, peer = start([b"HTTP/1.1 200 OK\r\nContent-", WOULD_BLOCK, EOF])
    assert polls(client, 3) == [OK_REQUESTING, CONNECTION_ERROR, CONNECTION_ERROR]
    assert peer.closed
    assert isinstance(client.get_last_error(), RemoteProtocolError)
    assert client.has_response() is False


def test_eof_mid_body_with_content_length():
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
    client, peer = start([head + b"abc", WOULD_BLOCK, EOF])
    trace = [poll_step(client), read_step(client), read_step(client), poll_step(client)]
    assert trace == [
        ("poll", Error.OK, Status.STATUS_BODY),
        ("read", b"abc", Status.STATUS_BODY),
        ("read", b"", Status.STATUS_CONNECTION_ERROR),
        ("poll", Error.ERR_CONNECTION_ERROR, Status.STATUS_CONNECTION_ERROR),
    ]
    error = client.get_last_error()
    assert isinstance(error, IncompleteBodyError)
    assert (error.received, error.expected) == (3, 10)
    assert peer.closed
    # The head stays readable after the error.
    assert client.get_response_code() == 200


def test_eof_mid_body_returns_the_bytes_received_with_the_error():
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
    client, _ = start([head + b"abc", EOF])
    assert [poll_step(client), read_step(client), read_step(client)] == [
        ("poll", Error.OK, Status.STATUS_BODY),
        ("read", b"abc", Status.STATUS_CONNECTION_ERROR),
        ("read", b"", Status.STATUS_CONNECTION_ERROR),
    ]


def test_eof_mid_chunked_body():
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    client, _ = start([head + b"5\r\nhello\r\n3\r\nab", EOF])
    assert [poll_step(client), read_step(client)] == [
        ("poll", Error.OK, Status.STATUS_BODY),
        ("read", b"helloab", Status.STATUS_CONNECTION_ERROR),
    ]
    error = client.get_last_error()
    assert isinstance(error, IncompleteBodyError)
    assert (error.received, error.expected) == (7, None)


def test_eof_ends_a_body_without_framing():
    client, peer = start([b"HTTP/1.1 200 OK\r\n\r\nabc", WOULD_BLOCK, b"def", EOF])
    assert [poll_step(client), read_step(client), read_step(client), poll_step(client)] == [
        ("poll", Error.OK, Status.STATUS_BODY),
        ("read", b"abc", Status.STATUS_BODY),
        ("read", b"def", Status.STATUS_DISCONNECTED),
        ("poll", *UNCONFIGURED),
    ]
    assert peer.closed
    assert client.get_response_body_length() == -1


def test_read_error_while_requesting():
    client, peer = start([Error.ERR_CONNECTION_ERROR, OK_2])
    assert polls(client, 2) == [CONNECTION_ERROR, CONNECTION_ERROR]
    assert peer.closed
    error = client.get_last_error()
    assert isinstance(error, NetworkError)
    assert str(error) == "scripted ERR_CONNECTION_ERROR"
    assert len(peer.reads) == 1


def test_read_error_after_an_empty_read():
    client, _ = start([WOULD_BLOCK, Error.ERR_CONNECTION_ERROR])
    assert polls(client, 2) == [OK_REQUESTING, CONNECTION_ERROR]


def test_read_error_mid_body():
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
    client, _ = start([head + b"abc", Error.ERR_CONNECTION_ERROR])
    assert [poll_step(client), read_step(client), poll_step(client)] == [
        ("poll", Error.OK, Status.STATUS_BODY),
        ("read", b"abc", Status.STATUS_CONNECTION_ERROR),
        ("poll", Error.ERR_CONNECTION_ERROR, Status.STATUS_CONNECTION_ERROR),
    ]
    assert isinstance(client.get_last_error(), NetworkError)


def test_errors_are_sticky_until_close():
    client, peer = start([EOF])
    assert polls(client, 1) == [CONNECTION_ERROR]
    assert client.request(HTTPClient.METHOD_GET, "/again", []) == Error.ERR_INVALID_PARAMETER
    assert client.get_status() == Status.STATUS_CONNECTION_ERROR
    assert client.read_response_body_chunk() == b""
    assert polls(client, 1) == [CONNECTION_ERROR]
    client.close()
    assert polls(client, 2) == [UNCONFIGURED] * 2
    assert client.get_connection() is None
    assert peer.written == GET_T


# -- polls that must not move anything ---------------------------------------------------------


def test_poll_when_disconnected_is_unconfigured():
    client = HTTPClient()
    assert polls(client, 3) == [UNCONFIGURED] * 3
    assert client.get_connection() is None


def test_poll_in_body_returns_ok_and_does_not_read():
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n"
    client, peer = start([head + b"ab", b"cd"])
    assert polls(client, 1) == [OK_BODY]
    assert len(peer.reads) == 1
    assert polls(client, 3) == [OK_BODY] * 3
    assert len(peer.reads) == 1  # b"cd" is still waiting in the peer
    assert read_step(client) == ("read", b"abcd", Status.STATUS_CONNECTED)


def test_poll_when_connected_does_not_read():
    peer = ScriptedStreamPeer([OK_2])
    client = HTTPClient()
    client.set_connection(peer)
    assert polls(client, 3) == [OK_CONNECTED] * 3
    assert len(peer.reads) == 1
    assert peer.written == b""


def test_request_while_busy_is_rejected_and_does_not_disturb_the_exchange():
    client, peer = start([WOULD_BLOCK, OK_2])
    assert client.request(HTTPClient.METHOD_GET, "/other", []) == Error.ERR_INVALID_PARAMETER
    assert isinstance(client.get_last_error(), InvalidParameterError)
    assert client.get_status() == Status.STATUS_REQUESTING
    assert polls(client, 2) == [OK_REQUESTING, OK_BODY]
    assert client.request(HTTPClient.METHOD_GET, "/other", []) == Error.ERR_INVALID_PARAMETER
    assert client.get_status() == Status.STATUS_BODY
    assert client.read_response_body_chunk() == b"ok"
    assert peer.written == GET_T


# -- keep-alive -------------------------------------------------------------------------------


def test_two_requests_on_one_stream():
    second = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\ntwo"
    client, peer = start([OK_2, WOULD_BLOCK, second])
    assert polls(client, 1) == [OK_BODY]
    assert read_step(client) == ("read", b"ok", Status.STATUS_CONNECTED)
    assert not peer.closed
    assert client.request(HTTPClient.METHOD_GET, "/t", []) == Error.OK
    assert polls(client, 2) == [OK_REQUESTING, OK_BODY]
    assert read_step(client) == ("read", b"two", Status.STATUS_DISCONNECTED)
    assert peer.closed
    assert peer.written == GET_T + GET_T


# -- read_chunk_size changed between the head and the body -------------------------------------


@pytest.mark.parametrize(
    ("response", "final"),
    [
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 1000,
            Status.STATUS_CONNECTED,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n"
            + b"x" * 1000
            + b"\r\n0\r\n\r\n",
            Status.STATUS_CONNECTED,
        ),
        (b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 1000, Status.STATUS_DISCONNECTED),
    ],
    ids=["content-length", "chunked", "until-close"],
)
def test_read_chunk_size_lowered_after_the_head(response, final):
    # The head read takes the whole response into the parser's buffer (65536 at a time);
    # a smaller read_chunk_size set afterwards must still cut the buffered body in pieces.
    client, _ = start([response, EOF])
    assert polls(client, 1) == [OK_BODY]
    client.set_read_chunk_size(256)
    sizes = []
    for _ in range(4):
        sizes.append(len(client.read_response_body_chunk()))
    assert sizes == [256, 256, 256, 232]
    assert client.get_status() == final
