"""Hypothesis fuzzing: random and mutated responses, split at random points, fed to
HTTPClient and HTTPRequest by a scripted server on 127.0.0.1 (and, for volume, by a
scripted StreamPeer with no sockets).

Properties, for every input:

* HTTPClient never raises for anything a server sends: it returns ``Error`` codes, and its
  status ends in CONNECTED, DISCONNECTED or CONNECTION_ERROR (with a sticky error code and
  a pollhttp exception in ``get_last_error()``).
* HTTPRequest's ``poll()`` never raises; the request completes exactly once, with a
  ``Result``; failures carry code 0 and no headers unless documented otherwise.
* ``pollhttp.request()`` raises nothing but pollhttp's documented exceptions.
* Never more body than declared (Content-Length), never more than was sent, never more
  than ``read_chunk_size`` per read, nothing for HEAD/204/304.
* Never a hang: every exchange ends (the server always ends the connection) well before a
  deadline. Never unbounded memory: inputs are a few KiB, decoding is bounded per step, and
  ``body_size_limit`` holds.

Example counts are modest so the suite stays fast; ``fuzz/atheris_target.py`` is for long
runs of the parser.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pollhttp
from pollhttp import (
    Error,
    HTTPClient,
    HTTPRequest,
    PollHTTPError,
    Result,
    Status,
)

from ..support.scripted_peer import WOULD_BLOCK, ScriptedStreamPeer
from ..support.servers import Close, Pause, Read, Reset, ScriptedServer, Send, ShutdownWrite
from .strategies import Exchange, exchanges, redirect_exchanges

WAITING = (Status.STATUS_RESOLVING, Status.STATUS_CONNECTING, Status.STATUS_REQUESTING)
ENDS = (Status.STATUS_CONNECTED, Status.STATUS_DISCONNECTED, Status.STATUS_CONNECTION_ERROR)
KEEPS_RESPONSE = (
    Result.RESULT_SUCCESS,
    Result.RESULT_BODY_SIZE_LIMIT_EXCEEDED,
    Result.RESULT_BODY_DECOMPRESS_FAILED,
    Result.RESULT_REDIRECT_LIMIT_REACHED,
    Result.RESULT_DOWNLOAD_FILE_CANT_OPEN,
    Result.RESULT_DOWNLOAD_FILE_WRITE_ERROR,
)
#: No exchange may take longer than this: the server always ends the connection.
DEADLINE = 3.0
SOCKET = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: How many examples each test ran (printed at the end of the module; run with -s).
COUNTS: dict[str, int] = {}


@pytest.fixture(scope="module", autouse=True)
def _print_counts() -> Iterator[None]:
    yield
    total = sum(COUNTS.values())
    print(f"\nFUZZ examples run: {total} ({', '.join(f'{k} {v}' for k, v in COUNTS.items())})")


def count(name: str) -> None:
    COUNTS[name] = COUNTS.get(name, 0) + 1


def script_for(exchange: Exchange) -> list:
    steps: list = [Read()]
    for part in exchange.parts():
        steps.append(Send(part))
        if exchange.pause:
            steps.append(Pause(exchange.pause))
    if exchange.ending == "reset":
        steps.append(Reset())
    elif exchange.ending == "half-close":
        steps.append(ShutdownWrite())
    else:
        steps.append(Close())
    return steps


def check_client_end(client: HTTPClient, exchange: Exchange, body: bytes, reads: list[int]) -> None:
    status = client.get_status()
    assert status in ENDS, (status, client.get_last_error())
    if status == Status.STATUS_CONNECTION_ERROR:
        error = client.get_last_error()
        assert isinstance(error, PollHTTPError), repr(error)
        assert error.code == Error.ERR_CONNECTION_ERROR
        assert client.poll() == Error.ERR_CONNECTION_ERROR
    assert all(0 < size <= exchange.read_chunk_size for size in reads), reads
    assert len(body) <= len(exchange.data)
    length = client.get_response_body_length()
    if length >= 0:
        assert len(body) <= length, (len(body), length)
    code = client.get_response_code()
    if exchange.method == "HEAD" or code in (204, 304):
        assert body == b""
    if status == Status.STATUS_CONNECTED and code and length >= 0:
        assert len(body) == length  # a complete response on a reusable connection
    # Reading never raises and never consumes.
    assert client.get_response_headers() == client.get_response_headers()
    client.get_response_headers_as_dictionary()
    client.get_response_trailers()
    client.get_informational_responses()


def drive(client: HTTPClient, method: int, deadline: float, sleep: bool) -> tuple[bytes, list[int]]:
    """Request and read on a connected client until it settles; bounded by ``deadline``."""
    assert client.request(method, "/", []) == Error.OK
    while client.get_status() in WAITING:
        assert time.monotonic() < deadline, "hang while REQUESTING"
        result = client.poll()
        assert isinstance(result, Error)
        if sleep and client.get_status() in WAITING:
            client.wait(0.01)
    pieces: list[bytes] = []
    reads: list[int] = []
    while client.get_status() == Status.STATUS_BODY:
        assert time.monotonic() < deadline, "hang in BODY"
        assert client.poll() == Error.OK
        piece = client.read_response_body_chunk()
        if piece:
            pieces.append(piece)
            reads.append(len(piece))
        elif sleep and client.get_status() == Status.STATUS_BODY:
            client.wait(0.01)
    return b"".join(pieces), reads


@SOCKET
@given(exchanges())
def test_http_client_over_a_socket(exchange: Exchange) -> None:
    count("HTTPClient over sockets")
    with ScriptedServer([script_for(exchange)]) as server:
        client = HTTPClient(limits=exchange.limits)
        client.read_chunk_size = exchange.read_chunk_size
        deadline = time.monotonic() + DEADLINE
        try:
            assert client.connect_to_host("127.0.0.1", server.port) == Error.OK
            while client.get_status() in WAITING:
                assert time.monotonic() < deadline
                client.poll()
            if client.get_status() != Status.STATUS_CONNECTED:
                # A reset at once can beat the connect; that is a connection failure.
                assert client.get_status() in (
                    Status.STATUS_CANT_CONNECT,
                    Status.STATUS_CONNECTION_ERROR,
                )
                return
            method = HTTPClient.METHOD_HEAD if exchange.method == "HEAD" else HTTPClient.METHOD_GET
            body, reads = drive(client, method, deadline, sleep=True)
            check_client_end(client, exchange, body, reads)
        finally:
            client.close()


@st.composite
def peer_reads(draw, exchange: Exchange) -> list:
    reads: list = []
    for part in exchange.parts():
        reads += [WOULD_BLOCK] * draw(st.integers(0, 2))
        reads.append(part)
    reads.append(
        draw(st.sampled_from([Error.ERR_FILE_EOF, Error.ERR_FILE_EOF, Error.ERR_CONNECTION_ERROR]))
    )
    return reads


@settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data())
def test_http_client_over_a_scripted_peer(data: st.DataObject) -> None:
    """The same exchanges without sockets: many more of them, split and delayed at random."""
    count("HTTPClient over a scripted peer")
    exchange = data.draw(exchanges())
    peer = ScriptedStreamPeer(data.draw(peer_reads(exchange)))
    client = HTTPClient(limits=exchange.limits)
    client.read_chunk_size = exchange.read_chunk_size
    client.set_connection(peer)
    method = HTTPClient.METHOD_HEAD if exchange.method == "HEAD" else HTTPClient.METHOD_GET
    try:
        body, reads = drive(client, method, time.monotonic() + DEADLINE, sleep=False)
        check_client_end(client, exchange, body, reads)
    finally:
        client.close()


def run_request(req: HTTPRequest, url: str) -> list[tuple]:
    completions: list[tuple] = []
    req.request_completed.connect(lambda *args: completions.append(args))
    assert req.request(url) == Error.OK
    deadline = time.monotonic() + DEADLINE
    while not completions:
        assert time.monotonic() < deadline, "HTTPRequest never completed"
        assert req.poll() in (Error.OK, Error.ERR_UNCONFIGURED)
        if not completions:
            req.wait(0.01)
    assert req.poll() == Error.ERR_UNCONFIGURED
    return completions


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    st.one_of(exchanges(), redirect_exchanges()),
    st.sampled_from([-1, -1, 100, 4096]),
    st.booleans(),
    st.booleans(),
)
def test_http_request_over_a_socket(
    exchange: Exchange, body_size_limit: int, accept_gzip: bool, threads: bool
) -> None:
    count("HTTPRequest over sockets")
    with ScriptedServer([script_for(exchange)]) as server:
        req = HTTPRequest(limits=exchange.limits)
        req.body_size_limit = body_size_limit
        req.accept_gzip = accept_gzip
        req.use_threads = threads
        req.max_redirects = 2
        req.download_chunk_size = exchange.read_chunk_size
        method = "HEAD" if exchange.method == "HEAD" else "GET"
        try:
            url = f"http://127.0.0.1:{server.port}/start"
            if method == "HEAD":
                completions: list[tuple] = []
                req.request_completed.connect(lambda *args: completions.append(args))
                assert req.request(url, [], HTTPClient.METHOD_HEAD) == Error.OK
                deadline = time.monotonic() + DEADLINE
                while not completions:
                    assert time.monotonic() < deadline, "HTTPRequest never completed"
                    req.poll()
                    if not completions:
                        req.wait(0.01)
            else:
                completions = run_request(req, url)
        finally:
            req.close()
    assert len(completions) == 1
    result, code, headers, body = completions[0]
    assert isinstance(result, Result)
    assert isinstance(code, int)
    assert isinstance(body, (bytes, bytearray))  # bytes-like (a bytearray since the no-copy change)
    assert all(isinstance(line, str) for line in headers)
    if result not in KEEPS_RESPONSE:
        assert (code, headers, body) == (0, [], b"")
    if result != Result.RESULT_SUCCESS:
        assert body == b""
        assert isinstance(req.get_last_error(), PollHTTPError)
    if body_size_limit >= 0:
        assert len(body) <= body_size_limit
    if method == "HEAD" or code in (204, 304):
        assert body == b""


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.one_of(exchanges(), redirect_exchanges()))
def test_pythonic_request_raises_only_pollhttp_errors(exchange: Exchange) -> None:
    count("pollhttp.get()")
    with ScriptedServer([script_for(exchange)]) as server:
        started = time.monotonic()
        failure: PollHTTPError | None = None
        try:
            response = pollhttp.get(
                f"http://127.0.0.1:{server.port}/", timeout=DEADLINE, max_redirects=2
            )
        except PollHTTPError as exc:
            failure = exc
        if failure is None:
            assert isinstance(response.content, (bytes, bytearray))
            assert 100 <= response.status_code <= 599
        assert not isinstance(failure, pollhttp.TransferTimeoutError), "a hang"
        assert time.monotonic() - started < DEADLINE
