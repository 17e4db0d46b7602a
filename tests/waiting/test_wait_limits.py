"""Wait and timeout limits: infinite or huge is no limit and never overflows; negative or NaN
is refused at the call.

A selector takes at most about 24.8 days at once (milliseconds in a C int): past that,
Python raises OverflowError, even when a descriptor is ready already.
"""

from __future__ import annotations

import asyncio
import math
import time

import pytest

import pollhttp
import pollhttp.aio
from pollhttp import (
    Error,
    HTTPRequest,
    InvalidParameterError,
    InvalidTypeError,
    Result,
    Status,
)
from pollhttp.waiter import LONGEST_SLEEP

from ..support.servers import Read, ScriptedServer, Send, response
from .conftest import SilentServer

BODY = b"no limit"
ANSWER = [Read(), Send(response(body=BODY))]
UNLIMITED = [math.inf, 1e308, None]
# Within NO_LIMIT, so kept as a real limit, yet far past what one selector call takes.
HUGE = 5e5  # past a day (one selector call), below NO_LIMIT (no limit)


def url(server: ScriptedServer | SilentServer) -> str:
    return f"http://127.0.0.1:{server.port}/"


def drive_with_pollhttp_wait(req: HTTPRequest, timeout: float | None) -> list[tuple]:
    done: list[tuple] = []
    req.request_completed.connect(lambda *args: done.append(args))
    deadline = time.monotonic() + 5
    while not done:
        assert time.monotonic() < deadline, "no completion in time"
        for ready in pollhttp.wait([req], timeout):
            ready.poll()
    return done


def drive_with_its_own_wait(req: HTTPRequest, timeout: float | None) -> list[tuple]:
    done: list[tuple] = []
    req.request_completed.connect(lambda *args: done.append(args))
    deadline = time.monotonic() + 5
    while not done:
        assert time.monotonic() < deadline, "no completion in time"
        req.poll()
        if not done:
            req.wait(timeout)
    return done


@pytest.mark.parametrize("timeout", [*UNLIMITED, HUGE], ids=str)
@pytest.mark.parametrize(
    "drive", [drive_with_pollhttp_wait, drive_with_its_own_wait], ids=["pollhttp.wait", "wait"]
)
@pytest.mark.parametrize("threads", [False, True], ids=["poll", "threads"])
def test_waits_without_a_limit(requests_, drive, timeout, threads):
    with ScriptedServer([ANSWER]) as server:
        req = HTTPRequest()
        requests_.append(req)
        req.use_threads = threads
        assert req.request(url(server)) == Error.OK
        (done,) = drive(req, timeout)
    assert (done[0], bytes(done[3])) == (Result.RESULT_SUCCESS, BODY)


@pytest.mark.parametrize("limit", [*UNLIMITED, HUGE], ids=str)
@pytest.mark.parametrize("setting", ["timeout", "stall_timeout"])
@pytest.mark.parametrize(
    "drive", [drive_with_pollhttp_wait, drive_with_its_own_wait], ids=["pollhttp.wait", "wait"]
)
def test_request_timeouts_without_a_limit(requests_, drive, setting, limit):
    """The request's own deadline feeds the wait: a huge one must not overflow it."""
    with ScriptedServer([ANSWER]) as server:
        req = HTTPRequest()
        requests_.append(req)
        setattr(req, setting, limit)
        assert req.request(url(server)) == Error.OK
        wait_timeout = req.get_wait_timeout()
        (done,) = drive(req, None)
    assert (done[0], bytes(done[3])) == (Result.RESULT_SUCCESS, BODY)
    if limit == HUGE:
        assert getattr(req, setting) == HUGE
        # Far, but within what one selector call takes.
        assert wait_timeout == pytest.approx(LONGEST_SLEEP, abs=60)
    else:
        assert getattr(req, setting) == 0.0  # Godot's "no limit"
        assert wait_timeout is None


def test_a_limit_still_ends_the_wait(requests_, silent):
    """A finite timeout passed to the waits still returns when it is due."""
    req = HTTPRequest()
    requests_.append(req)
    assert req.request(url(silent)) == Error.OK
    client = req.get_http_client()
    deadline = time.monotonic() + 5
    while client.get_status() != Status.STATUS_REQUESTING or client.get_request_bytes_pending():
        assert time.monotonic() < deadline, "the request was not sent in time"
        req.poll()
        pollhttp.wait([req], 0.05)
    # Sent; the server says nothing, so both waits run out.
    started = time.monotonic()
    assert pollhttp.wait([req], 0.05) == []
    assert req.wait(0.05) is False
    assert 0.1 <= time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (-1, InvalidParameterError),
        (-0.001, InvalidParameterError),
        (math.nan, InvalidParameterError),
        (-math.inf, InvalidParameterError),
        ("5", InvalidTypeError),
        (True, InvalidTypeError),
    ],
    ids=repr,
)
def test_bad_wait_timeouts_are_refused_at_the_call(requests_, silent, value, error):
    req = HTTPRequest()
    requests_.append(req)
    assert req.request(url(silent)) == Error.OK
    with pytest.raises(error, match="timeout"):
        pollhttp.wait([req], value)
    with pytest.raises(error, match="timeout"):
        pollhttp.wait([], value)
    with pytest.raises(error, match="timeout"):
        req.wait(value)
    with pytest.raises(error, match="timeout"):
        asyncio.run(pollhttp.aio.wait(req, value))


@pytest.mark.parametrize("timeout", [*UNLIMITED, HUGE], ids=str)
def test_aio_without_a_limit(timeout):
    async def main() -> tuple[bytes, bool]:
        response = await pollhttp.aio.get(url(server), timeout=timeout)
        req = HTTPRequest()
        with req:
            assert req.request(url(server)) == Error.OK
            ready = await asyncio.wait_for(pollhttp.aio.wait(req, timeout), 5)
        return response.content, ready

    with ScriptedServer([ANSWER]) as server:
        content, ready = asyncio.run(main())
    assert content == BODY
    assert ready is True


@pytest.mark.parametrize(
    "objects", [None, 5, "abc", [None], [object()], [HTTPRequest], [HTTPRequest(), 1]], ids=repr
)
def test_wait_refuses_what_cannot_be_waited_on(objects):
    with pytest.raises(InvalidTypeError, match="objects"):
        pollhttp.wait(objects, 0)


@pytest.mark.parametrize("obj", [None, 5, object(), HTTPRequest], ids=repr)
def test_aio_wait_refuses_what_cannot_be_waited_on(obj):
    with pytest.raises(InvalidTypeError, match="obj must be"):
        asyncio.run(pollhttp.aio.wait(obj, 0))


def test_wait_takes_any_iterable(requests_, silent):
    req = HTTPRequest()
    requests_.append(req)
    assert req.request(url(silent)) == Error.OK
    assert pollhttp.wait(iter([req]), 0) == [req]  # before poll(): ready at once
    assert pollhttp.wait((), 0) == []
