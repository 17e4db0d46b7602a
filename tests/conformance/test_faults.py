"""Faults: resets in every phase, half-closes, trickles and slowloris servers.

Each fault ends in the documented status and ``Error`` for HTTPClient and in the documented
``Result`` for HTTPRequest (with ``timeout``/``stall_timeout`` for servers that stop
talking). Every ``poll()`` (and body read) is timed: no single call may take 50 ms or more,
whatever the server does.
"""

from __future__ import annotations

import contextlib
import gc
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import trustme

from pollhttp import (
    ConnectError,
    Error,
    HTTPClient,
    HTTPRequest,
    IncompleteBodyError,
    NetworkError,
    NoResponseError,
    RemoteProtocolError,
    Result,
    Status,
    TLSHandshakeError,
    TLSOptions,
)

from ..support.servers import (
    Close,
    Pause,
    Read,
    Reset,
    ScriptedServer,
    Send,
    ShutdownWrite,
    Step,
    Trickle,
)
from ..support.tls import ReadRaw, TLSServer, ca_certificate
from .common import head

#: The most one poll() or body read may take, whatever the server does.
CALL_LIMIT = 0.05
WAITING = (Status.STATUS_RESOLVING, Status.STATUS_CONNECTING, Status.STATUS_REQUESTING)
RESPONSE = head("HTTP/1.1 200 OK", "Content-Length: 10", body=b"0123456789")


@contextlib.contextmanager
def measured(wall: list[float], cpu: list[float]) -> Iterator[None]:
    """Record the wall-clock and thread CPU time of one call."""
    start, start_cpu = time.perf_counter(), time.thread_time()
    yield
    wall.append(time.perf_counter() - start)
    cpu.append(time.thread_time() - start_cpu)


def assert_bounded(wall: list[float], cpu: list[float]) -> None:
    """Every call took less than CALL_LIMIT.

    The CPU time of every call is under the limit. The wall-clock time of every call is too,
    but for one call at most, which may reach 0.5 s: CI machines are shared, and the
    scheduler can take the CPU away from any call. A call that blocks on the network would
    block on every call that waits, and the server scripts here wait for seconds.
    """
    assert wall, "nothing was called"
    assert max(cpu) < CALL_LIMIT, sorted(cpu)[-5:]
    slow = sorted(w for w in wall if w >= CALL_LIMIT)
    assert len(slow) <= 1, slow
    assert not slow or slow[0] < 0.5, slow


