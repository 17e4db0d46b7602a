"""ConnectionPool against nginx: reuse counted in nginx's log ($connection), limits per host,
idle connections that the server closed or that outlived idle_timeout never lent again.
"""

from __future__ import annotations

import select
import socket
import threading
import time

import pytest

import pollhttp
from pollhttp import Error, HTTPClient, InvalidParameterError, InvalidTypeError, Status
from pollhttp.pool import ConnectionPool

from ..support.nginx import query
from ..support.polling import connection_of, fetch, poll_while_waiting
from .conftest import Site

pytestmark = pytest.mark.nginx


def borrow(pool: ConnectionPool, port: int, key: object = None) -> HTTPClient:
    """A connected client for 127.0.0.1:port from the pool."""
    key = key if key is not None else ("http", "127.0.0.1", port)
    client = pool.acquire(key)
    assert client is not None
    if client.get_status() is not Status.STATUS_CONNECTED:
        assert client.connect_to_host("127.0.0.1", port) == Error.OK
        poll_while_waiting(client)
        assert client.get_status() is Status.STATUS_CONNECTED, client.get_last_error()
    return client


def test_100_requests_through_the_pool_use_one_connection(site: Site):
    key = ("http", "127.0.0.1", site.port)
    with ConnectionPool() as pool:
        for index in range(100):
            client = borrow(pool, site.port)
            assert fetch(client, query("/hello.txt", "pool100", i=index)) == site.hello
            pool.release(key, client)
            assert pool.connections(key) == (0, 1)
    entries = site.server.tagged("pool100", 100)
    assert len({entry.connection for entry in entries}) == 1
    assert [entry.requests for entry in entries] == list(range(1, 101))


def test_at_most_max_per_host_connections_for_64_transfers(site: Site):
    key = ("http", "127.0.0.1", site.port)
    with ConnectionPool(max_per_host=8) as pool:
        pending = list(range(64))
        active: dict[HTTPClient, tuple[int, bool]] = {}  # client: (index, request sent)
        deadline = time.monotonic() + 30
        while pending or active:
            assert time.monotonic() < deadline
            while pending:
                client = pool.acquire(key)
                if client is None:
                    break  # all 8 are out: the next release makes room
                if client.get_status() is not Status.STATUS_CONNECTED:
                    client.connect_to_host("127.0.0.1", site.port)
                active[client] = (pending.pop(), False)
            assert len(active) <= 8
            assert sum(pool.connections(key)) <= 8
            for client, (index, sent) in list(active.items()):
                status = client.get_status()
                if status is Status.STATUS_CONNECTED and not sent:
                    path = query("/data.bin", "pool64", i=index)
                    assert client.request(HTTPClient.METHOD_GET, path, []) == Error.OK
                    active[client] = (index, True)
                elif status is Status.STATUS_BODY:
                    client.read_response_body_chunk()
                elif status is Status.STATUS_CONNECTED:  # the body is complete
                    assert client.get_response_code() == 200
                    del active[client]
                    pool.release(key, client)
                else:
                    assert status in (Status.STATUS_CONNECTING, Status.STATUS_REQUESTING)
                    client.poll()
            pollhttp.wait(list(active), 1.0)
    entries = site.server.tagged("pool64", 64)
    assert all(entry.status == 200 for entry in entries)
    assert len({entry.connection for entry in entries}) <= 8


def test_an_idle_connection_the_server_closed_is_not_lent(site: Site):
    key = ("http", "127.0.0.1", site.port)
    with ConnectionPool() as pool:
        first = borrow(pool, site.port)
        # /idle/ has keepalive_timeout 200ms: nginx closes the connection soon after.
        assert fetch(first, query("/idle/hello.txt", "pool-idle", n=1)) == site.hello
        pool.release(key, first)
        fd = connection_of(first).fileno()
        assert select.select([fd], [], [], 5)[0]  # the server's close has arrived
        second = borrow(pool, site.port)
        assert second is not first  # the dead one was dropped, never lent
        assert first.get_status() is Status.STATUS_DISCONNECTED
        assert fetch(second, query("/idle/hello.txt", "pool-idle", n=2)) == site.hello
        pool.release(key, second)
    first_entry, second_entry = site.server.tagged("pool-idle", 2)
    assert first_entry.connection != second_entry.connection


def test_a_connection_idle_longer_than_idle_timeout_is_closed_not_lent(site: Site):
    now = [0.0]
    key = ("http", "127.0.0.1", site.port)
    with ConnectionPool(idle_timeout=5.0, clock=lambda: now[0]) as pool:
        first = borrow(pool, site.port)
        assert fetch(first, "/hello.txt") == site.hello
        pool.release(key, first)
        now[0] = 4.9
        again = borrow(pool, site.port)
        assert again is first
        pool.release(key, again)
        now[0] = 10.0  # 5.1 s after the last release
        fresh = borrow(pool, site.port)
        assert fresh is not first
        assert first.get_status() is Status.STATUS_DISCONNECTED
        pool.release(key, fresh)


def test_bytes_written_to_an_idle_pooled_connection_get_it_dropped():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = listener.getsockname()[1]
        key = ("http", "127.0.0.1", port)
        with ConnectionPool() as pool:
            client = pool.acquire(key)
            assert client is not None
            client.connect_to_host("127.0.0.1", port)
            poll_while_waiting(client)
            server_side, _ = listener.accept()
            pool.release(key, client)
            server_side.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL")
            assert select.select([connection_of(client).fileno()], [], [], 5)[0]
            lent = pool.acquire(key)
            assert lent is not client  # dropped, never lent with a poisoned queue
            assert client.get_status() is Status.STATUS_DISCONNECTED
            assert isinstance(client.get_last_error(), pollhttp.StaleConnectionError)
            assert lent is not None
            assert lent.get_status() is Status.STATUS_DISCONNECTED  # a new one to connect
            pool.release(key, lent)
            server_side.close()


