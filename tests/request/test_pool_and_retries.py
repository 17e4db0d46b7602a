"""HTTPRequest with a ConnectionPool and a Retry policy, over scripted servers on 127.0.0.1.

Retries never sleep inside poll(): the backoff is a deadline that get_wait_timeout()
reports. A request that may have reached the server is resent only when the policy's
allowed_methods say so.
"""

from __future__ import annotations

import time

import pytest

import pollhttp
from pollhttp import Error, HTTPRequest, InvalidParameterError, Method, Result
from pollhttp.pool import ConnectionPool
from pollhttp.retry import Retry

from ..support.servers import Close, Read, Reset, ScriptedServer, Send, response
from .conftest import Recorded, complete

OK = response(body=b"ok")


def url(server: ScriptedServer, path: str = "/") -> str:
    return f"http://127.0.0.1:{server.port}{path}"


@pytest.fixture
def pool():
    with ConnectionPool() as made:
        yield made


def test_requests_of_one_pool_share_a_kept_alive_connection(pool):
    with ScriptedServer([[Read(), Send(OK)] * 10]) as server:
        runs = [Recorded(HTTPRequest(pool=pool)) for _ in range(10)]
        for run in runs:  # one after another: each finds the connection idle in the pool
            assert run.req.request(url(server)) == Error.OK
            assert complete(run)[:2] == (Result.RESULT_SUCCESS, 200)
        for run in runs:
            run.req.close()
    assert server.connections == 1
    assert len(server.requests) == 10


def test_a_full_pool_makes_requests_wait_for_a_release_without_spinning():
    pool = ConnectionPool(max_per_host=1)
    with ScriptedServer([[Read(), Send(OK)] * 3]) as server:
        runs = [Recorded(HTTPRequest(pool=pool)) for _ in range(3)]
        for run in runs:
            assert run.req.request(url(server)) == Error.OK
        deadline = time.monotonic() + 5
        polls = 0
        while any(not run.completions for run in runs):
            assert time.monotonic() < deadline
            for req in pollhttp.wait([run.req for run in runs], 1.0):
                req.poll()
                polls += 1
        assert all(run.completions[0][:2] == (Result.RESULT_SUCCESS, 200) for run in runs)
        assert polls < 200  # woken by releases, not by a busy loop
        for run in runs:
            run.req.close()
    pool.close()
    assert server.connections == 1


def test_the_pool_is_set_between_requests_only(pool):
    with ScriptedServer([[Read(), Send(OK)]]) as server:
        req = HTTPRequest()
        assert req.request(url(server)) == Error.OK
        req.pool = pool  # refused while a request runs: the last error says why
        assert req.pool is None
        assert "pool cannot change" in str(req.get_last_error())
        req.close()
    with pytest.raises(TypeError, match="pool"):
        HTTPRequest(pool="yes")  # type: ignore[arg-type]


def test_503_with_retry_after_is_retried_after_that_long():
    busy = response("503 Service Unavailable", ["Retry-After: 1"], b"busy")
    # A retry goes on a new connection (the answer being retried is not read away).
    with ScriptedServer([[Read(), Send(busy)], [Read(), Send(OK)]]) as server:
        run = Recorded(HTTPRequest(retries=Retry(total=2, backoff_max=5)))
        start = time.monotonic()
        assert run.req.request(url(server)) == Error.OK
        waits = []
        deadline = time.monotonic() + 5
        while not run.completions:
            assert time.monotonic() < deadline
            run.req.poll()
            due = run.req.get_wait_timeout()
            if due is not None:
                waits.append(due)
            run.req.wait(due)
        elapsed = time.monotonic() - start
        run.req.close()
    assert run.completions[0][:2] == (Result.RESULT_SUCCESS, 200)
    assert bytes(run.completions[0][3]) == b"ok"
    assert 0.8 < max(waits) <= 1.0  # the backoff showed in get_wait_timeout()
    assert elapsed >= 1.0
    assert len(server.requests) == 2


