"""Session, the top-level functions and aio against nginx: connections counted in its log.

nginx's ``$connection`` (a serial number per connection) shows which requests shared a
connection; ``/idle/`` closes kept-alive connections 200 ms after a response.
"""

from __future__ import annotations

import asyncio
import select
import time

import pytest

import pollhttp
from pollhttp import HTTPRequest, HTTPStatusError, InvalidParameterError, Session, aio
from pollhttp.pool import ConnectionPool

from ..support.nginx import query
from ..support.polling import connection_of
from .conftest import Site

pytestmark = pytest.mark.nginx


def base(site: Site) -> str:
    return f"http://127.0.0.1:{site.port}"


def test_100_session_gets_use_one_connection(site: Site):
    with Session(base_url=base(site)) as session:
        for index in range(100):
            response = session.get(query("/hello.txt", "session100", i=index))
            assert response.status_code == 200
            assert response.content == site.hello
    entries = site.server.tagged("session100", 100)
    assert len({entry.connection for entry in entries}) == 1


def test_100_top_level_gets_use_one_connection(site: Site):
    for index in range(100):
        response = pollhttp.get(base(site) + query("/hello.txt", "toplevel100", i=index))
        assert response.content == site.hello
    entries = site.server.tagged("toplevel100", 100)
    assert len({entry.connection for entry in entries}) == 1


def test_aio_gets_reuse_connections_and_aio_session_works(site: Site):
    async def main() -> None:
        for index in range(20):
            got = await aio.get(base(site) + query("/hello.txt", "aio20", i=index))
            assert got.content == site.hello
        async with aio.Session(base_url=base(site)) as session:
            results = await asyncio.gather(
                *(session.get(query("/hello.txt", "aiosession", i=i)) for i in range(8))
            )
        assert [r.content for r in results] == [site.hello] * 8

    asyncio.run(main())
    assert len({entry.connection for entry in site.server.tagged("aio20", 20)}) == 1
    assert len({entry.connection for entry in site.server.tagged("aiosession", 8)}) <= 8


def test_64_requests_share_a_pool_of_8(site: Site):
    with ConnectionPool(max_per_host=8) as pool:
        requests = [HTTPRequest(pool=pool) for _ in range(64)]
        done: list[int] = []
        for index, req in enumerate(requests):
            req.request_completed.connect(lambda result, code, *_: done.append(code))
            url = base(site) + query("/data.bin", "pool64req", i=index)
            assert req.request(url) == pollhttp.Error.OK
        pending = list(requests)
        deadline = time.monotonic() + 30
        while len(done) < 64:
            assert time.monotonic() < deadline
            for req in pollhttp.wait(pending, 1.0):
                req.poll()
        for req in requests:
            req.close()
    assert done == [200] * 64
    entries = site.server.tagged("pool64req", 64)
    assert len({entry.connection for entry in entries}) <= 8


def test_a_server_closing_idle_connections_is_handled_by_reconnecting(site: Site):
    with Session(base_url=base(site)) as session:
        for index in range(3):
            response = session.get(query("/idle/hello.txt", "idlesession", i=index))
            assert response.content == site.hello
            # nginx closes the connection 200 ms later: wait until the close has arrived.
            (key, (lent, idle)) = next(iter(_pool_state(session.pool)))
            assert (lent, idle) == (0, 1)
            client = session.pool._hosts[key].idle[0][0]  # the idle connection
            assert select.select([connection_of(client).fileno()], [], [], 5)[0]
    entries = site.server.tagged("idlesession", 3)
    assert len({entry.connection for entry in entries}) == 3  # each on a new connection


def _pool_state(pool: ConnectionPool):
    return [(key, pool.connections(key)) for key in list(pool._hosts)]


def test_session_settings_reach_the_server(site: Site):
    with Session(
        base_url=base(site),
        headers={"X-Session": "1", "User-Agent": "sessions/1"},
        params={"a": "1"},
        auth=("user", "secret"),
    ) as session:
        response = session.get("/hello.txt", params={"t": "settings"}, headers={"X-Call": "2"})
    assert response.status_code == 200
    assert response.reason == "OK"
    assert response.http_version == "1.1"
    assert response.elapsed > 0
    assert response.request_headers["x-session"] == "1"
    assert response.request_headers["x-call"] == "2"
    assert response.request_headers["user-agent"] == "sessions/1"
    assert response.request_headers["authorization"] == "Basic dXNlcjpzZWNyZXQ="
    (entry,) = site.server.tagged("settings", 1)
    assert entry.uri == "/hello.txt?a=1&t=settings"


def test_history_and_raise_for_status(site: Site):
    with Session(base_url=base(site)) as session:
        missing = session.get("/missing.txt")
    assert missing.status_code == 404
    with pytest.raises(HTTPStatusError) as raised:
        missing.raise_for_status()
    assert raised.value.response is missing
    assert raised.value.status_code == 404


@pytest.mark.parametrize(
    "kwargs",
    [
        {"verify": "/nonexistent/ca.pem"},
        {"verify": 3},
        {"auth": "user:secret"},
        {"timeout": -1},
        {"max_redirects": "8"},
        {"retries": "3"},
        {"proxies": {"http": "ftp://proxy"}},
        {"max_per_host": 0},
    ],
)
def test_bad_session_settings_are_refused_at_once(kwargs):
    with pytest.raises(InvalidParameterError):
        Session(**kwargs)


def test_a_result_of_a_failed_call_raises(site: Site):
    with (
        Session(base_url="http://127.0.0.1:9", timeout=5) as session,
        pytest.raises(pollhttp.ConnectError),
    ):
        session.get("/")
