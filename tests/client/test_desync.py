"""HTTPClient and response desynchronisation (issue 19, part 1), over real sockets.

A server, or anything on the path, must never make the client report a response to a
request it did not make. Bytes after the end of a response, whether they came in the same
read or later, and bytes on an idle connection mean the connection is dead:

* the response that was complete stays readable and correct (code, headers, body);
* the connection is closed and the status is DISCONNECTED (not an error status);
* ``get_last_error()`` says why: a `RemoteProtocolError` for bytes that came with the
  response, a `StaleConnectionError` for bytes (or a close) found on the idle connection
  by ``poll()`` or ``request()``, which then sends nothing;
* a later ``request()`` gets the usual ``ERR_INVALID_PARAMETER`` for DISCONNECTED.

A 1xx and its final response are one exchange, and leave the connection reusable; after a
101 or a 2xx to CONNECT the bytes on the connection are the caller's.

Over plain TCP the server's end of each connection is driven by the test itself, in its own
thread (`ServerEnd`): bytes reach the client exactly when the test sends them, so "in the
same read as the response" and "after the response was read" are the test's choice, not
thread timing. The TLS cases use the scripted `TLSServer`.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import trustme

from pollhttp import (
    Error,
    HTTPClient,
    RemoteProtocolError,
    StaleConnectionError,
    Status,
    TLSOptions,
)

from ..support.polling import connect, poll_until, poll_while_waiting, read_body
from ..support.servers import wait_for
from ..support.tls import Read, Send, Step, TLSServer, Wait, ca_certificate, server_context

GET = HTTPClient.METHOD_GET
HEAD = HTTPClient.METHOD_HEAD
CONNECTED = Status.STATUS_CONNECTED
DISCONNECTED = Status.STATUS_DISCONNECTED
REQUESTING = Status.STATUS_REQUESTING
BODY = Status.STATUS_BODY

#: What a hostile server sends after the response: an answer to a request never made.
EVIL = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL"
CL5 = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
EARLY_HINTS = b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
LINK = "Link: </style.css>; rel=preload"
SWITCH = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: example/1\r\n\r\n"
#: The honest answer to a second request on a connection that is still good.
SECOND = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"


@dataclass(frozen=True)
class Answer:
    """A complete response to ``method`` and what HTTPClient must show of it."""

    method: int
    wire: bytes
    code: int
    headers: tuple[str, ...]
    body: bytes = b""
    trailers: tuple[str, ...] = ()
    informational: tuple[tuple[int, list[str]], ...] = ()


def answer(name: str, *args: object, **kwargs: object) -> object:
    return pytest.param(Answer(*args, **kwargs), id=name)  # type: ignore[arg-type]


ANSWERS = [
    answer("content-length", GET, CL5, 200, ("Content-Length: 5",), b"hello"),
    answer("chunked", GET, CHUNKED, 200, ("Transfer-Encoding: chunked",), b"hello"),
    answer(
        "chunked-with-trailers",
        GET,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nhe\r\n3\r\nllo\r\n0\r\nX-Digest: abc\r\n\r\n",
        200,
        ("Transfer-Encoding: chunked",),
        b"hello",
        ("X-Digest: abc",),
    ),
    answer(
        "head-with-content-length",
        HEAD,
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
        200,
        ("Content-Length: 5",),
    ),
    answer("204", GET, b"HTTP/1.1 204 No Content\r\n\r\n", 204, ()),
    answer(
        "304-with-content-length",
        GET,
        b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 5\r\n\r\n',
        304,
        ('ETag: "v1"', "Content-Length: 5"),
    ),
    answer(
        "content-length-0",
        GET,
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        200,
        ("Content-Length: 0",),
    ),
    answer(
        "100-continue-then-content-length",
        GET,
        CONTINUE + CL5,
        200,
        ("Content-Length: 5",),
        b"hello",
        informational=((100, []),),
    ),
    answer(
        "103-early-hints-then-chunked",
        GET,
        EARLY_HINTS + CHUNKED,
        200,
        ("Transfer-Encoding: chunked",),
        b"hello",
        informational=((103, [LINK]),),
    ),
]
BY_NAME = {param.id: param.values[0] for param in ANSWERS}  # type: ignore[attr-defined]


# -- the server's end, driven by the test ----------------------------------------------------


def readable(fd: int, timeout: float) -> bool:
    """Whether ``fd`` has something to read (data or end of stream) within ``timeout``."""
    return bool(select.select([fd], [], [], timeout)[0])


class ServerEnd:
    """The server's end of one TCP connection; the test sends and reads on it directly."""

    def __init__(self, sock: socket.socket) -> None:
        sock.settimeout(5.0)
        self.sock = sock
        self.requests: list[bytes] = []
        self._pending = bytearray()

    def send(self, data: bytes) -> None:
        if data:
            self.sock.sendall(data)

    def read_request(self, client: HTTPClient, timeout: float = 5.0) -> bytes:
        """Poll ``client`` until a whole request head (no body) has arrived here."""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self._pending:
            assert time.monotonic() < deadline, f"no request within {timeout} s"
            client.poll()
            if readable(self.sock.fileno(), 0.01):
                data = self.sock.recv(65536)
                assert data, "the client closed instead of sending a request"
                self._pending += data
        end = self._pending.index(b"\r\n\r\n") + 4
        request = bytes(self._pending[:end])
        del self._pending[:end]
        self.requests.append(request)
        return request

    def sent_after_the_requests(self) -> bytes:
        """What the client sent after the requests read so far, up to its close.

        Fails (after 5 s) if the client keeps the connection open.
        """
        data = bytearray(self._pending)
        while True:
            try:
                piece = self.sock.recv(65536)
            except ConnectionResetError:  # closed with our bytes unread: a reset
                break
            except TimeoutError:
                raise AssertionError(
                    f"the client kept the connection open; sent {data!r}"
                ) from None
            if not piece:
                break
            data += piece
        return bytes(data)