@pytest.fixture(autouse=True)
def _no_collector_pauses() -> Iterator[None]:
    """Time pollhttp's work, not a full garbage collection of the test process."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@dataclass
class Timed:
    """An HTTPClient whose every poll() and body read is timed."""

    client: HTTPClient
    durations: list[float] = field(default_factory=list)
    polls: list[Error] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    requested: bool = False
    final: Error = Error.OK

    def poll(self) -> Error:
        with measured(self.durations, self.cpu):
            result = self.client.poll()
        self.polls.append(result)
        return result

    def read(self) -> bytes:
        with measured(self.durations, self.cpu):
            data = self.client.read_response_body_chunk()
        self.body += data
        return data

    def run(
        self,
        port: int,
        *,
        method: int = HTTPClient.METHOD_GET,
        body: bytes = b"",
        options: TLSOptions | None = None,
        until: float = 5.0,
    ) -> None:
        """Connect, send one request, read the body: until an end state or ``until`` s."""
        client = self.client
        assert client.connect_to_host("127.0.0.1", port, options) == Error.OK
        deadline = time.monotonic() + until
        while time.monotonic() < deadline:
            status = client.get_status()
            if status in WAITING:
                self.poll()
                if client.get_status() == status:
                    client.wait(0.01)
            elif status == Status.STATUS_CONNECTED and not self.requested:
                assert client.request_raw(method, "/", [], body) == Error.OK
                self.requested = True
            elif status == Status.STATUS_BODY:
                self.poll()
                if not self.read():
                    client.wait(0.01)
            else:
                break
        self.final = self.poll()

    def assert_fast(self) -> None:
        assert_bounded(self.durations, self.cpu)


def timed_client(**settings: object) -> Timed:
    client = HTTPClient()
    client.connect_timeout = 2.0
    for name, value in settings.items():
        setattr(client, name, value)
    return Timed(client)


@dataclass
class TimedRequest:
    req: HTTPRequest
    durations: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    completions: list[tuple] = field(default_factory=list)
    uploads: list[tuple[int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.req.request_completed.connect(lambda *args: self.completions.append(args))
        self.req.upload_progress.connect(lambda *args: self.uploads.append(args))

    def complete(
        self,
        url: str,
        timeout: float = 5.0,
        method: int = HTTPClient.METHOD_GET,
        request_data: bytes = b"",
    ) -> tuple:
        started = time.monotonic()
        assert self.req.request_raw(url, [], method, request_data) == Error.OK
        deadline = started + timeout
        while not self.completions:
            assert time.monotonic() < deadline, "no completion"
            with measured(self.durations, self.cpu):
                self.req.poll()
            if not self.completions:
                self.req.wait(0.01)
        self.elapsed = time.monotonic() - started
        return self.completions[0]

    def assert_fast(self) -> None:
        assert_bounded(self.durations, self.cpu)


def timed_request(**settings: object) -> TimedRequest:
    req = HTTPRequest()
    for name, value in settings.items():
        setattr(req, name, value)
    return TimedRequest(req)


# -- resets in each phase -------------------------------------------------------------------------

RESETS = [
    # (id, script, HTTPClient statuses accepted, HTTPRequest results accepted)
    pytest.param(
        [Reset()],
        {Status.STATUS_CONNECTION_ERROR, Status.STATUS_CANT_CONNECT},
        {Result.RESULT_CONNECTION_ERROR, Result.RESULT_CANT_CONNECT},
        b"",
        id="F-reset-at-accept",
    ),
    pytest.param(
        [Read(), Reset()],
        {Status.STATUS_CONNECTION_ERROR},
        {Result.RESULT_CONNECTION_ERROR},
        b"",
        id="F-reset-after-the-request",
    ),
    pytest.param(
        [Read(), Send(b"HTTP/1.1 200 OK\r\nContent-"), Pause(0.02), Reset()],
        {Status.STATUS_CONNECTION_ERROR},
        {Result.RESULT_CONNECTION_ERROR},
        b"",
        id="F-reset-in-the-head",
    ),
    pytest.param(
        [
            Read(),
            Send(head("HTTP/1.1 200 OK", "Content-Length: 100", body=b"0123456789")),
            Pause(0.02),
            Reset(),
        ],
        {Status.STATUS_CONNECTION_ERROR},
        {Result.RESULT_CONNECTION_ERROR},
        b"0123456789",
        id="F-reset-in-the-body",
    ),
    pytest.param(
        [
            Read(),
            Send(
                head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked", body=b"a\r\n0123456789\r\n")
            ),
            Pause(0.02),
            Reset(),
        ],
        {Status.STATUS_CONNECTION_ERROR},
        {Result.RESULT_CONNECTION_ERROR},
        b"0123456789",
        id="F-reset-in-a-chunked-body",
    ),
    pytest.param(
        [Read(), Send(head("HTTP/1.1 200 OK", body=b"0123456789")), Pause(0.02), Reset()],
        {Status.STATUS_CONNECTION_ERROR},
        {Result.RESULT_CONNECTION_ERROR},
        b"0123456789",
        id="F-reset-ends-a-close-delimited-body",
    ),
]


@pytest.mark.parametrize(("script", "statuses", "results", "body"), RESETS)
def test_reset(script: list[Step], statuses, results, body: bytes) -> None:
    with ScriptedServer([script]) as server:
        timed = timed_client()
        try:
            timed.run(server.port)
            status = timed.client.get_status()
            error = timed.client.get_last_error()
            assert status in statuses, (status, error)
            expected = (
                Error.ERR_CANT_CONNECT
                if status == Status.STATUS_CANT_CONNECT
                else Error.ERR_CONNECTION_ERROR
            )
            assert timed.final == expected
            assert isinstance(error, (NetworkError, ConnectError)), repr(error)
            # What arrived before the reset may be returned, never more than was sent.
            assert body.startswith(timed.body)
            timed.assert_fast()
        finally:
            timed.client.close()
    with ScriptedServer([script]) as server:
        timed_req = timed_request()
        try:
            result = timed_req.complete(f"http://127.0.0.1:{server.port}/")
        finally:
            timed_req.req.close()
        assert result[0] in results, timed_req.req.get_last_error()
        assert result[1:] == (0, [], b"")
        timed_req.assert_fast()


def test_refused_connection() -> None:
    """Nothing listens: CANT_CONNECT / ERR_CANT_CONNECT; RESULT_CANT_CONNECT."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    timed = timed_client()
    try:
        timed.run(port)
        assert timed.client.get_status() == Status.STATUS_CANT_CONNECT
        assert timed.final == Error.ERR_CANT_CONNECT
        assert isinstance(timed.client.get_last_error(), ConnectError)
        timed.assert_fast()
    finally:
        timed.client.close()
    timed_req = timed_request()
    try:
        assert timed_req.complete(f"http://127.0.0.1:{port}/") == (
            Result.RESULT_CANT_CONNECT,
            0,
            [],
            b"",
        )
    finally:
        timed_req.req.close()


