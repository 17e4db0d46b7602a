"""Scripted raw-socket servers on 127.0.0.1, for byte-exact edge cases.

Each accepted connection runs a script: a list of steps, executed in order. The steps are
one language for the plain servers here and the TLS server of `tests.support.tls`, which
imports these and adds its own (all are `Step` subclasses); a server refuses a step it
cannot play instead of skipping it.

* ``Read()``: read one request (head, plus a Content-Length body) and record it.
* ``Send(data)``: send bytes exactly as given.
* ``Pause(seconds)``: the server stays silent (to test slow servers; tests never sleep).
* ``Wait(event)``: the server stays silent until the test sets ``event`` (a signal, not a sleep).
* ``Trickle(data, delay)``: send one byte at a time (plain servers only).
* ``Close()``: close the connection (the script also ends with a close; plain servers only).
* ``ShutdownWrite()``: half-close: send FIN but keep reading (plain servers only).
* ``Reset()``: close with RST (SO_LINGER 0; plain servers only).
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import pytest


class Step:
    """One step of a server script (the base of every step, plain or TLS)."""


@dataclass
class Read(Step):
    """Read one HTTP request (head, plus a Content-Length body) and record it."""


@dataclass
class Send(Step):
    """Send bytes exactly as given (through TLS on a TLS server)."""

    data: bytes


@dataclass
class Pause(Step):
    """Stay silent for a while (cut short when the server stops)."""

    seconds: float


@dataclass
class Wait(Step):
    """Stay silent until the test sets ``event`` (or the server stops)."""

    event: threading.Event


@dataclass
class Trickle(Step):
    """Send one byte at a time, ``delay`` seconds apart."""

    data: bytes
    delay: float = 0.0


@dataclass
class Close(Step):
    """Close the connection."""


@dataclass
class ShutdownWrite(Step):
    """Half-close: send FIN but keep reading."""


@dataclass
class Reset(Step):
    """Close with RST (SO_LINGER 0)."""


def unplayable(server: object, step: Step) -> TypeError:
    """The error for a step that ``server`` cannot play (raised on the server's thread)."""
    return TypeError(f"{type(server).__name__} cannot play the step {step!r}")


def response(
    status: str = "200 OK", headers: Sequence[str] = (), body: bytes = b"", *, length: bool = True
) -> bytes:
    """A response head and body; Content-Length is added unless ``length`` is False."""
    lines = [f"HTTP/1.1 {status}", *headers]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _read_request(conn: socket.socket, pending: bytearray, stop: threading.Event) -> bytes | None:
    def receive() -> bytes:
        # Short timeouts, so that a stopping server never waits on a silent client.
        while not stop.is_set():
            try:
                return conn.recv(65536)
            except TimeoutError:
                continue
        return b""

    while b"\r\n\r\n" not in pending:
        data = receive()
        if not data:
            return None
        pending += data
    end = pending.index(b"\r\n\r\n") + 4
    head = bytes(pending[:end])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(pending) < end + length:
        data = receive()
        if not data:
            break
        pending += data
    request = bytes(pending[: end + length])
    del pending[: end + length]
    return request


def _send_all(conn: socket.socket, data: bytes, stop: threading.Event) -> None:
    view = memoryview(data)
    while view and not stop.is_set():
        try:
            view = view[conn.send(view) :]
        except TimeoutError:
            continue


_L = TypeVar("_L", bound="ThreadedListener")


class ThreadedListener:
    """A listening socket on ``host`` and a free port; each connection gets its own thread.

    Subclasses implement ``handle(conn, index)`` (``index`` counts connections from 0) and
    watch ``self._stop``, which is set when the ``with`` block ends.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.connections = 0
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.create_server((host, 0), family=family)
        self._listener.settimeout(0.01)
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self: _L) -> _L:
        self._accepter.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._accepter.join(5)
        for thread in self._threads:
            thread.join(5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            index = self.connections
            self.connections += 1
            thread = threading.Thread(target=self.handle, args=(conn, index), daemon=True)
            self._threads.append(thread)
            thread.start()

    def handle(self, conn: socket.socket, index: int) -> None:
        raise NotImplementedError


class ScriptedServer(ThreadedListener):
    """A listening socket that plays ``scripts[i]`` on the i-th connection (the last repeats).

    It listens on ``host`` (127.0.0.1, or ::1 for IPv6 tests) and a free port.
    """

    def __init__(self, scripts: Sequence[Sequence[Step]], host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self.scripts = scripts
        self.requests: list[bytes] = []

    def handle(self, conn: socket.socket, index: int) -> None:
        self._play(conn, self.scripts[min(index, len(self.scripts) - 1)])

    def _play(self, conn: socket.socket, script: Sequence[Step]) -> None:
        pending = bytearray()
        conn.settimeout(0.05)
        try:
            for step in script:
                if self._stop.is_set():
                    break
                if isinstance(step, Read):
                    request = _read_request(conn, pending, self._stop)
                    if request is None:
                        break
                    self.requests.append(request)
                elif isinstance(step, Send):
                    _send_all(conn, step.data, self._stop)
                elif isinstance(step, Pause):
                    self._stop.wait(step.seconds)
                elif isinstance(step, Wait):
                    while not step.event.wait(0.01):
                        if self._stop.is_set():
                            break
                elif isinstance(step, Trickle):
                    for i in range(len(step.data)):
                        _send_all(conn, step.data[i : i + 1], self._stop)
                        if step.delay:
                            self._stop.wait(step.delay)
                elif isinstance(step, ShutdownWrite):
                    conn.shutdown(socket.SHUT_WR)
                elif isinstance(step, Reset):
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    break
                elif isinstance(step, Close):
                    break
                else:
                    raise unplayable(self, step)
            else:
                # Script done without an explicit end: wait for the client to finish first,
                # so the test decides when the connection ends.
                while not self._stop.is_set():
                    try:
                        if not conn.recv(65536):
                            break
                    except TimeoutError:
                        continue
                    except OSError:
                        break
        except OSError:
            pass
        finally:
            conn.close()


def wait_for(predicate: object, timeout: float = 5.0) -> None:
    """Poll a condition on the test's side with a deadline (no blind sleeps)."""
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.001)


def _can_bind_ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


#: Skip a test on a machine where ::1 cannot be bound.
needs_ipv6 = pytest.mark.skipif(not _can_bind_ipv6_loopback(), reason="cannot bind ::1")