class Listener:
    """A listening socket on 127.0.0.1 whose connections the test accepts and drives."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(5.0)
        self.port: int = self.sock.getsockname()[1]
        self.ends: list[ServerEnd] = []

    def connect(self, client: HTTPClient) -> ServerEnd:
        """Connect ``client`` (it reaches CONNECTED) and accept its connection."""
        connect(client, "127.0.0.1", self.port)
        sock, _ = self.sock.accept()
        end = ServerEnd(sock)
        self.ends.append(end)
        return end

    def close(self) -> None:
        for end in self.ends:
            end.sock.close()
        self.ends.clear()


@pytest.fixture
def listener() -> Iterator[Listener]:
    made = Listener()
    try:
        yield made
    finally:
        made.close()
        made.sock.close()


# -- steps and checks --------------------------------------------------------------------------


def client_fd(client: HTTPClient) -> int:
    stream = client.get_connection()
    assert stream is not None
    return stream.fileno()


def send_request(client: HTTPClient, end: ServerEnd, method: int = GET, path: str = "/") -> None:
    assert client.request(method, path, []) == Error.OK, client.get_last_error()
    end.read_request(client)


def take_what_came(client: HTTPClient, timeout: float = 5.0) -> bytes:
    """After bytes were sent: let the client read and parse all it can of them.

    Waits for them to reach the client's socket, then polls and reads while the response
    is under way and the socket still has bytes. Returns the body bytes read.
    """
    body = b""
    if client.get_status() not in (REQUESTING, BODY):
        return body
    assert readable(client_fd(client), timeout), "the bytes sent did not arrive"
    deadline = time.monotonic() + timeout
    while client.get_status() in (REQUESTING, BODY) and readable(client_fd(client), 0):
        assert time.monotonic() < deadline, "the client did not take the bytes"
        client.poll()
        body += client.read_response_body_chunk()
    return body


def finish_response(client: HTTPClient) -> bytes:
    """Poll through REQUESTING and read the body (every byte has been sent)."""
    poll_while_waiting(client)
    return read_body(client)


def deliver_in_two_writes(client: HTTPClient, end: ServerEnd, wire: bytes, split: int) -> bytes:
    """Send ``wire[:split]``, let the client take all it can of it, then send the rest.

    Returns the body bytes read up to the end of the response.
    """
    end.send(wire[:split])
    body = take_what_came(client) if split else b""
    end.send(wire[split:])
    return body + finish_response(client)


def check_response(client: HTTPClient, answer: Answer, body: bytes) -> None:
    """The complete response is readable and correct, whatever happened after it."""
    error = client.get_last_error()
    assert client.get_response_code() == answer.code, error
    assert client.get_response_headers() == list(answer.headers), error
    assert body == answer.body, error
    assert client.get_response_trailers() == list(answer.trailers)
    assert client.get_informational_responses() == list(answer.informational)


def says_stray_bytes_followed_the_response(error: object) -> None:
    assert isinstance(error, RemoteProtocolError), repr(error)
    message = str(error)
    assert "unsolicited" in message or "extra" in message, message
    assert "response" in message, message


def check_refused_and_nothing_sent(client: HTTPClient, end: ServerEnd) -> None:
    """DISCONNECTED for good: request() is refused, and the server saw nothing more."""
    requests = len(end.requests)
    assert client.get_status() is DISCONNECTED, client.get_last_error()
    assert client.request(GET, "/second", []) == Error.ERR_INVALID_PARAMETER
    assert client.get_status() is DISCONNECTED
    client.poll()
    assert client.get_status() is DISCONNECTED
    assert end.sent_after_the_requests() == b""
    assert len(end.requests) == requests


def wait_for_the_stray_bytes(client: HTTPClient) -> None:
    """Everything was sent: wait (bounded) until it reaches the idle client's socket."""
    assert client.get_status() is CONNECTED
    assert readable(client_fd(client), 5.0), "the stray bytes did not arrive"


