"""StreamPeerTCP against real loopback sockets.

A plain listening socket plays the server. Every wait is bounded: the client side sleeps
in ``StreamPeerTCP.wait()`` (select) with a timeout inside a deadline loop.

Not tested: the connect timeout. Making a loopback connect stay pending needs a dropped
SYN (a full accept queue, or a firewall rule), which is not deterministic here, and a live
listener completes the handshake before the first poll() can look at the deadline.
"""

from __future__ import annotations

import os
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from pollhttp import ConnectError, Error, InvalidParameterError, NetworkError, StreamPeerTCP

from ..support.servers import needs_ipv6, wait_for

NONE = StreamPeerTCP.STATUS_NONE
CONNECTING = StreamPeerTCP.STATUS_CONNECTING
CONNECTED = StreamPeerTCP.STATUS_CONNECTED
ERROR = StreamPeerTCP.STATUS_ERROR


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        sock.settimeout(5)
        yield sock


@pytest.fixture
def peers() -> Iterator[list[StreamPeerTCP]]:
    """StreamPeerTCPs made by a test, closed at the end whatever happened."""
    made: list[StreamPeerTCP] = []
    yield made
    for tcp in made:
        tcp.disconnect_from_host()


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def poll_while_connecting(tcp: StreamPeerTCP, timeout: float = 5.0) -> list[Error]:
    """Poll until the connect is decided; return what each poll() returned."""
    results: list[Error] = []
    deadline = time.monotonic() + timeout
    while tcp.get_status() == CONNECTING:
        assert time.monotonic() < deadline, f"still connecting after {results}"
        tcp.wait(readable=False, writable=True, timeout=0.1)
        results.append(tcp.poll())
    return results


def until(condition: Callable[[], bool], tcp: StreamPeerTCP, timeout: float = 5.0) -> None:
    """Sleep on the socket (readable) until ``condition()`` holds, with a deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        tcp.wait(readable=True, timeout=0.05)


def connected_pair(
    listener: socket.socket, peers: list[StreamPeerTCP]
) -> tuple[StreamPeerTCP, socket.socket]:
    """A CONNECTED StreamPeerTCP and the server's end of its connection."""
    tcp = StreamPeerTCP()
    peers.append(tcp)
    port = listener.getsockname()[1]
    assert tcp.connect_to_host("127.0.0.1", port) == Error.OK
    server_end, _ = listener.accept()
    poll_while_connecting(tcp)
    assert tcp.get_status() == CONNECTED, tcp.get_last_error()
    return tcp, server_end


def read_exactly(tcp: StreamPeerTCP, count: int) -> bytes:
    data = b""
    deadline = time.monotonic() + 5
    while len(data) < count:
        assert time.monotonic() < deadline, f"got only {data!r}"
        err, piece = tcp.get_partial_data(count - len(data))
        assert err == Error.OK, (err, data)
        if piece:
            data += piece
        else:
            tcp.wait(readable=True, timeout=0.05)
    return data


# -- connect_to_host ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "host", ["localhost", "example.test", "", "127.0.0.1:80", "[::1]", "127.0.0.1 ", "1.2.3"]
)
def test_connect_to_host_needs_an_ip_address(host):
    tcp = StreamPeerTCP()
    assert tcp.connect_to_host(host, 8080) == Error.ERR_INVALID_PARAMETER
    assert tcp.get_status() == NONE
    assert isinstance(tcp.get_last_error(), InvalidParameterError)
    assert tcp.fileno() == -1


@pytest.mark.parametrize("port", [0, -1, 65536, 70000])
def test_connect_to_host_port_out_of_range(port):
    tcp = StreamPeerTCP()
    assert tcp.connect_to_host("127.0.0.1", port) == Error.ERR_INVALID_PARAMETER
    assert tcp.get_status() == NONE
    assert isinstance(tcp.get_last_error(), InvalidParameterError)
    assert tcp.fileno() == -1


