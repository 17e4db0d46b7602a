"""Body bytes handed straight through (direct_body_bytes / receive_body_bytes)."""

import pytest

from pollhttp import InvalidParameterError
from pollhttp.protocol import NEED_DATA, ClientConnection, Data, EndOfMessage, Response


def _started(head: bytes) -> ClientConnection:
    conn = ClientConnection()
    conn.send_request(b"GET", b"/", [(b"Host", b"x")])
    conn.receive_data(head)
    assert isinstance(conn.next_event(), Response)
    return conn


def test_content_length_body_passes_through_and_ends():
    conn = _started(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
    assert conn.direct_body_bytes() == 10
    assert conn.receive_body_bytes(b"0123") == Data(b"0123")
    assert conn.direct_body_bytes() == 6
    conn.receive_body_bytes(b"456789")
    assert conn.direct_body_bytes() == 0
    assert isinstance(conn.next_event(), EndOfMessage)


def test_more_than_allowed_is_refused():
    conn = _started(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n")
    with pytest.raises(InvalidParameterError):
        conn.receive_body_bytes(b"0123")


def test_chunk_data_passes_through_then_framing_is_parsed():
    conn = _started(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert conn.direct_body_bytes() == 0  # the chunk-size line must be parsed first
    conn.receive_data(b"5\r\n")
    assert conn.next_event() is NEED_DATA
    assert conn.direct_body_bytes() == 5
    conn.receive_body_bytes(b"hello")
    assert conn.direct_body_bytes() == 0  # then the CRLF after the data
    conn.receive_data(b"\r\n0\r\n\r\n")
    assert isinstance(conn.next_event(), EndOfMessage)


def test_buffered_bytes_and_other_states_are_parsed():
    conn = _started(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab")
    assert conn.direct_body_bytes() == 0  # bytes in the buffer come first
    assert conn.next_event() == Data(b"ab")
    assert conn.direct_body_bytes() == 2
    idle = ClientConnection()
    assert idle.direct_body_bytes() == 0


def test_body_until_close_passes_through():
    conn = _started(b"HTTP/1.1 200 OK\r\n\r\n")
    assert conn.direct_body_bytes() > 1 << 40
    conn.receive_body_bytes(b"abc")
    conn.receive_data(b"")
    assert conn.direct_body_bytes() == 0
    assert isinstance(conn.next_event(), EndOfMessage)
