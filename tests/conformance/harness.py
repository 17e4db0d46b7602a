"""The conformance harness: a case is the bytes a server sends and what each client makes of them.

A `Case` holds the scripts a `ScriptedServer` plays on 127.0.0.1 (one per connection: the
exact bytes, with pauses, trickles, half-closes and resets) and the result expected from
both clients:

* `ClientExpect` for `HTTPClient`: the status once the exchange is over, the `Error` that
  ``poll()`` returns from then on (``OK`` for a success, when every poll returned ``OK``), the
  response code, every body byte that ``read_response_body_chunk()`` returned, and a fragment
  of the message of ``get_last_error()``.
* `RequestExpect` for `HTTPRequest`: the ``Result``, the response code and the body that
  ``request_completed`` carries (exactly once).

`run_case` plays the case twice, against a fresh server each time: once through
`HTTPClient` (connect, ``request_raw``, poll through REQUESTING, read the body) and once
through `HTTPRequest` (``request_raw``, then ``poll()``/``wait()`` until it completes).
Every loop has a deadline; nothing sleeps to wait for a state.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from pollhttp import Error, HTTPClient, HTTPRequest, Limits, Method, Result, Status

from ..support.servers import ScriptedServer, Step

WAITING = (Status.STATUS_RESOLVING, Status.STATUS_CONNECTING, Status.STATUS_REQUESTING)
GET, HEAD, POST, PUT = (
    Method.METHOD_GET,
    Method.METHOD_HEAD,
    Method.METHOD_POST,
    Method.METHOD_PUT,
)
CONNECTED = Status.STATUS_CONNECTED
DISCONNECTED = Status.STATUS_DISCONNECTED
CONNECTION_ERROR = Status.STATUS_CONNECTION_ERROR
SUCCESS = Result.RESULT_SUCCESS


# -- what a client did -------------------------------------------------------------------------


@dataclass
class ClientRun:
    """Everything an HTTPClient exchange produced."""

    client: HTTPClient
    polls: list[Error] = field(default_factory=list)  # every poll() result, in order
    reads: list[int] = field(default_factory=list)  # the size of every non-empty body read
    body: bytes = b""
    status: Status = Status.STATUS_DISCONNECTED
    final: Error = Error.OK  # what poll() returns once the exchange is over
    server: ScriptedServer | None = None


@dataclass
class RequestRun:
    """Everything an HTTPRequest exchange produced."""

    req: HTTPRequest
    completions: list[tuple[Any, ...]] = field(default_factory=list)
    downloads: list[tuple[int, int]] = field(default_factory=list)
    polls: int = 0
    server: ScriptedServer | None = None

    @property
    def result(self) -> tuple[Any, ...]:
        assert len(self.completions) == 1, self.completions
        return self.completions[0]


@dataclass(frozen=True)
class ClientExpect:
    """What HTTPClient must end with."""

    status: Status
    error: Error = Error.OK
    code: int = 0
    body: bytes = b""
    message: str = ""
    exc: type[BaseException] | None = None
    check: Callable[[ClientRun], None] | None = None


@dataclass(frozen=True)
class RequestExpect:
    """What HTTPRequest must emit (once)."""

    result: Result
    code: int = 0
    body: bytes = b""
    check: Callable[[RequestRun], None] | None = None


@dataclass(frozen=True)
class Case:
    """One conformance case: a server's bytes and the expected results."""

    id: str
    title: str
    scripts: tuple[tuple[Step, ...], ...]
    client: ClientExpect | None
    request: RequestExpect | None
    method: Method = GET
    target: str = "/"
    headers: tuple[str, ...] = ()
    body: bytes = b""
    limits: Limits | None = None
    #: HTTPClient.read_chunk_size and HTTPRequest.download_chunk_size.
    chunk_size: int = 65536
    #: A second GET on the same connection must return this body (HTTPRequest: without a
    #: new connection).
    then: bytes | None = None
    #: Connections the server must have seen once ``then`` is done (2: not reused).
    then_connections: int = 1
    #: Called once when HTTPClient first reaches BODY, before any body read.
    before_body: Callable[[HTTPClient], None] | None = None
    #: Attributes to set on the HTTPRequest (accept_gzip, body_size_limit, ...).
    request_attrs: tuple[tuple[str, Any], ...] = ()
    timeout: float = 5.0