def test_poll_until_connected(listener, peers):
    port = listener.getsockname()[1]
    tcp = StreamPeerTCP()
    peers.append(tcp)
    assert tcp.connect_to_host("127.0.0.1", port) == Error.OK
    assert tcp.get_status() in (CONNECTING, CONNECTED)
    assert (tcp.get_connected_host(), tcp.get_connected_port()) == ("127.0.0.1", port)
    assert tcp.fileno() >= 0
    results = poll_while_connecting(tcp)
    assert all(result == Error.OK for result in results), results
    assert tcp.get_status() == CONNECTED
    server_end, address = listener.accept()
    with server_end:
        assert tcp.get_local_port() == address[1]
    assert tcp.get_last_error() is None


@needs_ipv6
def test_poll_until_connected_ipv6(peers):
    with socket.create_server(("::1", 0), family=socket.AF_INET6) as server:
        port = server.getsockname()[1]
        tcp = StreamPeerTCP()
        peers.append(tcp)
        assert tcp.connect_to_host("::1", port) == Error.OK
        poll_while_connecting(tcp)
        assert tcp.get_status() == CONNECTED, tcp.get_last_error()
        assert tcp.get_connected_host() == "::1"


def test_second_connect_is_already_in_use(listener, peers):
    port = listener.getsockname()[1]
    tcp = StreamPeerTCP()
    peers.append(tcp)
    assert tcp.connect_to_host("127.0.0.1", port) == Error.OK
    assert tcp.connect_to_host("127.0.0.1", port) == Error.ERR_ALREADY_IN_USE
    poll_while_connecting(tcp)
    assert tcp.get_status() == CONNECTED
    fileno = tcp.fileno()
    assert tcp.connect_to_host("127.0.0.1", port) == Error.ERR_ALREADY_IN_USE
    # The connection in use is untouched.
    assert tcp.get_status() == CONNECTED
    assert tcp.fileno() == fileno
    # Once disconnected, the peer can connect again.
    tcp.disconnect_from_host()
    assert tcp.connect_to_host("127.0.0.1", port) == Error.OK
    poll_while_connecting(tcp)
    assert tcp.get_status() == CONNECTED


def test_refused_connect_is_an_error(peers):
    port = closed_port()
    tcp = StreamPeerTCP()
    peers.append(tcp)
    first = tcp.connect_to_host("127.0.0.1", port)
    # The kernel may refuse at once or on a later poll; both end in STATUS_ERROR.
    assert first in (Error.OK, Error.ERR_CANT_CONNECT)
    results = poll_while_connecting(tcp)
    assert tcp.get_status() == ERROR
    assert (first, *results)[-1] == Error.ERR_CANT_CONNECT
    error = tcp.get_last_error()
    assert isinstance(error, ConnectError)
    assert "refused" in str(error).lower()
    assert str(port) in str(error)
    assert tcp.fileno() == -1
    # An errored peer stays errored.
    assert tcp.poll() == Error.OK
    assert tcp.get_status() == ERROR
    assert tcp.put_partial_data(b"x") == (Error.FAILED, 0)
    tcp.disconnect_from_host()
    assert tcp.get_status() == NONE


# -- moving bytes --------------------------------------------------------------------------------


def test_put_data_get_data_round_trip_with_an_echo_server(listener, peers):
    def echo() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(5)
            while data := conn.recv(65536):
                conn.sendall(data)

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()
    tcp = StreamPeerTCP()
    peers.append(tcp)
    assert tcp.connect_to_host("127.0.0.1", listener.getsockname()[1]) == Error.OK
    poll_while_connecting(tcp)
    assert tcp.get_status() == CONNECTED
    payload = bytes(range(256)) * 256  # 64 KiB
    assert tcp.put_data(payload) == Error.OK
    err, echoed = tcp.get_data(len(payload))
    assert err == Error.OK
    assert echoed == payload
    assert tcp.put_data(b"hello, world") == Error.OK
    assert tcp.get_data(12) == (Error.OK, b"hello, world")
    tcp.disconnect_from_host()
    thread.join(5)
    assert not thread.is_alive()


