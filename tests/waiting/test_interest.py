"""get_wait_interest(), get_wait_timeout() and pollhttp.wait(): what each state waits for.

``None``: nothing to wait for (idle, done, failed). ``READY_NOW`` (fd -1): call poll() or read
now. ``Interest(fd, read, write)``: sleep on that descriptor.
"""

from __future__ import annotations

import threading
import time

import pytest

import pollhttp
from pollhttp import (
    READY_NOW,
    Error,
    HTTPClient,
    HTTPRequest,
    Interest,
    Resolution,
    Result,
    Status,
    TLSHandshakeError,
)
from pollhttp.transport import drain, wakeup_fd
from pollhttp.waiter import Waitable

from ..support.polling import connect, poll_until, poll_while_waiting, read_body
from ..support.servers import Pause, Read, ScriptedServer, Send, response
from ..support.tls import ReadRaw, TLSServer
from .conftest import GatedResolver, SilentServer

MiB = 1 << 20


def wake_fd() -> Interest:
    return Interest(wakeup_fd(), True, False)


def timed_wait(objects: list, timeout: float) -> tuple[list, float]:
    start = time.monotonic()
    ready = pollhttp.wait(objects, timeout)
    return ready, time.monotonic() - start


def wait_until_due(obj: Waitable, limit: float) -> float:
    """Call pollhttp.wait([obj], 10 s) until it returns obj; the time that took (bounded)."""
    start = time.monotonic()
    for _ in range(3):  # a selector may wake a hair before the deadline: one more call
        if pollhttp.wait([obj], 10.0) == [obj]:
            return time.monotonic() - start
        assert time.monotonic() - start < limit
    raise AssertionError("pollhttp.wait never returned the object whose deadline was due")


@pytest.fixture(autouse=True)
def _quiet_wakeup():
    """Start every test with nothing rung on the shared wake-up descriptor."""
    drain()


# -- pollhttp.wait itself ----------------------------------------------------------------------


def test_wait_on_nothing_returns_at_once():
    ready, elapsed = timed_wait([], 5.0)
    assert ready == []
    assert elapsed < 0.5


def test_wait_on_idle_objects_returns_at_once(clients):
    client = HTTPClient()
    clients.append(client)
    with HTTPRequest() as req:
        assert client.get_wait_interest() is None
        assert req.get_wait_interest() is None
        assert client.get_wait_timeout() is None
        assert req.get_wait_timeout() is None
        ready, elapsed = timed_wait([client, req], 5.0)
    assert ready == []
    assert elapsed < 0.5


def test_wait_returns_only_the_ready_ones_without_sleeping(silent: SilentServer, clients):
    waiting, ready_now = HTTPClient(), HTTPClient()
    clients += [waiting, ready_now]
    connect(waiting, "127.0.0.1", silent.port)
    assert waiting.request(HTTPClient.METHOD_GET, "/", []) == Error.OK
    poll_until(waiting, lambda c: c.get_request_bytes_pending() == 0)
    with ScriptedServer([[Read(), Send(response(body=b"x" * 5000))]]) as server:
        connect(ready_now, "127.0.0.1", server.port)
        assert ready_now.request(HTTPClient.METHOD_GET, "/", []) == Error.OK
        poll_while_waiting(ready_now)
        assert ready_now.get_status() == Status.STATUS_BODY
        assert ready_now.get_wait_interest() == READY_NOW
        ready, elapsed = timed_wait([waiting, ready_now], 5.0)
        assert ready == [ready_now]
        assert elapsed < 0.5
        assert read_body(ready_now) == b"x" * 5000


def test_wait_sleeps_for_the_timeout_when_nothing_happens(silent: SilentServer, clients):
    client = HTTPClient()
    clients.append(client)
    connect(client, "127.0.0.1", silent.port)
    assert client.request(HTTPClient.METHOD_GET, "/", []) == Error.OK
    poll_until(client, lambda c: c.get_request_bytes_pending() == 0)
    cpu = time.process_time()
    ready, elapsed = timed_wait([client], 0.3)
    assert ready == []
    assert 0.25 <= elapsed < 2.0
    assert time.process_time() - cpu < 0.1  # slept in the kernel