def freeze_scripts(
    scripts: Sequence[Step] | Sequence[Sequence[Step]],
) -> tuple[tuple[Step, ...], ...]:
    """One script (a list of steps) or several, as a tuple of scripts."""
    if scripts and not isinstance(scripts[0], (list, tuple)):
        return (tuple(cast(Sequence[Step], scripts)),)
    return tuple(tuple(script) for script in cast(Sequence[Sequence[Step]], scripts))


def case(
    case_id: str,
    title: str,
    scripts: Sequence[Step] | Sequence[Sequence[Step]],
    *,
    client: ClientExpect | None,
    request: RequestExpect | None,
    **options: Any,
) -> Any:
    """A `Case` as a pytest parameter named by its number and title."""
    frozen = freeze_scripts(scripts)
    attrs = options.pop("request_attrs", {})
    made = Case(
        case_id,
        title,
        frozen,
        client,
        request,
        request_attrs=tuple(attrs.items()),
        **options,
    )
    slug = "-".join(title.lower().replace(",", "").split()[:6])
    return pytest.param(made, id=f"{case_id}-{slug}")


def by_id(params: Sequence[Any], case_id: str) -> Case:
    """The case numbered ``case_id`` in a table of `case()` parameters."""
    return next(p.values[0] for p in params if p.values[0].id == case_id)


def case_ids(params: Sequence[Any]) -> list[str]:
    """The case numbers of a table of `case()` parameters."""
    return [param.values[0].id for param in params]


# -- driving HTTPClient --------------------------------------------------------------------------


def drive_client(
    client: HTTPClient,
    run: ClientRun,
    method: int,
    target: str,
    headers: Sequence[str],
    body: bytes,
    timeout: float = 5.0,
    before_body: Callable[[HTTPClient], None] | None = None,
) -> None:
    """Send one request on a CONNECTED client, poll through REQUESTING, read the body."""
    assert client.request_raw(method, target, list(headers), body) == Error.OK, (
        client.get_last_error()
    )
    deadline = time.monotonic() + timeout
    while client.get_status() in WAITING:
        if time.monotonic() > deadline:
            raise AssertionError(f"still {client.get_status().name} after {timeout} s")
        run.polls.append(client.poll())
        if client.get_status() in WAITING:
            client.wait(0.05)
    pieces = []
    if before_body is not None and client.get_status() == Status.STATUS_BODY:
        before_body(client)
    while client.get_status() == Status.STATUS_BODY:
        if time.monotonic() > deadline:
            raise AssertionError(f"body not complete after {timeout} s: {sum(run.reads)} bytes")
        run.polls.append(client.poll())
        piece = client.read_response_body_chunk()
        if piece:
            pieces.append(piece)
            run.reads.append(len(piece))
        elif client.get_status() == Status.STATUS_BODY:
            client.wait(0.05)
    run.body = b"".join(pieces)
    run.status = client.get_status()
    run.final = client.poll()


def run_client(case_: Case) -> ClientRun:
    """Play the case's scripts and run HTTPClient against them."""
    with ScriptedServer([list(s) for s in case_.scripts]) as server:
        client = HTTPClient(limits=case_.limits)
        client.read_chunk_size = case_.chunk_size
        run = ClientRun(client, server=server)
        try:
            assert client.connect_to_host("127.0.0.1", server.port) == Error.OK
            deadline = time.monotonic() + case_.timeout
            while client.get_status() in WAITING:
                assert time.monotonic() < deadline, "connect timed out"
                client.poll()
            assert client.get_status() == CONNECTED, client.get_last_error()
            drive_client(
                client,
                run,
                case_.method,
                case_.target,
                case_.headers,
                case_.body,
                case_.timeout,
                case_.before_body,
            )
            check_client(case_, run)
            if case_.then is not None:
                if client.get_status() == DISCONNECTED:
                    assert client.connect_to_host("127.0.0.1", server.port) == Error.OK
                    while client.get_status() in WAITING:
                        assert time.monotonic() < deadline + case_.timeout, "reconnect timed out"
                        client.poll()
                follow = ClientRun(client)
                drive_client(client, follow, GET, "/next", [], b"", case_.timeout)
                assert follow.body == case_.then
                assert follow.status in (CONNECTED, DISCONNECTED)
                assert server.connections == case_.then_connections
        finally:
            client.close()
    return run


