"""A kept-alive connection found dead before a request: HTTPRequest goes on with a new one.

The server closed it while idle (RFC 9112 §9.5), or bytes nobody asked for arrived on it,
in the write of the last response or later. Nothing was sent on it, so every method, POST
included, goes on a new connection, and no answer comes from the bytes that were waiting
(response-queue poisoning). The server's moves come on signals from the test, never after
a sleep.
"""

from __future__ import annotations

import threading
import time

import pytest

import pollhttp
from pollhttp import Error, HTTPClient, HTTPRequest, Result

from ..support.servers import Close, Read, ScriptedServer, Send, Wait, response
from .conftest import (
    Notify,
    Recorded,
    SignalledServer,
    body_of,
    complete,
    request_line,
    signal,
    wait_readable,
)

SUCCESS = Result.RESULT_SUCCESS
GET, HEAD, POST, PUT, PATCH, DELETE = (
    HTTPClient.METHOD_GET,
    HTTPClient.METHOD_HEAD,
    HTTPClient.METHOD_POST,
    HTTPClient.METHOD_PUT,
    HTTPClient.METHOD_PATCH,
    HTTPClient.METHOD_DELETE,
)
FIRST = response(body=b"hello")
EVIL = response(body=b"EVIL")
REAL = response(body=b"real")
METHODS = [GET, HEAD, POST, PUT, PATCH, DELETE]


def url(server: SignalledServer | ScriptedServer, path: str = "/") -> str:
    return f"http://127.0.0.1:{server.port}{path}"


def first_request(rec: Recorded, server: SignalledServer | ScriptedServer) -> None:
    assert rec.req.request(url(server, "/1")) == Error.OK
    assert complete(rec) == (SUCCESS, 200, ["Content-Length: 5"], b"hello")


def second_request(
    rec: Recorded, server: SignalledServer | ScriptedServer, method: int = GET
) -> tuple[object, ...]:
    data = "" if method in (GET, HEAD) else "data"
    assert rec.req.request(url(server, "/2"), [], method, data) == Error.OK
    return complete(rec, count=2)


def real_answer(method: int) -> bytes:
    return REAL[:-4] if method == HEAD else REAL  # HEAD: the head alone


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.name[7:])
@pytest.mark.parametrize("threads", [False, True], ids=["poll", "threads"])
def test_connection_the_server_closed_while_idle_is_replaced(make, method, threads):
    close_now, closed = threading.Event(), threading.Event()
    first = [Read(), Send(FIRST), Wait(close_now), Close(), Notify(closed)]
    with SignalledServer([first, [Read(), Send(real_answer(method))]]) as server:
        rec = make(use_threads=threads)
        first_request(rec, server)
        close_now.set()
        signal(closed)
        wait_readable(rec.req)  # the FIN is there before the next request looks
        result = second_request(rec, server, method)
        rec.idle(0.05)
    expected = b"" if method == HEAD else b"real"
    assert result == (SUCCESS, 200, ["Content-Length: 4"], expected)
    assert server.connections == 2
    # Nothing went out on the dead connection: two requests in all, the second whole.
    assert [request_line(raw) for raw in server.requests] == [
        "GET /1 HTTP/1.1",
        f"{method.name[7:]} /2 HTTP/1.1",
    ]
    assert body_of(server.requests[1]) == (b"" if method in (GET, HEAD) else b"data")
    assert len(rec.completions) == 2


@pytest.mark.parametrize(
    "first",
    [
        pytest.param(FIRST + EVIL, id="content-length"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + EVIL,
            id="chunked",
        ),
        pytest.param(FIRST + b"HTTP/1.1 200 OK\r\n", id="a-partial-head"),
    ],
)
@pytest.mark.parametrize("method", [GET, POST], ids=lambda m: m.name[7:])
def test_bytes_after_a_response_in_the_same_write_are_never_an_answer(make, first, method):
    with SignalledServer([[Read(), Send(first)], [Read(), Send(REAL)]]) as server:
        rec = make()
        assert rec.req.request(url(server, "/1")) == Error.OK
        assert complete(rec)[::3] == (SUCCESS, b"hello")
        result = second_request(rec, server, method)
    assert result == (SUCCESS, 200, ["Content-Length: 4"], b"real")
    assert server.connections == 2
    assert len(server.requests) == 2


