"""Helpers for the HTTPRequest tests: build requests, record what they emit, drive them."""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from pollhttp import HTTPRequest, Resolution, ResolveError

from ..support.servers import (
    Close,
    Read,
    Send,
    Step,
    ThreadedListener,
    Wait,
    _read_request,
    _send_all,
    unplayable,
)

Completion = tuple[Any, int, list[str], bytes]


@dataclass
class Recorded:
    """An HTTPRequest and everything it emitted."""

    req: HTTPRequest
    completions: list[Completion] = field(default_factory=list)
    downloads: list[tuple[int, int]] = field(default_factory=list)
    uploads: list[tuple[int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.req.request_completed.connect(lambda *args: self.completions.append(args))
        self.req.download_progress.connect(lambda *args: self.downloads.append(args))
        self.req.upload_progress.connect(lambda *args: self.uploads.append(args))

    def complete(self, timeout: float = 5.0) -> Completion:
        """Drive the request (poll, then sleep on its socket) until it completes; bounded."""
        return complete(self, timeout)

    def idle(self, seconds: float = 0.2) -> None:
        """Keep polling for ``seconds`` (to show that nothing arrives)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.req.poll()
            self.req.wait(0.02)


def complete(recorded: Recorded, timeout: float = 5.0, count: int = 1) -> Completion:
    """Poll ``recorded.req`` until it has emitted ``count`` completions; return the last."""
    deadline = time.monotonic() + timeout
    req = recorded.req
    while len(recorded.completions) < count:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"no completion within {timeout} s; client status "
                f"{req.get_http_client_status().name}, last error {req.get_last_error()!r}"
            )
        req.poll()
        if len(recorded.completions) < count:
            req.wait(0.05)
    return recorded.completions[-1]


@pytest.fixture
def make() -> Iterator[Callable[..., Recorded]]:
    """``make(**attributes)``: a recorded HTTPRequest, released at the end of the test."""
    made: list[HTTPRequest] = []

    def build(*, resolver: Any = None, cookie_jar: Any = None, **attributes: Any) -> Recorded:
        req = HTTPRequest(resolver=resolver, cookie_jar=cookie_jar)
        for name, value in attributes.items():
            setattr(req, name, value)
        made.append(req)
        return Recorded(req)

    yield build
    for req in made:
        req.close()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RecordingResolver:
    """A resolver that records each (host, port) and maps every name to one local port.

    With ``port=None`` every lookup fails (the request then ends in RESULT_CANT_RESOLVE).
    """

    def __init__(self, port: int | None = None) -> None:
        self.port = port
        self.asked: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> Resolution:
        self.asked.append((host, port))
        if self.port is None:
            return Resolution.finished([], ResolveError(f"test resolver: no {host}"))
        return Resolution.finished([("127.0.0.1", self.port)])


def header_lines(raw_request: bytes) -> list[str]:
    """The header lines of a raw request, in order."""
    head = raw_request.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return head.split("\r\n")[1:]


def header_names(raw_request: bytes) -> list[str]:
    """The lower-case header names of a raw request, in order."""
    return [line.partition(":")[0].lower() for line in header_lines(raw_request)]


def request_line(raw_request: bytes) -> str:
    return raw_request.split(b"\r\n", 1)[0].decode("latin-1")


def body_of(raw_request: bytes) -> bytes:
    return raw_request.split(b"\r\n\r\n", 1)[1]


# -- a scripted server that waits for the test, and tells it ---------------------------------


@dataclass
class Notify(Step):
    """Step: set ``event``, telling the test that the steps before it are done."""

    event: threading.Event


class SignalledServer(ThreadedListener):
    """`ScriptedServer`'s ``Read``, ``Send``, ``Close`` and ``Wait`` steps, plus `Notify`.

    Plays ``scripts[i]`` on the i-th connection (the last one repeats). ``Close`` closes
    the connection and the script goes on, so a ``Notify`` after it says the close is done;
    a script that ends with the connection open waits for the client to close it.
    """

    def __init__(self, scripts: Sequence[Sequence[Step]]) -> None:
        super().__init__()
        self.scripts = scripts
        self.requests: list[bytes] = []

    def handle(self, conn: socket.socket, index: int) -> None:
        pending = bytearray()
        conn.settimeout(0.05)
        open_ = True
        try:
            for step in self.scripts[min(index, len(self.scripts) - 1)]:
                if isinstance(step, Read):
                    request = _read_request(conn, pending, self._stop)
                    if request is None:
                        return
                    self.requests.append(request)
                elif isinstance(step, Send):
                    _send_all(conn, step.data, self._stop)
                elif isinstance(step, Close):
                    conn.close()
                    open_ = False
                elif isinstance(step, Notify):
                    step.event.set()
                elif isinstance(step, Wait):
                    while not step.event.wait(0.05):
                        if self._stop.is_set():
                            return
                else:
                    raise unplayable(self, step)
            while open_ and not self._stop.is_set():
                try:
                    if not conn.recv(65536):
                        return
                except TimeoutError:
                    continue
        except OSError:
            pass
        finally:
            conn.close()


def signal(event: threading.Event, timeout: float = 5.0) -> None:
    """Wait for the server's `Notify`; bounded."""
    assert event.wait(timeout), "the server did not get there in time"


def wait_readable(req: HTTPRequest, timeout: float = 5.0) -> None:
    """Wait until the kept-alive connection of ``req`` has a close or bytes to read."""
    peer = req.get_http_client().get_connection()
    assert peer is not None, "no kept-alive connection"
    readable, _, _ = select.select([peer.fileno()], [], [], timeout)
    assert readable, "nothing arrived on the idle connection"