def move_on(client: HTTPClient, end: ServerEnd, how: str) -> None:
    """Go on after the response as a caller would, with ``poll()`` or a second ``request()``.

    If the client read the stray bytes with the response it is DISCONNECTED already, with a
    RemoteProtocolError; if it left them on the socket, that call finds them there.
    Either way the connection is dropped, and no second request goes out.
    """
    if client.get_status() is CONNECTED:
        wait_for_the_stray_bytes(client)
        if how == "poll":
            client.poll()
        else:
            assert client.request(GET, "/second", []) == Error.ERR_CONNECTION_ERROR
        assert client.get_status() is DISCONNECTED
        assert isinstance(client.get_last_error(), StaleConnectionError)
    else:
        assert client.get_status() is DISCONNECTED, client.get_last_error()
        says_stray_bytes_followed_the_response(client.get_last_error())
    check_refused_and_nothing_sent(client, end)


@contextmanager
def at_split(split: int) -> Iterator[None]:
    """Name the split point in a failure."""
    try:
        yield
    except AssertionError as exc:
        raise AssertionError(f"split at byte {split}: {exc}") from exc


# -- stray bytes in the same write as the response ---------------------------------------------


@pytest.mark.parametrize("answer", ANSWERS)
def test_stray_response_in_the_same_write_is_read_then_the_connection_is_closed(
    listener, client, answer
):
    end = listener.connect(client)
    send_request(client, end, answer.method)
    end.send(answer.wire + EVIL)
    body = finish_response(client)
    check_response(client, answer, body)
    assert client.get_status() is DISCONNECTED, client.get_last_error()
    says_stray_bytes_followed_the_response(client.get_last_error())
    # The response stays readable after the close, and poll() changes nothing.
    client.poll()
    assert client.get_status() is DISCONNECTED
    check_response(client, answer, body)
    check_refused_and_nothing_sent(client, end)


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
def test_stray_bytes_of_any_kind_close_the_connection(listener, client, stray):
    end = listener.connect(client)
    send_request(client, end)
    end.send(CL5 + stray)
    assert finish_response(client) == b"hello"
    assert client.get_response_code() == 200
    assert client.get_status() is DISCONNECTED, client.get_last_error()
    says_stray_bytes_followed_the_response(client.get_last_error())
    check_refused_and_nothing_sent(client, end)


