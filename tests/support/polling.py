"""Bounded poll loops for tests: every wait has a deadline and never sleeps blindly."""

from __future__ import annotations

import time
from collections.abc import Callable

from pollhttp import Error, HTTPClient, Status, StreamPeer, StreamPeerTCP

WAITING = (Status.STATUS_RESOLVING, Status.STATUS_CONNECTING, Status.STATUS_REQUESTING)


def poll_until(
    client: HTTPClient, done: Callable[[HTTPClient], bool], timeout: float = 5.0
) -> list[tuple[Error, Status]]:
    """Call ``client.poll()`` until ``done(client)``; return the trace of (result, status).

    Fails the test if the deadline passes first.
    """
    trace: list[tuple[Error, Status]] = []
    deadline = time.monotonic() + timeout
    while not done(client):
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {len(trace)} polls; status {client.get_status().name}, "
                f"last of the trace {trace[-5:]}"
            )
        trace.append((client.poll(), client.get_status()))
    return trace


def poll_while_waiting(client: HTTPClient, timeout: float = 5.0) -> list[tuple[Error, Status]]:
    """Poll through RESOLVING, CONNECTING and REQUESTING."""
    return poll_until(client, lambda c: c.get_status() not in WAITING, timeout)


def connect(client: HTTPClient, host: str, port: int, timeout: float = 5.0) -> None:
    """Connect and assert that the client reaches CONNECTED."""
    assert client.connect_to_host(host, port) == Error.OK
    poll_while_waiting(client, timeout)
    assert client.get_status() == Status.STATUS_CONNECTED, client.get_last_error()


def read_body(client: HTTPClient, timeout: float = 10.0) -> bytes:
    """Read the body while the status is BODY, with a deadline."""
    pieces: list[bytes] = []
    deadline = time.monotonic() + timeout
    while client.get_status() == Status.STATUS_BODY:
        if time.monotonic() > deadline:
            raise AssertionError(f"body read timed out after {sum(map(len, pieces))} bytes")
        client.poll()
        pieces.append(client.read_response_body_chunk())
    return b"".join(pieces)


def read_checked(client: HTTPClient, feed: Callable[[bytes], None], timeout: float) -> int:
    """Read the body while the status is BODY, handing each chunk to ``feed`` and keeping none.

    Returns the largest chunk read. For large bodies checked as they stream.
    """
    longest = 0
    deadline = time.monotonic() + timeout
    while client.get_status() == Status.STATUS_BODY:
        assert time.monotonic() < deadline, "body read timed out"
        client.poll()
        chunk = client.read_response_body_chunk()
        longest = max(longest, len(chunk))
        feed(chunk)
    return longest


def fetch(
    client: HTTPClient,
    path: str,
    method: int = HTTPClient.METHOD_GET,
    headers: list[str] | None = None,
    body: bytes = b"",
    timeout: float = 10.0,
) -> bytes:
    """Send one request on a connected client, wait for the head, and read the body."""
    assert client.request_raw(method, path, headers or [], body) == Error.OK
    poll_while_waiting(client, timeout)
    return read_body(client, timeout)


def connection_of(client: HTTPClient) -> StreamPeer:
    """The client's connection (a test that calls this has one)."""
    peer = client.get_connection()
    assert peer is not None, "the client has no connection"
    return peer


def tcp_connection_of(client: HTTPClient) -> StreamPeerTCP:
    """The client's connection, a `StreamPeerTCP` (a test without TLS or proxy has one)."""
    peer = client.get_connection()
    assert isinstance(peer, StreamPeerTCP), peer
    return peer
