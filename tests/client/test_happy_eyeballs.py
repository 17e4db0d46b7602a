"""Happy Eyeballs (RFC 8305): addresses raced inside poll(), losers closed, waiting on all.

Everything runs on loopback. A "blackholed" address is a listener whose accept queue is
full: Linux then drops new SYNs, so a connect to it hangs, as one to a broken IPv6 route
does. The fake resolver returns it first and a good address second.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator

import pytest

import pollhttp
from pollhttp import ConnectError, Error, HTTPClient, Resolution, Status
from pollhttp._connector import interleave

from ..support.polling import poll_while_waiting, read_body, tcp_connection_of
from ..support.servers import Read, ScriptedServer, Send, needs_ipv6, response
from ..waiting.conftest import cpu_share

OK_SCRIPT = [Read(), Send(response(body=b"ok"))]


class Blackhole:
    """A listening port on ``host`` whose connects hang: its accept queue is kept full."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.socket(family)
        self.listener.bind((host, 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.fillers: list[socket.socket] = []
        # With backlog 0 the queue holds one connection; a few more make sure it is full.
        for _ in range(3):
            filler = socket.socket(family)
            filler.setblocking(False)
            filler.connect_ex((host, self.port))
            self.fillers.append(filler)
        deadline = time.monotonic() + 2
        probe = socket.socket(family)
        probe.setblocking(False)
        probe.connect_ex((host, self.port))
        self.fillers.append(probe)
        # The probe must stay unconnected: the port really swallows connects.
        assert time.monotonic() < deadline
        assert probe.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0

    def close(self) -> None:
        for sock in (*self.fillers, self.listener):
            sock.close()


@pytest.fixture
def blackhole() -> Iterator[Blackhole]:
    hole = Blackhole()
    yield hole
    hole.close()


def resolving_to(*addresses: tuple[str, int]):
    return lambda host, port: Resolution.finished(list(addresses))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def connect_and_time(client: HTTPClient, timeout: float = 5.0) -> float:
    start = time.monotonic()
    assert client.connect_to_host("dual.test", 80) == Error.OK
    poll_while_waiting(client, timeout)
    return time.monotonic() - start


def test_families_are_interleaved_starting_with_the_resolvers_first_choice():
    v6 = [("::1", 1), ("::2", 2), ("::3", 3)]
    v4 = [("10.0.0.1", 4), ("10.0.0.2", 5)]
    assert interleave(v6 + v4) == [v6[0], v4[0], v6[1], v4[1], v6[2]]
    assert interleave(v4 + v6) == [v4[0], v6[0], v4[1], v6[1], v6[2]]
    assert interleave(v4) == v4
    assert interleave([]) == []


def test_a_hanging_first_address_costs_the_delay_not_the_connect_timeout(blackhole):
    with ScriptedServer([OK_SCRIPT]) as srv:
        client = HTTPClient(
            resolver=resolving_to(("127.0.0.1", blackhole.port), ("127.0.0.1", srv.port))
        )
        client.happy_eyeballs_delay = 0.2
        elapsed = connect_and_time(client)
        assert client.get_status() == Status.STATUS_CONNECTED, client.get_last_error()
        assert tcp_connection_of(client).get_connected_port() == srv.port
        # About the delay: far below the 30 s connect_timeout the sequential way costs.
        assert 0.19 <= elapsed < 2.0
        assert client.request(HTTPClient.METHOD_GET, "/", []) == Error.OK
        poll_while_waiting(client)
        assert read_body(client) == b"ok"
        client.close()


def test_while_racing_the_interest_covers_every_attempt_and_the_timeout_the_next(blackhole):
    other = Blackhole()
    try:
        client = HTTPClient(
            resolver=resolving_to(
                ("127.0.0.1", blackhole.port),
                ("127.0.0.1", other.port),
                ("127.0.0.1", closed_port()),
            )
        )
        client.happy_eyeballs_delay = 0.5
        assert client.connect_to_host("dual.test", 80) == Error.OK
        client.poll()  # the lookup is done: the first attempt starts
        assert client.get_status() == Status.STATUS_CONNECTING
        interest = client.get_wait_interest()
        assert interest is not None
        assert (interest.read, interest.write, interest.others) == (False, True, ())
        wait_timeout = client.get_wait_timeout()
        assert wait_timeout is not None
        assert 0.3 < wait_timeout <= 0.5  # when the next attempt starts
        # pollhttp.wait() sleeps until the next attempt is due, not longer.
        start = time.monotonic()
        assert pollhttp.wait([client], 5.0) == [client]
        assert 0.3 < time.monotonic() - start < 1.5
        client.poll()
        interest = client.get_wait_interest()
        assert interest is not None
        assert len(interest.descriptors()) == 2
        assert len(set(interest.descriptors())) == 2
        client.close()
    finally:
        other.close()


def test_a_refused_first_address_moves_on_at_once():
    with ScriptedServer([OK_SCRIPT]) as srv:
        for delay in (2.0, None):
            client = HTTPClient(
                resolver=resolving_to(("127.0.0.1", closed_port()), ("127.0.0.1", srv.port))
            )
            client.happy_eyeballs_delay = delay
            elapsed = connect_and_time(client)
            assert client.get_status() == Status.STATUS_CONNECTED, client.get_last_error()
            assert tcp_connection_of(client).get_connected_port() == srv.port
            assert elapsed < 1.0, delay  # neither the delay nor a timeout
            client.close()


def test_without_racing_a_hanging_address_waits_for_its_timeout(blackhole):
    with ScriptedServer([OK_SCRIPT]) as srv:
        client = HTTPClient(
            resolver=resolving_to(("127.0.0.1", blackhole.port), ("127.0.0.1", srv.port))
        )
        client.happy_eyeballs_delay = None
        client.connect_timeout = 0.6
        elapsed = connect_and_time(client)
        assert client.get_status() == Status.STATUS_CONNECTED
        assert elapsed >= 0.6  # the first address had its whole timeout, as in Godot
        client.close()


def test_every_attempt_failing_reports_each_error():
    ports = [closed_port(), closed_port()]
    client = HTTPClient(resolver=resolving_to(*(("127.0.0.1", port) for port in ports)))
    client.connect_to_host("dual.test", 80)
    poll_while_waiting(client)
    assert client.get_status() == Status.STATUS_CANT_CONNECT
    error = client.get_last_error()
    assert isinstance(error, ConnectError)
    for port in ports:
        assert f"port {port}" in str(error)
    assert str(error).lower().count("refused") == 2


def test_connect_timeout_runs_from_the_first_attempt(blackhole):
    other = Blackhole()
    try:
        client = HTTPClient(
            resolver=resolving_to(("127.0.0.1", blackhole.port), ("127.0.0.1", other.port))
        )
        client.happy_eyeballs_delay = 0.1
        client.connect_timeout = 0.5
        elapsed = connect_and_time(client)
        assert client.get_status() == Status.STATUS_CANT_CONNECT
        # Both attempts end at the one deadline, not 0.5 s each after their own start.
        assert 0.5 <= elapsed < 0.9
        assert str(client.get_last_error()).count("timed out") == 2
    finally:
        other.close()


@pytest.mark.parametrize("mode", ["blocking", "wait"])
def test_blocking_mode_and_wait_sleep_on_every_attempt(blackhole, mode):
    with ScriptedServer([OK_SCRIPT]) as srv:
        client = HTTPClient(
            resolver=resolving_to(("127.0.0.1", blackhole.port), ("127.0.0.1", srv.port))
        )
        client.happy_eyeballs_delay = 0.2
        client.blocking_mode_enabled = mode == "blocking"
        assert client.connect_to_host("dual.test", 80) == Error.OK
        polls = 0
        deadline = time.monotonic() + 5
        while client.get_status() in (Status.STATUS_RESOLVING, Status.STATUS_CONNECTING):
            assert time.monotonic() < deadline
            if mode == "wait":
                pollhttp.wait([client], 5.0)
            client.poll()
            polls += 1
        assert client.get_status() == Status.STATUS_CONNECTED, client.get_last_error()
        assert polls < 20  # it slept between polls instead of spinning
        client.close()


def test_racing_costs_no_cpu(blackhole):
    other = Blackhole()
    try:
        client = HTTPClient(
            resolver=resolving_to(("127.0.0.1", blackhole.port), ("127.0.0.1", other.port))
        )
        client.happy_eyeballs_delay = 0.1
        client.connect_timeout = 30
        assert client.connect_to_host("dual.test", 80) == Error.OK

        def step() -> None:
            pollhttp.wait([client], 0.5)
            client.poll()

        share, calls = cpu_share(step, 1.5)
        assert client.get_status() == Status.STATUS_CONNECTING
        interest = client.get_wait_interest()
        assert interest is not None
        assert len(interest.descriptors()) == 2
        assert share < 0.05, (share, calls)
        client.close()
    finally:
        other.close()


def test_the_losing_attempts_are_closed(blackhole):
    # The winner's port only listens: connects complete in the kernel's queue, so the
    # only descriptors this process opens are the clients' own.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1024)
        port = listener.getsockname()[1]
        resolver = resolving_to(("127.0.0.1", blackhole.port), ("127.0.0.1", port))

        def race(count: int) -> None:
            """``count`` clients at once, each with a hanging attempt that loses."""
            clients = [HTTPClient(resolver=resolver) for _ in range(count)]
            for client in clients:
                client.happy_eyeballs_delay = 0.1
                client.connect_to_host("dual.test", 80)
            deadline = time.monotonic() + 10
            while any(c.get_status() != Status.STATUS_CONNECTED for c in clients):
                assert time.monotonic() < deadline
                for client in pollhttp.wait(clients, 1.0) or clients:
                    client.poll()
                assert not any(c.get_status() == Status.STATUS_CANT_CONNECT for c in clients)
            for client in clients:
                assert tcp_connection_of(client).get_connected_port() == port
                client.close()

        race(1)
        before = open_fds()
        for _ in range(10):
            race(20)  # 200 connects, each with a loser
            while True:  # empty the queue, so that it never fills up
                listener.setblocking(False)
                try:
                    listener.accept()[0].close()
                except BlockingIOError:
                    break
        assert open_fds() == before  # no descriptor left behind per connect


@needs_ipv6
def test_a_hanging_ipv6_address_then_a_good_ipv4_one():
    hole = Blackhole("::1")
    try:
        with ScriptedServer([OK_SCRIPT]) as srv:
            client = HTTPClient(resolver=resolving_to(("::1", hole.port), ("127.0.0.1", srv.port)))
            elapsed = connect_and_time(client)  # the default delay, 0.25 s
            assert client.get_status() == Status.STATUS_CONNECTED, client.get_last_error()
            assert tcp_connection_of(client).get_connected_host() == "127.0.0.1"
            assert 0.24 <= elapsed < 2.0
            client.close()
    finally:
        hole.close()


@pytest.mark.parametrize("value", [0.05, 2.5, -1, float("nan"), "0.3"])
def test_happy_eyeballs_delay_is_checked(value):
    client = HTTPClient()
    with pytest.raises(pollhttp.InvalidParameterError, match="happy_eyeballs_delay"):
        client.happy_eyeballs_delay = value
    assert client.get_happy_eyeballs_delay() == 0.25