# -- HTTPClient, status by status -----------------------------------------------------------


def test_resolving_waits_on_the_wakeup_descriptor(clients):
    client = HTTPClient(resolver=lambda host, port: Resolution())  # never finishes
    clients.append(client)
    assert client.connect_to_host("never.invalid", 8080) == Error.OK
    assert client.get_status() == Status.STATUS_RESOLVING
    assert client.get_wait_interest() == wake_fd()
    assert client.get_wait_timeout() is None
    ready, elapsed = timed_wait([client], 0.2)
    assert ready == []
    assert elapsed >= 0.15
    client.close()
    assert client.get_wait_interest() is None


def test_finished_lookup_wakes_the_waiter_and_is_ready_now(clients):
    with ScriptedServer([[Read(), Send(response(body=b"resolved"))]]) as server:
        resolver = GatedResolver(server.port)
        client = HTTPClient(resolver=resolver)
        clients.append(client)
        assert client.connect_to_host("gated.test", server.port) == Error.OK
        assert client.get_wait_interest() == wake_fd()
        timer = threading.Timer(0.1, resolver.release_all)
        timer.start()
        try:
            ready, elapsed = timed_wait([client], 5.0)
        finally:
            timer.join()
        assert ready == [client]
        assert elapsed < 2.0
        assert client.get_wait_interest() == READY_NOW
        assert client.get_status() == Status.STATUS_RESOLVING  # until poll() sees it
        poll_while_waiting(client)
        assert client.get_status() == Status.STATUS_CONNECTED
        assert client.get_wait_interest() is None  # connected and idle


def test_connecting_waits_to_write_with_a_deadline(silent: SilentServer, clients):
    client = HTTPClient()
    clients.append(client)
    client.connect_timeout = 7.0
    assert client.connect_to_host("127.0.0.1", silent.port) == Error.OK
    assert client.get_status() == Status.STATUS_CONNECTING
    interest = client.get_wait_interest()
    assert interest is not None
    assert interest.fd >= 0
    assert (interest.read, interest.write) == (False, True)
    assert interest.fd != wakeup_fd()
    first = client.get_wait_timeout()
    assert first is not None
    assert 0 < first <= 7.0
    second = client.get_wait_timeout()
    assert second is not None
    assert second <= first
    ready, _ = timed_wait([client], 5.0)
    assert ready == [client]  # the kernel finished the handshake (the listener's backlog)
    client.poll()
    assert client.get_status() == Status.STATUS_CONNECTED
    assert client.get_wait_timeout() is None


def test_large_upload_waits_to_write(silent: SilentServer, clients):
    client = HTTPClient()
    clients.append(client)
    connect(client, "127.0.0.1", silent.port)
    body = b"u" * (64 * MiB)  # more than the kernel buffers on both ends
    assert client.request_raw(HTTPClient.METHOD_POST, "/upload", [], body) == Error.OK
    assert client.get_status() == Status.STATUS_REQUESTING
    # Fill the socket: poll until a poll sends nothing more.
    previous = -1
    for _ in range(1000):
        client.poll()
        pending = client.get_request_bytes_pending()
        if pending == previous:
            break
        previous = pending
    assert 0 < client.get_request_bytes_pending() < len(body)
    interest = client.get_wait_interest()
    assert interest is not None
    assert interest.fd >= 0
    assert (interest.read, interest.write) == (False, True)
    ready, elapsed = timed_wait([client], 0.2)
    assert ready == []  # the server reads nothing: the socket stays full
    assert elapsed >= 0.15
    # The server starts reading: the socket becomes writable and wait() says so.
    peer = silent.accept()
    sent = len(body) - client.get_request_bytes_pending()
    received = 0
    while received < sent // 2:
        received += len(peer.recv(MiB))
    ready, elapsed = timed_wait([client], 5.0)
    assert ready == [client]
    assert elapsed < 2.0