def test_reset_while_a_large_upload_is_written() -> None:
    """The server resets while a 32 MiB body is being written: each poll() writes only what
    the socket takes, and the reset ends the request with a connection error."""
    upload = b"u" * (32 * 1024 * 1024)
    with ScriptedServer([[Pause(0.1), Reset()]]) as server:
        timed = timed_client()
        try:
            timed.run(server.port, method=HTTPClient.METHOD_POST, body=upload)
            assert timed.client.get_status() == Status.STATUS_CONNECTION_ERROR
            assert timed.final == Error.ERR_CONNECTION_ERROR
            assert isinstance(timed.client.get_last_error(), NetworkError)
            timed.assert_fast()
        finally:
            timed.client.close()
    with ScriptedServer([[Pause(0.1), Reset()]]) as server:
        timed_req = timed_request()
        try:
            url = f"http://127.0.0.1:{server.port}/"
            result = timed_req.complete(url, method=HTTPClient.METHOD_POST, request_data=upload)
        finally:
            timed_req.req.close()
        assert result == (Result.RESULT_CONNECTION_ERROR, 0, [], b"")
        assert isinstance(timed_req.req.get_last_error(), NetworkError)
        sent, total = timed_req.uploads[-1]
        assert total > len(upload)
        assert sent < total
        timed_req.assert_fast()


# -- TLS handshake faults -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        pytest.param([Reset()], None, id="F-tls-reset-at-accept"),
        pytest.param([Pause(0.05), Reset()], None, id="F-tls-reset-after-client-hello"),
        pytest.param([Pause(0.05), Close()], None, id="F-tls-closed-after-client-hello"),
        pytest.param(
            [Pause(0.05), Send(b"HTTP/1.1 400 Bad Request\r\n\r\n"), Close()],
            None,
            id="F-tls-answered-in-plain-http",
        ),
    ],
)
def test_tls_handshake_cut(ca: trustme.CA, script: list[Step], reason) -> None:
    options = TLSOptions.client(ca_certificate(ca))
    with ScriptedServer([script]) as server:
        timed = timed_client()
        try:
            timed.run(server.port, options=options)
            status = timed.client.get_status()
            error = timed.client.get_last_error()
            if status == Status.STATUS_CONNECTION_ERROR:
                # A reset can land before the TCP connect is seen complete... never after
                # the handshake: the client is never CONNECTED without TLS.
                pytest.fail(f"unexpected {status}: {error!r}")
            assert status in (Status.STATUS_TLS_HANDSHAKE_ERROR, Status.STATUS_CANT_CONNECT), error
            assert timed.final == Error.ERR_CANT_CONNECT
            assert isinstance(error, ConnectError)
            timed.assert_fast()
        finally:
            timed.client.close()
    with ScriptedServer([script]) as server:
        timed_req = timed_request()
        timed_req.req.set_tls_options(options)
        try:
            result = timed_req.complete(f"https://127.0.0.1:{server.port}/")
        finally:
            timed_req.req.close()
        assert result[0] in (Result.RESULT_TLS_HANDSHAKE_ERROR, Result.RESULT_CANT_CONNECT)
        timed_req.assert_fast()


