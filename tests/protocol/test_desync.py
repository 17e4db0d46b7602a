"""Response desynchronisation, sans-IO (issue 19, part 1): bytes after the end of a response.

Bytes received after a response ends answer no request. Read as the next response, they
would answer the next request (response-queue poisoning, the client side of request
smuggling), so the response still ends normally, with its whole body, but the connection
is left in MUST_CLOSE, never IDLE, and ``unsolicited`` counts the stray bytes. This holds
for every framing: Content-Length, chunked (with and without trailers), and the bodiless
responses (HEAD, 204, 304, Content-Length: 0). An interim 1xx and its final response are
one exchange, not stray bytes.

Bytes that arrive after the end was reported, while the connection is IDLE (or before any
request), are stray too: the connection becomes MUST_CLOSE. A caller that leaves them in
the socket must look before its next request (tests/client/test_desync.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pytest

from pollhttp import InvalidParameterError
from pollhttp.protocol import NEED_DATA, ClientConnection, ConnState, EndOfMessage

from .helpers import data, end, info, normalise, resp, start_request

GET, HEAD, CONNECT = b"GET", b"HEAD", b"CONNECT"
#: What a hostile server sends after the response: an answer to a request never made.
EVIL = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL"
CL5 = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
CHUNKED_TRAILERS = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"2\r\nhe\r\n3\r\nllo\r\n0\r\nX-Digest: abc\r\n\r\n"
)
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
EARLY_HINTS = b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
LINK = (b"Link", b"</style.css>; rel=preload")


@dataclass(frozen=True)
class Answer:
    """A complete response to ``method`` and the events it must give, EndOfMessage last."""

    method: bytes
    wire: bytes
    events: tuple[tuple[Any, ...], ...]


def answer(name: str, method: bytes, wire: bytes, *events: tuple[Any, ...]) -> object:
    return pytest.param(Answer(method, wire, events), id=name)


ANSWERS = [
    answer("content-length", GET, CL5, resp(200, 5), data(b"hello"), end()),
    answer("chunked", GET, CHUNKED, resp(200, None, True), data(b"hello"), end()),
    answer(
        "chunked-with-trailers",
        GET,
        CHUNKED_TRAILERS,
        resp(200, None, True),
        data(b"hello"),
        end((b"X-Digest", b"abc")),
    ),
    answer(
        "head-with-content-length",
        HEAD,
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
        resp(200, 0),
        end(),
    ),
    answer("204", GET, b"HTTP/1.1 204 No Content\r\n\r\n", resp(204, 0), end()),
    answer(
        "304-with-content-length",
        GET,
        b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 5\r\n\r\n',
        resp(304, 0),
        end(),
    ),
    answer(
        "content-length-0",
        GET,
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        resp(200, 0),
        end(),
    ),
    answer(
        "connection-close",
        GET,
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello",
        resp(200, 5),
        data(b"hello"),
        end(),
    ),
    answer(
        "100-continue-then-content-length",
        GET,
        CONTINUE + CL5,
        info(100),
        resp(200, 5),
        data(b"hello"),
        end(),
    ),
    answer(
        "103-early-hints-then-chunked",
        GET,
        EARLY_HINTS + CHUNKED,
        info(103, LINK),
        resp(200, None, True),
        data(b"hello"),
        end(),
    ),
]


@dataclass
class Exchange:
    events: list[tuple[Any, ...]]
    #: The connection's state and ``unsolicited`` at the moment EndOfMessage was returned.
    at_end: tuple[ConnState, int] | None
    conn: ClientConnection


def exchange(method: bytes, pieces: Iterable[bytes], *, parse_between: bool) -> Exchange:
    """Send one request and receive ``pieces``; parse after each piece or only at the end.

    Parsing runs until the parser needs data. Consecutive Data events are merged, so the
    split cannot show in the events.
    """
    conn = ClientConnection()
    start_request(conn, method)
    events: list[tuple[Any, ...]] = []
    at_end: list[tuple[ConnState, int]] = []

    def parse() -> None:
        # Each event consumes input, so a correct parser needs far fewer steps than this.
        for _ in range(1000):
            event = conn.next_event()
            if event is NEED_DATA:
                return
            item = normalise(event)
            if item[0] == "data" and events and events[-1][0] == "data":
                item = data(events.pop()[1] + item[1])
            events.append(item)
            if isinstance(event, EndOfMessage):
                at_end.append((conn.state, conn.unsolicited))
        raise AssertionError(f"the parser returned events without end: {events[-5:]}")

    for piece in pieces:
        if piece:  # b"" would mean end of stream
            conn.receive_data(piece)
            if parse_between:
                parse()
    parse()
    assert len(at_end) <= 1, at_end
    return Exchange(events, at_end[0] if at_end else None, conn)


def cannot_carry_another_request(conn: ClientConnection) -> None:
    """The stray bytes are never parsed as an answer: no request can be started."""
    assert not conn.reusable
    with pytest.raises(InvalidParameterError):
        start_request(conn, GET)
    assert conn.next_event() is NEED_DATA
    assert conn.state is ConnState.MUST_CLOSE


# -- bytes in the same read as the end of the response ------------------------------------------


@pytest.mark.parametrize("answer", ANSWERS)
def test_stray_response_in_the_same_read_leaves_the_connection_must_close(answer):
    got = exchange(answer.method, [answer.wire + EVIL], parse_between=True)
    assert got.events == list(answer.events)
    assert got.at_end == (ConnState.MUST_CLOSE, len(EVIL))
    cannot_carry_another_request(got.conn)


@pytest.mark.parametrize(
    "stray",
    [
        pytest.param(b"X", id="one-byte"),
        pytest.param(b"garbage\r\n", id="garbage-line"),
        pytest.param(b"HTTP/1.1 2", id="start-of-a-status-line"),
        pytest.param(CONTINUE, id="interim-response"),
        pytest.param(EVIL * 100, id="a-hundred-responses"),
    ],
)
def test_stray_bytes_of_any_kind_are_counted_and_close_the_connection(stray):
    got = exchange(GET, [CL5 + stray], parse_between=True)
    assert got.events == [resp(200, 5), data(b"hello"), end()]
    assert got.at_end == (ConnState.MUST_CLOSE, len(stray))
    cannot_carry_another_request(got.conn)


@pytest.mark.parametrize("answer", ANSWERS)
def test_every_split_received_before_parsing_leaves_the_connection_must_close(answer):
    wire = answer.wire + EVIL
    for split in range(len(wire) + 1):
        got = exchange(answer.method, [wire[:split], wire[split:]], parse_between=False)
        assert got.events == list(answer.events), split
        assert got.at_end == (ConnState.MUST_CLOSE, len(EVIL)), split
        cannot_carry_another_request(got.conn)


@pytest.mark.parametrize("answer", ANSWERS)
def test_every_split_parsed_between_the_pieces_counts_the_bytes_already_received(answer):
    """Parsed as each piece comes, the end is reported as soon as the response is whole.

    Stray bytes received with the end (in either piece) make it MUST_CLOSE. A split
    exactly at the end reports it on an IDLE connection, with nothing after it; the stray
    bytes that come next, while IDLE, make it MUST_CLOSE too. They are never an event.
    """
    wire = answer.wire + EVIL
    size = len(answer.wire)
    keep_alive = b"Connection: close" not in answer.wire
    for split in range(len(wire) + 1):
        got = exchange(answer.method, [wire[:split], wire[split:]], parse_between=True)
        assert got.events == list(answer.events), split
        stray = len(EVIL) if split < size else split - size
        if stray or not keep_alive:
            assert got.at_end == (ConnState.MUST_CLOSE, stray), split
        else:
            assert got.at_end == (ConnState.IDLE, 0), split
            assert got.conn.unsolicited == len(EVIL), split
        cannot_carry_another_request(got.conn)


def test_byte_at_a_time_the_end_comes_first_and_the_stray_bytes_then_close():
    """Fed one byte per read, nothing follows the end when it is reported; each stray byte
    then arrives on the IDLE connection, which becomes MUST_CLOSE, and none is an event."""
    wire = CL5 + EVIL
    got = exchange(GET, [wire[i : i + 1] for i in range(len(wire))], parse_between=True)
    assert got.events == [resp(200, 5), data(b"hello"), end()]
    assert got.at_end == (ConnState.IDLE, 0)
    assert got.conn.unsolicited > 0  # at least the read that found the connection IDLE
    cannot_carry_another_request(got.conn)


@pytest.mark.parametrize("stray", [b"X", EVIL], ids=["one-byte", "a-response"])
def test_bytes_on_a_new_connection_before_any_request_close_it(stray):
    conn = ClientConnection()
    conn.receive_data(stray)
    assert (conn.state, conn.unsolicited) == (ConnState.MUST_CLOSE, len(stray))
    cannot_carry_another_request(conn)


def test_the_end_of_stream_on_an_idle_connection_is_not_stray_bytes():
    got = exchange(GET, [CL5], parse_between=True)
    got.conn.receive_data(b"")
    assert (got.conn.state, got.conn.unsolicited) == (ConnState.IDLE, 0)


# -- not stray bytes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wire", "events"),
    [
        pytest.param(
            CONTINUE + CL5,
            [info(100), resp(200, 5), data(b"hello"), end()],
            id="100-continue-then-content-length",
        ),
        pytest.param(
            EARLY_HINTS + CHUNKED,
            [info(103, LINK), resp(200, None, True), data(b"hello"), end()],
            id="103-early-hints-then-chunked",
        ),
        pytest.param(
            CONTINUE + EARLY_HINTS + b"HTTP/1.1 204 No Content\r\n\r\n",
            [info(100), info(103, LINK), resp(204, 0), end()],
            id="100-then-103-then-204",
        ),
    ],
)
@pytest.mark.parametrize("parse_between", [True, False], ids=["parsed-between", "parsed-after"])
def test_interim_and_final_response_are_one_exchange_at_every_split(wire, events, parse_between):
    for split in range(len(wire) + 1):
        got = exchange(GET, [wire[:split], wire[split:]], parse_between=parse_between)
        assert got.events == events, split
        assert got.at_end == (ConnState.IDLE, 0), split
        # The connection carries the next exchange, which parses as usual.
        start_request(got.conn, GET)
        got.conn.receive_data(CL5)
        assert [normalise(got.conn.next_event()) for _ in range(3)] == [
            resp(200, 5),
            data(b"hello"),
            end(),
        ]
        assert (got.conn.state, got.conn.unsolicited) == (ConnState.IDLE, 0)


def test_a_body_delimited_by_close_takes_every_byte_before_the_end_of_stream():
    """Without Content-Length or chunked, whatever comes before the close is the body."""
    conn = ClientConnection()
    start_request(conn, GET)
    conn.receive_data(b"HTTP/1.1 200 OK\r\n\r\nhello" + EVIL)
    conn.receive_data(b"")
    events = [normalise(conn.next_event()) for _ in range(3)]
    assert events == [resp(200, None), data(b"hello" + EVIL), end()]
    assert (conn.state, conn.unsolicited) == (ConnState.MUST_CLOSE, 0)


@pytest.mark.parametrize(
    ("method", "head", "upgrade"),
    [
        pytest.param(CONNECT, b"HTTP/1.1 200 Connection Established\r\n\r\n", False, id="connect"),
        pytest.param(
            GET,
            b"HTTP/1.1 101 Switching Protocols\r\n"
            b"Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
            True,
            id="101",
        ),
    ],
)
def test_bytes_after_a_tunnel_opens_belong_to_the_tunnel(method, head, upgrade):
    conn = ClientConnection()
    start_request(conn, method, upgrade)
    conn.receive_data(head + EVIL)
    assert normalise(conn.next_event())[0] == "response"
    assert conn.state is ConnState.TUNNEL
    assert conn.trailing_data == EVIL
    assert conn.unsolicited == 0


def test_a_new_connection_and_a_clean_exchange_have_no_stray_bytes():
    conn = ClientConnection()
    assert conn.unsolicited == 0
    got = exchange(GET, [CL5], parse_between=True)
    assert got.at_end == (ConnState.IDLE, 0)