@pytest.mark.parametrize(
    ("first_method", "first"),
    [
        pytest.param(GET, response(body=b"") + EVIL, id="content-length-0"),
        pytest.param(GET, response("204 No Content", length=False) + EVIL, id="204"),
        pytest.param(HEAD, response(body=b"hello")[:-5] + EVIL, id="HEAD"),
    ],
)
def test_bytes_after_a_response_without_a_body(make, first_method, first):
    with SignalledServer([[Read(), Send(first)], [Read(), Send(REAL)]]) as server:
        rec = make()
        assert rec.req.request(url(server, "/1"), [], first_method) == Error.OK
        assert complete(rec)[::3] == (SUCCESS, b"")
        result = second_request(rec, server, POST)
    assert result == (SUCCESS, 200, ["Content-Length: 4"], b"real")
    assert server.connections == 2


@pytest.mark.parametrize("method", [GET, POST], ids=lambda m: m.name[7:])
def test_bytes_that_arrive_later_on_the_idle_connection_are_never_an_answer(make, method):
    inject, injected = threading.Event(), threading.Event()
    first = [Read(), Send(FIRST), Wait(inject), Send(EVIL), Notify(injected)]
    with SignalledServer([first, [Read(), Send(REAL)]]) as server:
        rec = make()
        first_request(rec, server)
        inject.set()
        signal(injected)
        wait_readable(rec.req)
        result = second_request(rec, server, method)
    assert result == (SUCCESS, 200, ["Content-Length: 4"], b"real")
    assert server.connections == 2
    assert len(server.requests) == 2


def test_a_redirect_on_a_poisoned_connection_goes_on_a_new_one(make):
    redirect = response("302 Found", ["Location: /next"], b"moved")
    with SignalledServer([[Read(), Send(redirect + EVIL)], [Read(), Send(REAL)]]) as server:
        rec = make()
        assert rec.req.request(url(server, "/start")) == Error.OK
        assert complete(rec) == (SUCCESS, 200, ["Content-Length: 4"], b"real")
    assert [request_line(raw) for raw in server.requests] == [
        "GET /start HTTP/1.1",
        "GET /next HTTP/1.1",
    ]
    assert server.connections == 2


def test_one_call_api_never_returns_the_extra_response():
    with SignalledServer([[Read(), Send(FIRST + EVIL)], [Read(), Send(REAL)]]) as server:
        assert pollhttp.get(url(server, "/1")).content == b"hello"
        assert pollhttp.post(url(server, "/2"), data=b"x").content == b"real"
    assert server.connections == 2


def test_many_requests_under_pollhttp_wait_get_their_own_answers():
    """Two HTTPRequests, two requests each, in one loop: the second ones get ``real``."""
    with (
        SignalledServer([[Read(), Send(FIRST + EVIL)], [Read(), Send(REAL)]]) as one,
        SignalledServer([[Read(), Send(FIRST + EVIL)], [Read(), Send(REAL)]]) as two,
    ):
        bodies: dict[int, list[bytes]] = {0: [], 1: []}
        requests = [HTTPRequest(), HTTPRequest()]

        def completed(index: int, server: SignalledServer):
            def record(result, code, headers, body):
                assert result == SUCCESS
                bodies[index].append(bytes(body))
                if len(bodies[index]) == 1:
                    assert requests[index].request(url(server, "/2"), [], POST, "x") == Error.OK

            return record

        for index, (req, server) in enumerate(zip(requests, (one, two), strict=True)):
            req.request_completed.connect(completed(index, server))
            assert req.request(url(server, "/1")) == Error.OK
        deadline = time.monotonic() + 5
        while any(len(got) < 2 for got in bodies.values()):
            assert time.monotonic() < deadline, bodies
            for req in pollhttp.wait(requests, 1.0):
                req.poll()
        for req in requests:
            req.close()
    assert bodies == {0: [b"hello", b"real"], 1: [b"hello", b"real"]}
    assert one.connections == two.connections == 2


@pytest.mark.parametrize(
    ("method", "retried"),
    [(GET, True), (PUT, True), (DELETE, True), (POST, False), (PATCH, False)],
    ids=lambda v: v.name[7:] if isinstance(v, HTTPClient.Method) else str(v),
)
def test_connection_lost_after_the_request_was_sent(make, method, retried):
    """The server reads the second request and closes: only an idempotent one is re-sent.

    Here the request did go out (RFC 9110 §9.2.2), unlike a connection found dead before.
    """
    first = [Read(), Send(FIRST), Read(), Close()]
    with ScriptedServer([first, [Read(), Send(REAL)]]) as server:
        rec = make()
        first_request(rec, server)
        result = second_request(rec, server, method)
        rec.idle(0.05)
    if retried:
        assert result == (SUCCESS, 200, ["Content-Length: 4"], b"real")
        assert server.connections == 2
        assert len(server.requests) == 3
        assert body_of(server.requests[-1]) == body_of(server.requests[1])
    else:
        assert result == (Result.RESULT_NO_RESPONSE, 0, [], b"")
        assert server.connections == 1
        assert len(server.requests) == 2