def test_available_bytes(listener, peers):
    tcp, server_end = connected_pair(listener, peers)
    with server_end:
        assert tcp.get_available_bytes() == 0
        server_end.sendall(b"12345")
        until(lambda: tcp.get_available_bytes() >= 5, tcp)
        assert tcp.get_available_bytes() == 5
        assert tcp.get_partial_data(3) == (Error.OK, b"123")
        assert tcp.get_available_bytes() == 2
        assert tcp.get_partial_data(100) == (Error.OK, b"45")
        assert tcp.get_available_bytes() == 0
        # Nothing more: "not now", not an error.
        assert tcp.get_partial_data(100) == (Error.OK, b"")
        assert tcp.get_status() == CONNECTED


def test_peer_close_gives_eof_and_status_none(listener, peers):
    tcp, server_end = connected_pair(listener, peers)
    server_end.close()
    # With no data sent, the socket turns readable only when the FIN has arrived.
    assert tcp.wait(readable=True, timeout=5)
    assert tcp.get_partial_data(10) == (Error.ERR_FILE_EOF, b"")
    assert tcp.get_status() == NONE
    assert tcp.fileno() == -1
    assert tcp.get_partial_data(10) == (Error.ERR_FILE_EOF, b"")


def test_poll_reports_the_peer_close(listener, peers):
    tcp, server_end = connected_pair(listener, peers)
    assert tcp.poll() == Error.OK
    assert tcp.get_status() == CONNECTED
    server_end.close()
    assert tcp.wait(readable=True, timeout=5)
    assert tcp.poll() == Error.ERR_FILE_EOF
    assert tcp.get_status() == NONE
    assert tcp.fileno() == -1
    assert tcp.poll() == Error.OK  # nothing left to poll


def _fin_received(tcp: StreamPeerTCP) -> bool:
    """Whether the kernel has the peer's FIN (TCP state CLOSE_WAIT), via TCP_INFO."""
    with socket.socket(fileno=os.dup(tcp.fileno())) as dup:
        info = dup.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
    return struct.unpack("B", info[:1])[0] == 8  # TCP_CLOSE_WAIT


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or not hasattr(socket, "TCP_INFO"),
    reason="needs Linux TCP_INFO to see that the FIN has arrived",
)
def test_poll_reports_eof_only_after_the_pending_data(listener, peers):
    tcp, server_end = connected_pair(listener, peers)
    server_end.sendall(b"hello")
    server_end.close()
    wait_for(lambda: _fin_received(tcp))
    # The FIN is in, but unread data comes first.
    assert tcp.poll() == Error.OK
    assert tcp.get_status() == CONNECTED
    assert read_exactly(tcp, 5) == b"hello"
    assert tcp.poll() == Error.ERR_FILE_EOF
    assert tcp.get_status() == NONE


def test_reset_by_peer_is_a_connection_error(listener, peers):
    tcp, server_end = connected_pair(listener, peers)
    server_end.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    server_end.close()
    assert tcp.wait(readable=True, timeout=5)
    err, data = tcp.get_partial_data(10)
    assert (err, data) == (Error.ERR_CONNECTION_ERROR, b"")
    assert tcp.get_status() == ERROR
    assert isinstance(tcp.get_last_error(), NetworkError)
    assert tcp.fileno() == -1


def test_disconnect_from_host(listener, peers):
    tcp, server_end = connected_pair(listener, peers)
    with server_end:
        assert tcp.fileno() >= 0
        assert tcp.get_local_port() > 0
        tcp.disconnect_from_host()
        assert tcp.get_status() == NONE
        assert tcp.fileno() == -1
        assert tcp.get_local_port() == 0
        assert tcp.get_available_bytes() == 0
        assert tcp.get_partial_data(10) == (Error.ERR_FILE_EOF, b"")
        assert tcp.put_partial_data(b"x") == (Error.FAILED, 0)
        assert tcp.poll() == Error.OK
        tcp.disconnect_from_host()  # twice is fine
        assert tcp.get_status() == NONE
        # The server sees the close.
        server_end.settimeout(5)
        assert server_end.recv(10) == b""