@pytest.mark.parametrize("read_chunk_size", [1, 3, 4096])
@pytest.mark.parametrize("how", ["poll", "request"])
@pytest.mark.parametrize("name", ["content-length", "chunked-with-trailers"])
def test_whatever_the_read_size_the_stray_response_never_answers_a_second_request(
    listener, client, name, how, read_chunk_size
):
    answer = BY_NAME[name]
    client.read_chunk_size = read_chunk_size
    end = listener.connect(client)
    send_request(client, end)
    end.send(answer.wire + EVIL)
    check_response(client, answer, finish_response(client))
    move_on(client, end, how)


# -- every split point into two writes -----------------------------------------------------------


@pytest.mark.parametrize("how", ["poll", "request"])
@pytest.mark.parametrize("answer", ANSWERS)
def test_at_every_split_into_two_writes_the_stray_response_never_answers_a_second_request(
    listener, answer, how
):
    """The response and EVIL, split at every byte; the client reads the first piece before
    the second is sent. Bytes that came with the end of the response close the connection
    at once; bytes left for later are found by the next ``poll()`` or ``request()``."""
    wire = answer.wire + EVIL
    for split in range(len(wire) + 1):
        client = HTTPClient()
        try:
            with at_split(split):
                end = listener.connect(client)
                send_request(client, end, answer.method)
                check_response(client, answer, deliver_in_two_writes(client, end, wire, split))
                move_on(client, end, how)
        finally:
            client.close()
            listener.close()


# -- not stray bytes: a 1xx and its final response, a tunnel -------------------------------------


@pytest.mark.parametrize(
    ("wire", "informational"),
    [
        pytest.param(CONTINUE + CL5, [(100, [])], id="100-continue"),
        pytest.param(EARLY_HINTS + CL5, [(103, [LINK])], id="103-early-hints"),
    ],
)
def test_interim_and_final_response_are_one_exchange_at_every_split(listener, wire, informational):
    for split in range(len(wire) + 1):
        client = HTTPClient()
        try:
            with at_split(split):
                end = listener.connect(client)
                send_request(client, end)
                assert deliver_in_two_writes(client, end, wire, split) == b"hello"
                assert client.get_informational_responses() == informational
                assert client.get_status() is CONNECTED, client.get_last_error()
                # The same connection carries the next exchange.
                assert client.poll() == Error.OK
                assert client.get_status() is CONNECTED, client.get_last_error()
                send_request(client, end, path="/second")
                end.send(SECOND)
                assert finish_response(client) == b"second"
                assert client.get_status() is CONNECTED
                assert len(listener.ends) == 1
        finally:
            client.close()
            listener.close()


@pytest.mark.parametrize(
    ("method", "target", "headers", "head"),
    [
        pytest.param(
            GET,
            "/",
            ["Connection: Upgrade", "Upgrade: example/1"],
            SWITCH,
            id="101-switching-protocols",
        ),
        pytest.param(
            HTTPClient.METHOD_CONNECT,
            "example.test:443",
            [],
            b"HTTP/1.1 200 Connection Established\r\n\r\n",
            id="2xx-to-connect",
        ),
    ],
)
def test_bytes_after_a_tunnel_opens_belong_to_the_caller(
    listener, client, method, target, headers, head
):
    """After a 101 or a 2xx to CONNECT the connection carries another protocol: bytes on
    it, with the head or later, are the caller's, and polling does not drop them."""
    end = listener.connect(client)
    assert client.request(method, target, headers) == Error.OK
    end.read_request(client)
    end.send(head + b"first ")
    poll_while_waiting(client)
    assert client.get_status() is CONNECTED, client.get_last_error()
    end.send(b"then more")
    assert readable(client_fd(client), 5.0)
    for _ in range(3):
        assert client.poll() == Error.OK
        assert client.get_status() is CONNECTED, client.get_last_error()
    stream = client.get_connection()
    assert stream is not None
    received = b""
    deadline = time.monotonic() + 5.0
    while received != b"first then more":
        assert time.monotonic() < deadline, received
        err, piece = stream.get_partial_data(100)
        assert err == Error.OK, (err, received)
        received += piece