def test_closing_the_pool_closes_idle_now_and_lent_when_they_come_back(site: Site):
    key = ("http", "127.0.0.1", site.port)
    pool = ConnectionPool()
    idle = borrow(pool, site.port)
    lent = borrow(pool, site.port)
    pool.release(key, idle)
    pool.close()
    assert pool.closed
    assert idle.get_status() is Status.STATUS_DISCONNECTED
    assert lent.get_status() is Status.STATUS_CONNECTED
    assert fetch(lent, "/hello.txt") == site.hello  # in flight: it finishes
    pool.release(key, lent)
    assert lent.get_status() is Status.STATUS_DISCONNECTED
    with pytest.raises(RuntimeError, match="closed"):
        pool.acquire(key)


def test_max_idle_per_host_closes_the_oldest(site: Site):
    key = ("http", "127.0.0.1", site.port)
    with ConnectionPool(max_idle_per_host=1) as pool:
        a = borrow(pool, site.port)
        b = borrow(pool, site.port)
        pool.release(key, a)
        pool.release(key, b)
        assert pool.connections(key) == (0, 1)
        assert a.get_status() is Status.STATUS_DISCONNECTED
        assert borrow(pool, site.port) is b
        pool.release(key, b)


def test_threads_share_a_pool(site: Site):
    key = ("http", "127.0.0.1", site.port)
    errors: list[BaseException] = []
    with ConnectionPool(max_per_host=4) as pool:

        def worker(number: int) -> None:
            try:
                for index in range(10):
                    deadline = time.monotonic() + 10
                    client = pool.acquire(key)
                    while client is None:
                        assert time.monotonic() < deadline
                        pollhttp.wait([], 0.01)
                        client = pool.acquire(key)
                    if client.get_status() is not Status.STATUS_CONNECTED:
                        client.connect_to_host("127.0.0.1", site.port)
                        poll_while_waiting(client)
                    path = query("/hello.txt", "threads", w=number, i=index)
                    assert fetch(client, path) == site.hello
                    pool.release(key, client)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not errors, errors
        assert sum(pool.connections(key)) <= 4
    entries = site.server.tagged("threads", 80)
    assert len({entry.connection for entry in entries}) <= 4


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_per_host": 0},
        {"max_per_host": "8"},
        {"max_idle_per_host": -1},
        {"idle_timeout": -1},
        {"idle_timeout": float("nan")},
        {"ip_version": 5},
        {"happy_eyeballs_delay": 9},
        {"connect_timeout": -1},
        {"resolve_overrides": {"bad": ["x"]}},
        {"max_per_host": None},
        {"resolver": "localhost"},
        {"limits": 203},
        {"clock": None},
        {"clock": len},
    ],
)
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(InvalidParameterError):
        ConnectionPool(**kwargs)


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("max_per_host", None, "max_per_host must be an int"),
        ("max_per_host", 0, "max_per_host must be 1.."),
        ("max_idle_per_host", "2", "max_idle_per_host must be an int"),
        ("idle_timeout", "5", "idle_timeout must be a number of seconds"),
        ("resolver", {}, "resolver must be callable"),
        ("limits", 203, "limits must be Limits or None"),
    ],
    ids=repr,
)
def test_settings_are_checked_when_set(name, value, error):
    """A setting refused leaves the one before: acquire() never fails on it later."""
    with ConnectionPool(resolver=lambda host, port: pollhttp.Resolution()) as pool:
        before = getattr(pool, name)
        with pytest.raises(InvalidParameterError, match=error):
            setattr(pool, name, value)
        assert getattr(pool, name) == before
        client = pool.acquire(("http", "a.test", 80))
        assert isinstance(client, HTTPClient)
        pool.release(("http", "a.test", 80), client)


def test_settings_set_later_apply_to_new_clients():
    limits = pollhttp.Limits(max_headers=5)
    with ConnectionPool() as pool:
        pool.limits = limits
        pool.max_per_host = 1
        client = pool.acquire("key")
        assert client is not None
        assert client.limits is limits
        assert pool.acquire("key") is None  # one at most now


@pytest.mark.parametrize("key", [["http", "a.test", 80], {}, ("http", ["a.test"]), bytearray()])
def test_an_unhashable_key_is_refused_by_name(key):
    with ConnectionPool() as pool:
        for call in (pool.acquire, pool.connections):
            with pytest.raises(InvalidTypeError, match="key must be hashable") as raised:
                call(key)
            assert isinstance(raised.value, TypeError)
        with pytest.raises(InvalidTypeError, match="key must be hashable"):
            pool.release(key, HTTPClient())


@pytest.mark.parametrize("client", [None, "client", ConnectionPool], ids=repr)
def test_release_needs_the_client_that_was_lent(client):
    key = ("http", "a.test", 80)
    with ConnectionPool() as pool:
        lent = pool.acquire(key)
        assert lent is not None
        with pytest.raises(InvalidTypeError, match="client must be the HTTPClient"):
            pool.release(key, client)
        assert pool.connections(key) == (1, 0)  # still lent: nothing was taken back
        pool.release(key, lent)
        assert pool.connections(key) == (0, 0)