def test_request_sent_waits_to_read_the_head(silent: SilentServer, clients):
    client = HTTPClient()
    clients.append(client)
    connect(client, "127.0.0.1", silent.port)
    assert client.request(HTTPClient.METHOD_GET, "/", []) == Error.OK
    assert client.get_wait_interest() == Interest(
        client.get_connection().fileno(),  # type: ignore[union-attr]
        False,
        True,  # the request is still to be written
    )
    poll_until(client, lambda c: c.get_request_bytes_pending() == 0)
    assert client.get_status() == Status.STATUS_REQUESTING
    interest = client.get_wait_interest()
    assert interest == Interest(client.get_connection().fileno(), True, False)  # type: ignore[union-attr]
    assert client.get_wait_timeout() is None  # HTTPClient has no response timeout


def test_body_waiting_reads_then_wakes_when_the_rest_arrives(clients):
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n"
    with ScriptedServer([[Read(), Send(head + b"abcd"), Pause(0.3), Send(b"efgh")]]) as server:
        client = HTTPClient()
        clients.append(client)
        connect(client, "127.0.0.1", server.port)
        assert client.request(HTTPClient.METHOD_GET, "/", []) == Error.OK
        poll_while_waiting(client)
        assert client.get_status() == Status.STATUS_BODY
        assert client.get_wait_interest() == READY_NOW  # the body's start came with the head
        assert client.read_response_body_chunk() == b"abcd"
        assert client.read_response_body_chunk() == b""
        fd = client.get_connection().fileno()  # type: ignore[union-attr]
        assert client.get_wait_interest() == Interest(fd, True, False)
        ready, elapsed = timed_wait([client], 5.0)
        assert ready == [client]
        assert 0.1 < elapsed < 2.0
        assert read_body(client) == b"efgh"
        assert client.get_status() == Status.STATUS_CONNECTED
        assert client.get_wait_interest() is None