# -- bytes or a close on the idle connection ----------------------------------------------------

WHEN = [
    pytest.param(None, id="before-any-request"),
    *(
        pytest.param(name, id=f"after-a-{name}-response")
        for name in ("content-length", "chunked-with-trailers", "head-with-content-length", "204")
    ),
]


def become_idle(listener: Listener, client: HTTPClient, name: str | None) -> ServerEnd:
    """Connect; then, unless ``name`` is None, complete that exchange and be CONNECTED."""
    end = listener.connect(client)
    if name is not None:
        answer = BY_NAME[name]
        send_request(client, end, answer.method)
        end.send(answer.wire)
        check_response(client, answer, finish_response(client))
    assert client.get_status() is CONNECTED, client.get_last_error()
    # Nothing is waiting: polls keep the connection.
    for _ in range(3):
        assert client.poll() == Error.OK
        assert client.get_status() is CONNECTED
    return end


@pytest.mark.parametrize("when", WHEN)
def test_bytes_on_the_idle_connection_are_noticed_by_the_next_poll(listener, client, when):
    end = become_idle(listener, client, when)
    end.send(EVIL)
    wait_for_the_stray_bytes(client)
    client.poll()
    assert client.get_status() is DISCONNECTED, client.get_last_error()
    assert isinstance(client.get_last_error(), StaleConnectionError), client.get_last_error()
    if when is not None:
        answer = BY_NAME[when]
        assert client.get_response_code() == answer.code
        assert client.get_response_headers() == list(answer.headers)
    check_refused_and_nothing_sent(client, end)


@pytest.mark.parametrize("when", WHEN)
def test_bytes_on_the_idle_connection_stop_the_next_request_and_nothing_is_sent(
    listener, client, when
):
    end = become_idle(listener, client, when)
    end.send(EVIL)
    wait_for_the_stray_bytes(client)
    assert client.request(GET, "/second", ["X-Second: 1"]) == Error.ERR_CONNECTION_ERROR
    assert client.get_status() is DISCONNECTED
    assert isinstance(client.get_last_error(), StaleConnectionError), client.get_last_error()
    check_refused_and_nothing_sent(client, end)


@pytest.mark.parametrize("when", WHEN)
def test_a_quiet_idle_connection_carries_the_next_request_at_once(listener, client, when):
    """The look at the idle connection neither blocks nor drops a good connection."""
    end = become_idle(listener, client, when)
    started = time.monotonic()
    for _ in range(10):
        assert client.poll() == Error.OK
    assert client.request(GET, "/second", []) == Error.OK, client.get_last_error()
    # Microseconds when nothing waits; a check that waited for data would take seconds.
    assert time.monotonic() - started < 1.0
    assert end.read_request(client).startswith(b"GET /second HTTP/1.1\r\n")
    end.send(SECOND)
    assert finish_response(client) == b"second"
    assert client.get_status() is CONNECTED, client.get_last_error()
    assert len(listener.ends) == 1


def close_idle(end: ServerEnd, how: str) -> None:
    if how == "shutdown":
        end.sock.shutdown(socket.SHUT_WR)  # FIN; the server still sees what comes
    else:
        end.sock.close()