def test_tls_server_that_never_answers(ca: trustme.CA) -> None:
    """Slowloris in the handshake: TLS_HANDSHAKE_ERROR "timed out" after connect_timeout."""
    with TLSServer([[ReadRaw(), Pause(5)]], context=None) as server:
        timed = timed_client(connect_timeout=0.3)
        try:
            started = time.monotonic()
            timed.run(server.port, options=TLSOptions.client(ca_certificate(ca)))
            elapsed = time.monotonic() - started
            assert timed.client.get_status() == Status.STATUS_TLS_HANDSHAKE_ERROR
            assert timed.final == Error.ERR_CANT_CONNECT
            error = timed.client.get_last_error()
            assert isinstance(error, TLSHandshakeError)
            assert error.reason == "timed out"
            assert 0.3 <= elapsed < 1.5
            timed.assert_fast()
        finally:
            timed.client.close()


# -- half-closes ----------------------------------------------------------------------------------

HALF_CLOSES = [
    pytest.param(
        [Read(), ShutdownWrite()],
        NoResponseError,
        Result.RESULT_NO_RESPONSE,
        b"",
        id="F-half-close-before-the-response",
    ),
    pytest.param(
        [Read(), Send(b"HTTP/1.1 200 OK\r\nContent-Le"), ShutdownWrite()],
        RemoteProtocolError,
        Result.RESULT_CONNECTION_ERROR,
        b"",
        id="F-half-close-in-the-head",
    ),
    pytest.param(
        [
            Read(),
            Send(head("HTTP/1.1 200 OK", "Content-Length: 20", body=b"0123456789")),
            ShutdownWrite(),
        ],
        IncompleteBodyError,
        Result.RESULT_CONNECTION_ERROR,
        b"0123456789",
        id="F-half-close-in-the-body",
    ),
    pytest.param(
        [
            Read(),
            Send(head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked", body=b"a\r\n0123456789")),
            ShutdownWrite(),
        ],
        IncompleteBodyError,
        Result.RESULT_CONNECTION_ERROR,
        b"0123456789",
        id="F-half-close-after-a-chunk",
    ),
]


@pytest.mark.parametrize(("script", "exc", "result", "body"), HALF_CLOSES)
def test_half_close(script: list[Step], exc: type, result: Result, body: bytes) -> None:
    with ScriptedServer([script]) as server:
        timed = timed_client()
        try:
            timed.run(server.port)
            assert timed.client.get_status() == Status.STATUS_CONNECTION_ERROR
            assert timed.final == Error.ERR_CONNECTION_ERROR
            assert type(timed.client.get_last_error()) is exc, repr(timed.client.get_last_error())
            assert timed.body == body
            timed.assert_fast()
        finally:
            timed.client.close()
    with ScriptedServer([script]) as server:
        timed_req = timed_request()
        try:
            assert timed_req.complete(f"http://127.0.0.1:{server.port}/") == (result, 0, [], b"")
        finally:
            timed_req.req.close()
        timed_req.assert_fast()


# -- trickles -------------------------------------------------------------------------------------

TRICKLED = head(
    "HTTP/1.1 200 OK",
    "Transfer-Encoding: chunked",
    "X-A: 1",
    body=b"3\r\nabc\r\n4;x=y\r\ndefg\r\n0\r\nX-T: 2\r\n\r\n",
)


@pytest.mark.parametrize("delay", [0.0, 0.001], ids=["F-trickle-fast", "F-trickle-1ms"])
def test_trickle_one_byte_at_a_time(delay: float) -> None:
    with ScriptedServer([[Read(), Trickle(TRICKLED, delay)]]) as server:
        timed = timed_client()
        try:
            timed.run(server.port)
            assert timed.client.get_status() == Status.STATUS_CONNECTED, (
                timed.client.get_last_error()
            )
            assert timed.body == b"abcdefg"
            assert timed.client.get_response_trailers() == ["X-T: 2"]
            assert set(timed.polls) == {Error.OK}
            timed.assert_fast()
        finally:
            timed.client.close()
    with ScriptedServer([[Read(), Trickle(TRICKLED, delay)]]) as server:
        timed_req = timed_request(stall_timeout=1.0)
        try:
            result = timed_req.complete(f"http://127.0.0.1:{server.port}/")
        finally:
            timed_req.req.close()
        assert (result[0], result[1], result[3]) == (Result.RESULT_SUCCESS, 200, b"abcdefg")
        timed_req.assert_fast()


# -- slowloris: a slow head, then silence ---------------------------------------------------------

SLOW_HEAD = [Read(), Trickle(b"HTTP/1.1 200 OK\r\nX-Slow: ", 0.01), Pause(10)]
SLOW_BODY = [
    Read(),
    Send(head("HTTP/1.1 200 OK", "Content-Length: 100")),
    Trickle(b"0123456789", 0.05),
    Pause(10),
]


@pytest.mark.parametrize(
    "script", [SLOW_HEAD, SLOW_BODY], ids=["F-slowloris-head", "F-slowloris-body"]
)
def test_slowloris_client_stays_responsive(script: list[Step]) -> None:
    """HTTPClient has no read timeout of its own: it stays in REQUESTING/BODY, every poll()
    returns OK at once, and close() ends it at once. The caller's deadline decides."""
    with ScriptedServer([script]) as server:
        timed = timed_client()
        try:
            timed.run(server.port, until=0.3)
            assert timed.client.get_status() in (Status.STATUS_REQUESTING, Status.STATUS_BODY)
            assert set(timed.polls) == {Error.OK}
            timed.assert_fast()
            started = time.perf_counter()
            timed.client.close()
            assert time.perf_counter() - started < CALL_LIMIT
            assert timed.client.get_status() == Status.STATUS_DISCONNECTED
        finally:
            timed.client.close()


@pytest.mark.parametrize(
    "script", [SLOW_HEAD, SLOW_BODY], ids=["F-slowloris-head", "F-slowloris-body"]
)
def test_slowloris_request_timeout(script: list[Step]) -> None:
    """HTTPRequest.timeout ends the whole request after that many real seconds."""
    with ScriptedServer([script]) as server:
        timed_req = timed_request(timeout=0.25)
        try:
            result = timed_req.complete(f"http://127.0.0.1:{server.port}/")
        finally:
            timed_req.req.close()
    assert result == (Result.RESULT_TIMEOUT, 0, [], b"")
    assert 0.25 <= timed_req.elapsed < 0.8
    timed_req.assert_fast()


def test_slowloris_stall_timeout_counts_silence_not_time() -> None:
    """stall_timeout: a server trickling a byte every 50 ms for 0.4 s is not stalled
    (stall_timeout 0.15 s); once it goes silent, the request fails 0.15 s later."""
    script = [
        Read(),
        Send(head("HTTP/1.1 200 OK", "Content-Length: 100")),
        Trickle(b"01234567", 0.05),
        Pause(10),
    ]
    with ScriptedServer([script]) as server:
        timed_req = timed_request(stall_timeout=0.15)
        try:
            result = timed_req.complete(f"http://127.0.0.1:{server.port}/")
        finally:
            timed_req.req.close()
    assert result == (Result.RESULT_TIMEOUT, 0, [], b"")
    assert timed_req.req.get_downloaded_bytes() == 8
    assert 0.5 <= timed_req.elapsed < 1.5, timed_req.elapsed
    timed_req.assert_fast()


def test_wait_returns_at_once_when_a_read_can_progress() -> None:
    """wait() sleeps only when nothing can progress: a small response read whole with its
    head is in the client already, so wait() in BODY must return at once."""
    with ScriptedServer([[Read(), Send(RESPONSE)]]) as server:
        client = HTTPClient()
        try:
            assert client.connect_to_host("127.0.0.1", server.port) == Error.OK
            deadline = time.monotonic() + 5
            while client.get_status() != Status.STATUS_CONNECTED:
                assert time.monotonic() < deadline
                client.poll()
            assert client.request(HTTPClient.METHOD_GET, "/", []) == Error.OK
            while client.get_status() == Status.STATUS_REQUESTING:
                assert time.monotonic() < deadline
                client.poll()
                if client.get_status() == Status.STATUS_REQUESTING:
                    client.wait(0.05)
            assert client.get_status() == Status.STATUS_BODY
            started = time.perf_counter()
            assert client.wait(1.0) is True
            waited = time.perf_counter() - started
            assert client.read_response_body_chunk() == b"0123456789"
        finally:
            client.close()
    assert waited < CALL_LIMIT, waited


def test_timeout_in_threads_mode_is_reported_at_once() -> None:
    """Godot §7.1.14-15: in threads mode a timeout is reported by the caller's poll() at
    once, and cancel_request() never joins (never blocks)."""
    with ScriptedServer([SLOW_HEAD]) as server:
        timed_req = timed_request(timeout=0.3, use_threads=True)
        try:
            result = timed_req.complete(f"http://127.0.0.1:{server.port}/")
            assert result == (Result.RESULT_TIMEOUT, 0, [], b"")
            assert 0.3 <= timed_req.elapsed < 0.8
            timed_req.assert_fast()
            timed_req.req.timeout = 0
            assert timed_req.req.request(f"http://127.0.0.1:{server.port}/") == Error.OK
            timed_req.req.poll()
            started = time.perf_counter()
            timed_req.req.cancel_request()
            assert time.perf_counter() - started < CALL_LIMIT
            assert timed_req.req.poll() == Error.ERR_UNCONFIGURED
        finally:
            timed_req.req.close()
    assert len(timed_req.completions) == 1


# -- a fast, large body: the per-call budget ------------------------------------------------------


def test_large_fast_body_each_call_is_bounded(tmp_path) -> None:
    """64 MiB as fast as loopback goes: every HTTPClient read returns at most read_chunk_size
    and every HTTPRequest.poll() stays within its budget (well under 50 ms), both into a
    download file and (16 MiB, whose final join is part of the last poll) into memory."""
    size = 64 * 1024 * 1024
    data = head("HTTP/1.1 200 OK", f"Content-Length: {size}") + b"x" * size
    with ScriptedServer([[Read(), Send(data)]]) as server:
        timed = timed_client()
        try:
            timed.run(server.port, until=20.0)
            assert timed.client.get_status() == Status.STATUS_CONNECTED
            assert len(timed.body) == size
            timed.assert_fast()
        finally:
            timed.client.close()
    target = tmp_path / "big.bin"
    with ScriptedServer([[Read(), Send(data)]]) as server:
        timed_req = timed_request(download_file=str(target))
        try:
            result = timed_req.complete(f"http://127.0.0.1:{server.port}/", timeout=20.0)
        finally:
            timed_req.req.close()
    assert result[:2] == (Result.RESULT_SUCCESS, 200)
    assert target.stat().st_size == size
    timed_req.assert_fast()
    size = 16 * 1024 * 1024
    data = head("HTTP/1.1 200 OK", f"Content-Length: {size}") + b"y" * size
    with ScriptedServer([[Read(), Send(data)]]) as server:
        timed_req = timed_request()
        try:
            result = timed_req.complete(f"http://127.0.0.1:{server.port}/", timeout=20.0)
        finally:
            timed_req.req.close()
    assert (result[0], len(result[3])) == (Result.RESULT_SUCCESS, size)
    timed_req.assert_fast()