def test_body_with_more_buffered_than_one_read_is_ready_now(clients):
    body = bytes(range(256)) * 40  # 10240 bytes, all sent with the head
    with ScriptedServer([[Read(), Send(response(body=body))]]) as server:
        client = HTTPClient()
        clients.append(client)
        connect(client, "127.0.0.1", server.port)
        assert client.request(HTTPClient.METHOD_GET, "/", []) == Error.OK
        poll_until(client, lambda c: c.get_status() != Status.STATUS_REQUESTING)
        assert client.get_status() == Status.STATUS_BODY
        client.set_read_chunk_size(256)
        pieces = []
        for _ in range(len(body) // 256 - 1):
            assert client.get_wait_interest() == READY_NOW
            ready, elapsed = timed_wait([client], 5.0)
            assert ready == [client]
            assert elapsed < 0.5
            piece = client.read_response_body_chunk()
            assert len(piece) == 256
            pieces.append(piece)
        pieces.append(read_body(client))
        assert b"".join(pieces) == body


def test_body_on_a_reused_connection_is_ready_now(clients):
    """The second response arrives whole with its head: its body is buffered, not on the socket.

    The first body arrived in two parts, so its last read waited on the socket; that must
    not make the next body wait on a socket that has nothing more to say.
    """
    first = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n"
    second = response(body=b"hello world")
    script = [Read(), Send(first + b"abc"), Pause(0.2), Send(b"def"), Read(), Send(second)]
    with ScriptedServer([script]) as server:
        client = HTTPClient()
        clients.append(client)
        connect(client, "127.0.0.1", server.port)
        assert client.request(HTTPClient.METHOD_GET, "/one", []) == Error.OK
        poll_while_waiting(client)
        assert read_body(client) == b"abcdef"
        assert client.get_status() == Status.STATUS_CONNECTED
        assert client.request(HTTPClient.METHOD_GET, "/two", []) == Error.OK
        poll_while_waiting(client)
        assert client.get_status() == Status.STATUS_BODY
        assert client.get_wait_interest() == READY_NOW
        ready, elapsed = timed_wait([client], 1.0)
        assert ready == [client]
        assert elapsed < 0.5
        assert read_body(client) == b"hello world"


def test_done_and_failed_clients_wait_for_nothing(clients):
    closing = response(headers=["Connection: close"], body=b"bye")
    with ScriptedServer([[Read(), Send(closing)]]) as server:
        client = HTTPClient()
        clients.append(client)
        connect(client, "127.0.0.1", server.port)
        assert client.request(HTTPClient.METHOD_GET, "/", []) == Error.OK
        poll_while_waiting(client)
        assert read_body(client) == b"bye"
        assert client.get_status() == Status.STATUS_DISCONNECTED
        assert client.get_wait_interest() is None
        port = server.port
    failed = HTTPClient()
    clients.append(failed)
    assert failed.connect_to_host("127.0.0.1", port) == Error.OK  # nothing listens now
    poll_while_waiting(failed)
    assert failed.get_status() == Status.STATUS_CANT_CONNECT
    assert failed.get_wait_interest() is None
    assert failed.get_wait_timeout() is None


def test_handshake_deadline_wakes_the_waiter(clients):
    # A server that reads the ClientHello and never answers.
    with TLSServer([[ReadRaw(), Pause(10)]]) as server:
        client = HTTPClient()
        clients.append(client)
        client.connect_timeout = 0.5
        start = time.monotonic()
        assert client.connect_to_host("https://127.0.0.1", server.port) == Error.OK
        # Past the TCP connect, the handshake waits on the socket, with its own deadline.
        poll_until(client, lambda c: (c.get_wait_interest() or READY_NOW).read)
        assert client.get_status() == Status.STATUS_CONNECTING
        left = client.get_wait_timeout()
        assert left is not None
        assert 0 < left <= 0.5
        elapsed = wait_until_due(client, 3.0)
        assert elapsed < 1.5  # not the caller's 10 s
        assert client.get_wait_timeout() == 0
        client.poll()
        assert client.get_status() == Status.STATUS_TLS_HANDSHAKE_ERROR
        error = client.get_last_error()
        assert isinstance(error, TLSHandshakeError)
        assert error.reason == "timed out"
        assert time.monotonic() - start < 3.0
        assert client.get_wait_interest() is None


# -- HTTPRequest -------------------------------------------------------------------------------


def test_request_before_its_first_poll_is_ready_now(silent: SilentServer):
    with HTTPRequest() as req:
        assert req.request(f"http://127.0.0.1:{silent.port}/") == Error.OK
        assert req.get_wait_interest() == READY_NOW
        req.poll()
        interest = req.get_wait_interest()
        assert interest is not None
        assert interest.fd >= 0
        assert interest.fd != wakeup_fd()
        assert (interest.read, interest.write) == (True, False)
        ready, elapsed = timed_wait([req], 0.2)
        assert ready == []
        assert elapsed >= 0.15
        req.cancel_request()
        assert req.get_wait_interest() is None


@pytest.mark.parametrize("attribute", ["timeout", "stall_timeout"])
def test_request_timeout_counts_down_and_wakes_the_waiter(silent: SilentServer, attribute: str):
    completions = []
    with HTTPRequest() as req:
        req.request_completed.connect(lambda *args: completions.append(args))
        setattr(req, attribute, 0.5)
        assert req.request(f"http://127.0.0.1:{silent.port}/") == Error.OK
        req.poll()  # connects and sends: activity, which restarts a stall timeout
        first = req.get_wait_timeout()
        assert first is not None
        assert 0 < first <= 0.5
        assert pollhttp.wait([req], 0.1) == []  # the server says nothing
        req.poll()
        second = req.get_wait_timeout()
        assert second is not None
        assert second <= first - 0.05
        elapsed = wait_until_due(req, 3.0)
        assert elapsed < 1.5  # not the caller's 10 s
        req.poll()
        assert [c[0] for c in completions] == [Result.RESULT_TIMEOUT]
        assert req.get_wait_interest() is None


def test_request_tls_handshake_deadline_is_in_its_wait_timeout():
    """A request with no timeout of its own still has the handshake's deadline to meet.

    Without it, pollhttp.wait(requests) with no timeout sleeps past connect_timeout and
    the handshake failure is never reported while the server stays silent.
    """
    with TLSServer([[ReadRaw(), Pause(10)]]) as server, HTTPRequest() as req:
        assert req.request(f"https://127.0.0.1:{server.port}/") == Error.OK
        deadline = time.monotonic() + 5.0
        while not (req.get_wait_interest() or READY_NOW).read:
            assert time.monotonic() < deadline
            req.poll()
        assert req.get_http_client_status() == Status.STATUS_CONNECTING  # handshaking
        left = req.get_wait_timeout()
        assert left is not None, "the handshake deadline is missing from get_wait_timeout()"
        assert 0 < left <= 30.0


def test_threaded_request_waits_on_the_wakeup_descriptor(silent: SilentServer):
    completions = []
    with HTTPRequest() as req:
        req.use_threads = True
        req.request_completed.connect(lambda *args: completions.append(args))
        assert req.request(f"http://127.0.0.1:{silent.port}/") == Error.OK
        # The worker connects and sends; the server side sees the request.
        peer = silent.accept()
        received = b""
        while b"\r\n\r\n" not in received:
            received += peer.recv(65536)
        for _ in range(3):  # poll() emits what the worker reported; then nothing is due
            for due in pollhttp.wait([req], 0.05):
                due.poll()
        req.poll()
        assert completions == []
        assert req.get_wait_interest() == wake_fd()
        ready, elapsed = timed_wait([req], 0.3)
        assert ready == []
        assert elapsed >= 0.25
        # The answer comes: the worker rings the wake-up descriptor, poll() delivers.
        peer.sendall(response(body=b"threaded"))
        deadline = time.monotonic() + 5.0
        while not completions:
            assert time.monotonic() < deadline
            for due in pollhttp.wait([req], 1.0):
                due.poll()
        assert completions[0][0] == Result.RESULT_SUCCESS
        assert completions[0][3] == b"threaded"
        assert req.get_wait_interest() is None


def test_threaded_request_finished_is_ready_now_until_polled():
    completions = []
    with ScriptedServer([[Read(), Send(response(body=b"done"))]]) as server, HTTPRequest() as req:
        req.use_threads = True
        req.request_completed.connect(lambda *args: completions.append(args))
        assert req.request(f"http://127.0.0.1:{server.port}/") == Error.OK
        deadline = time.monotonic() + 5.0
        while req.get_wait_interest() != READY_NOW or req.get_downloaded_bytes() < 4:
            assert time.monotonic() < deadline
            pollhttp.wait([req], 0.5)
        assert completions == []  # the worker finished; the callback waits for poll()
        assert req.get_wait_interest() == READY_NOW
        req.poll()
        assert [c[3] for c in completions] == [b"done"]
        assert req.get_wait_interest() is None


def _wait_into(woke: dict[str, list], name: str, client: HTTPClient) -> None:
    woke[name] = pollhttp.wait([client], 0.5)


def test_two_threads_waiting_on_lookups_each_see_their_ring():
    """The wake-up descriptor is shared by the whole process: a thread that drains it for its
    own wait must not swallow the ring another thread's finished lookup made.

    Two threads each wait on a client whose lookup is pending; only the first lookup
    finishes. The first thread must wake for it every time (not sleep to its timeout
    because the second thread, woken by the same ring, emptied the descriptor first).
    """
    for trial in range(200):
        first, second = GatedResolver(1), GatedResolver(1)
        a, b = HTTPClient(resolver=first), HTTPClient(resolver=second)
        try:
            assert a.connect_to_host("first.test", 80) == Error.OK
            assert b.connect_to_host("second.test", 80) == Error.OK
            woke: dict[str, list] = {}

            threads = [
                threading.Thread(target=_wait_into, args=(woke, "first", a)),
                threading.Thread(target=_wait_into, args=(woke, "second", b)),
            ]
            for thread in threads:
                thread.start()
            first.release_all()
            threads[0].join(5)
            second.release_all()  # now the second thread may go too
            threads[1].join(5)
            assert woke["first"] == [a], f"trial {trial}: the first thread missed its ring"
        finally:
            a.close()
            b.close()