@pytest.mark.parametrize("how", ["shutdown", "close"])
@pytest.mark.parametrize("when", WHEN)
def test_server_closing_the_idle_connection_is_noticed_by_the_next_poll(
    listener, client, when, how
):
    end = become_idle(listener, client, when)
    fd = client_fd(client)
    close_idle(end, how)
    assert readable(fd, 5.0), "the close did not arrive"
    client.poll()
    assert client.get_status() is DISCONNECTED, client.get_last_error()
    assert client.request(GET, "/second", []) == Error.ERR_INVALID_PARAMETER
    assert client.get_status() is DISCONNECTED


@pytest.mark.parametrize("when", WHEN)
def test_server_closing_the_idle_connection_stops_the_next_request_and_nothing_is_sent(
    listener, client, when
):
    end = become_idle(listener, client, when)
    fd = client_fd(client)
    close_idle(end, "shutdown")
    assert readable(fd, 5.0), "the close did not arrive"
    assert client.request(GET, "/second", []) == Error.ERR_CONNECTION_ERROR
    assert client.get_status() is DISCONNECTED
    assert isinstance(client.get_last_error(), StaleConnectionError), client.get_last_error()
    check_refused_and_nothing_sent(client, end)


# -- over TLS ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def leaf(ca: trustme.CA) -> trustme.LeafCert:
    return ca.issue_cert("127.0.0.1")


def connect_tls(client: HTTPClient, port: int, ca: trustme.CA) -> None:
    options = TLSOptions.client(ca_certificate(ca))
    assert client.connect_to_host("127.0.0.1", port, options) == Error.OK
    poll_while_waiting(client)
    assert client.get_status() is CONNECTED, client.get_last_error()


def get_over_tls(client: HTTPClient, answer: Answer) -> None:
    assert client.request(answer.method, "/", []) == Error.OK
    check_response(client, answer, finish_response(client))


def nothing_more_sent(server: TLSServer) -> None:
    """The script's last step reads a request: it ends when the client closes instead."""
    wait_for(lambda: server.endings)
    assert len(server.requests) == 1, server.requests


@pytest.mark.parametrize("name", ["content-length", "chunked-with-trailers", "204"])
def test_stray_response_over_tls_in_the_same_write_closes_the_connection(client, ca, leaf, name):
    answer = BY_NAME[name]
    script: list[Step] = [Read(), Send(answer.wire + EVIL), Read()]
    with TLSServer([script], server_context(leaf=leaf)) as server:
        connect_tls(client, server.port, ca)
        get_over_tls(client, answer)
        assert client.get_status() is DISCONNECTED, client.get_last_error()
        says_stray_bytes_followed_the_response(client.get_last_error())
        assert client.request(GET, "/second", []) == Error.ERR_INVALID_PARAMETER
        nothing_more_sent(server)
    assert server.connections == 1


@pytest.mark.parametrize("how", ["poll", "request"])
def test_stray_response_over_tls_after_the_response_was_read_drops_the_connection(
    client, ca, leaf, how
):
    answer = BY_NAME["content-length"]
    go = threading.Event()
    script: list[Step] = [Read(), Send(answer.wire), Wait(go), Send(EVIL), Read()]
    with TLSServer([script], server_context(leaf=leaf)) as server:
        connect_tls(client, server.port, ca)
        get_over_tls(client, answer)
        assert client.get_status() is CONNECTED, client.get_last_error()
        go.set()
        if how == "poll":
            poll_until(client, lambda c: c.get_status() is not CONNECTED)
        else:
            wait_for_the_stray_bytes(client)
            assert client.request(GET, "/second", []) == Error.ERR_CONNECTION_ERROR
        assert client.get_status() is DISCONNECTED, client.get_last_error()
        assert isinstance(client.get_last_error(), StaleConnectionError), client.get_last_error()
        assert client.request(GET, "/second", []) == Error.ERR_INVALID_PARAMETER
        nothing_more_sent(server)
    assert server.connections == 1