def test_backoff_doubles_and_is_capped_and_poll_never_sleeps():
    busy = response("502 Bad Gateway", body=b"")
    scripts = [[Read(), Send(busy)]] * 3 + [[Read(), Send(OK)]]
    with ScriptedServer(scripts) as server:
        run = Recorded(HTTPRequest(retries=Retry(total=3, backoff_factor=0.1, backoff_max=0.3)))
        assert run.req.request(url(server)) == Error.OK
        longest_poll = 0.0
        waits: list[float] = []
        deadline = time.monotonic() + 5
        while not run.completions:
            assert time.monotonic() < deadline
            start = time.monotonic()
            run.req.poll()
            longest_poll = max(longest_poll, time.monotonic() - start)
            due = run.req.get_wait_timeout()
            if due:
                waits.append(due)
            run.req.wait(due)
        run.req.close()
    assert run.completions[0][:2] == (Result.RESULT_SUCCESS, 200)
    assert len(server.requests) == 4
    # Retries 1, 2, 3 wait 0, 0.2 and 0.3 (0.4 capped by backoff_max).
    assert 0.15 < max(waits) <= 0.3
    assert longest_poll < 0.15  # the backoff is never slept inside poll()


def test_retries_spent_give_the_last_answer():
    busy = response("503 Service Unavailable", body=b"busy")
    with ScriptedServer([[Read(), Send(busy)]]) as server:
        run = Recorded(HTTPRequest(retries=2))
        assert run.req.request(url(server)) == Error.OK
        result = complete(run)
        run.req.close()
    assert result[:2] == (Result.RESULT_SUCCESS, 503)
    assert bytes(result[3]) == b"busy"
    assert len(server.requests) == 3


def test_a_post_is_not_resent_after_a_reset_mid_response():
    partial = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhal"
    with ScriptedServer([[Read(), Send(partial), Reset()], [Read(), Send(OK)]]) as server:
        run = Recorded(HTTPRequest(retries=3))
        assert run.req.request(url(server), [], Method.METHOD_POST, b"once") == Error.OK
        result = complete(run)
        run.req.close()
    assert result[0] == Result.RESULT_CONNECTION_ERROR
    assert server.connections == 1  # sent once, never again


def test_a_post_is_resent_when_the_policy_allows_it():
    partial = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhal"
    with ScriptedServer([[Read(), Send(partial), Reset()], [Read(), Send(OK)]]) as server:
        policy = Retry(total=1, allowed_methods=frozenset({"POST"}))
        run = Recorded(HTTPRequest(retries=policy))
        assert run.req.request(url(server), [], Method.METHOD_POST, b"again") == Error.OK
        result = complete(run)
        run.req.close()
    assert result[:2] == (Result.RESULT_SUCCESS, 200)
    assert bytes(result[3]) == b"ok"
    assert server.connections == 2


def test_a_get_that_got_no_answer_is_retried_on_a_new_connection():
    with ScriptedServer([[Read(), Close()], [Read(), Send(OK)]]) as server:
        run = Recorded(HTTPRequest(retries=1))
        assert run.req.request(url(server)) == Error.OK
        result = complete(run)
        run.req.close()
    assert result[:2] == (Result.RESULT_SUCCESS, 200)
    assert server.connections == 2


def test_without_retries_nothing_is_retried():
    with ScriptedServer([[Read(), Close()], [Read(), Send(OK)]]) as server:
        run = Recorded(HTTPRequest())
        assert run.req.request(url(server)) == Error.OK
        result = complete(run)
        run.req.close()
    assert result[0] == Result.RESULT_NO_RESPONSE
    assert server.connections == 1


@pytest.mark.parametrize("value", ["3", -1, 2.5, object()])
def test_bad_retries_are_refused(value):
    with pytest.raises(InvalidParameterError):
        HTTPRequest().retries = value