def check_client(case_: Case, run: ClientRun) -> None:
    expect = case_.client
    assert expect is not None
    client = run.client
    error = client.get_last_error()
    assert run.status == expect.status, (run.status, error)
    assert client.get_response_code() == expect.code, error
    assert run.body == expect.body, (len(run.body), run.body[:80], error)
    assert all(size <= case_.chunk_size for size in run.reads), run.reads
    if expect.error == Error.OK:
        # A success: every poll() said OK, and the response was read through.
        assert set(run.polls) <= {Error.OK}, (run.polls, error)
        assert run.final == (Error.OK if run.status == CONNECTED else Error.ERR_UNCONFIGURED)
    else:
        # A failure: it is sticky, and poll() keeps returning its code.
        assert run.final == expect.error, (run.final, error)
        assert client.poll() == expect.error
        assert client.get_status() == expect.status
        assert error is not None
        assert error.code == expect.error, (error.code, error)
    if expect.exc is not None:
        assert isinstance(error, expect.exc), repr(error)
    if expect.message:
        assert expect.message in str(error), str(error)
    if expect.check is not None:
        expect.check(run)


# -- driving HTTPRequest --------------------------------------------------------------------------


def make_request(
    case_: Case | None = None, *, resolver: Any = None, limits: Limits | None = None, **attrs: Any
) -> RequestRun:
    """An HTTPRequest whose emissions are recorded; the caller closes ``run.req``."""
    if case_ is not None:
        limits = case_.limits
    req = HTTPRequest(limits=limits, resolver=resolver)
    if case_ is not None:
        req.download_chunk_size = case_.chunk_size
        for name, value in case_.request_attrs:
            setattr(req, name, value)
    for name, value in attrs.items():
        setattr(req, name, value)
    run = RequestRun(req)
    req.request_completed.connect(lambda *args: run.completions.append(args))
    req.download_progress.connect(lambda *args: run.downloads.append(args))
    return run


def complete(run: RequestRun, timeout: float = 5.0, count: int = 1) -> tuple[Any, ...]:
    """Poll (sleeping on the socket between polls) until ``count`` completions; bounded."""
    deadline = time.monotonic() + timeout
    req = run.req
    while len(run.completions) < count:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"no completion within {timeout} s; client status "
                f"{req.get_http_client_status().name}, last error {req.get_last_error()!r}"
            )
        req.poll()
        run.polls += 1
        if len(run.completions) < count:
            req.wait(0.05)
    return run.completions[-1]


def run_request(case_: Case) -> RequestRun:
    """Play the case's scripts and run HTTPRequest against them."""
    with ScriptedServer([list(s) for s in case_.scripts]) as server:
        run = make_request(case_)
        run.server = server
        req = run.req
        try:
            url = f"http://127.0.0.1:{server.port}{case_.target}"
            err = req.request_raw(url, list(case_.headers), case_.method, case_.body)
            assert err == Error.OK, req.get_last_error()
            complete(run, case_.timeout)
            # Exactly once: nothing more is running.
            assert req.poll() == Error.ERR_UNCONFIGURED
            assert len(run.completions) == 1
            check_request(case_, run)
            if case_.then is not None:
                url = f"http://127.0.0.1:{server.port}/next"
                assert req.request(url) == Error.OK
                result, _code, _headers, body = complete(run, case_.timeout, count=2)
                assert result == SUCCESS, req.get_last_error()
                assert body == case_.then
                assert server.connections == case_.then_connections
        finally:
            req.close()
    return run


def check_request(case_: Case, run: RequestRun) -> None:
    expect = case_.request
    assert expect is not None
    result, code, headers, body = run.result
    error = run.req.get_last_error()
    assert result == expect.result, (result, error)
    assert code == expect.code, (code, error)
    assert body == expect.body, (len(body), body[:80], error)
    if result != SUCCESS and code == 0:
        assert headers == []
    if expect.check is not None:
        expect.check(run)


def run_case(case_: Case) -> None:
    """Run a case against both clients (each expectation that is given)."""
    if case_.client is not None:
        run_client(case_)
    if case_.request is not None:
        run_request(case_)
