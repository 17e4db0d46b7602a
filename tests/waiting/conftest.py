"""Fixtures and helpers for the waiting tests: nginx with pattern files, silent servers,
lookups that finish when the test says so, and a CPU meter."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import cast

import pytest

from pollhttp import HTTPClient, HTTPRequest, ResolveError
from pollhttp.transport import Resolution, ResolverStatus, notify

from ..support.nginx import NginxServer, pattern, write_pattern_file

MiB = 1 << 20
#: Transfers run at once in the "many transfers" tests.
COUNT = 64


@dataclass(frozen=True)
class Download:
    """One pattern file nginx serves: its URL path and size."""

    path: str
    size: int

    def expected(self) -> bytes:
        return pattern(0, self.size)


def download_sizes(count: int, base: int) -> list[int]:
    """Sizes that differ by an odd number of bytes, so a mixed-up body shows as a length."""
    return [base + i * 4099 for i in range(count)]


@pytest.fixture(scope="module")
def downloads(nginx: NginxServer) -> list[Download]:
    """64 pattern files of about 2 MiB each, all of different sizes."""
    files = []
    (nginx.docroot / "dl").mkdir(exist_ok=True)
    for i, size in enumerate(download_sizes(COUNT, 2 * MiB)):
        name = f"dl/{i:02d}.bin"
        write_pattern_file(nginx.docroot / name, size)
        files.append(Download("/" + name, size))
    return files


# -- lookups the test finishes ---------------------------------------------------------------


class GatedLookup:
    """A `Resolution`-like lookup that stays WAITING until `release()` (from any thread).

    Releasing rings the shared wake-up descriptor, as the real resolver thread does.
    """

    def __init__(self, addresses: list[tuple[str, int]]) -> None:
        self.addresses: list[tuple[str, int]] = []
        self.error: ResolveError | None = None
        self._target = addresses
        self._done = threading.Event()

    def release(self) -> None:
        self.addresses = list(self._target)
        self._done.set()
        notify()

    def get_status(self) -> ResolverStatus:
        if not self._done.is_set():
            return ResolverStatus.RESOLVER_STATUS_WAITING
        return ResolverStatus.RESOLVER_STATUS_DONE

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)


class GatedResolver:
    """Maps every name to 127.0.0.1:``port``; each lookup waits for its `release()`."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.lookups: list[GatedLookup] = []
        self._lock = threading.Lock()

    def __call__(self, host: str, port: int) -> Resolution:
        lookup = GatedLookup([("127.0.0.1", self.port)])
        with self._lock:
            self.lookups.append(lookup)
        return cast(Resolution, lookup)  # duck-typed: the client only polls and waits

    def release_all(self) -> None:
        with self._lock:
            lookups = list(self.lookups)
        for lookup in lookups:
            lookup.release()


# -- a server that accepts and says nothing --------------------------------------------------


class SilentServer:
    """A listener on 127.0.0.1 that never answers; the test accepts the queued connections.

    The kernel completes the TCP handshake on its own (the backlog), so clients connect
    and send; `accept()` then shows what they sent and whether they closed.
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port: int = self._listener.getsockname()[1]
        self._accepted: list[socket.socket] = []

    def __enter__(self) -> SilentServer:
        return self

    def __exit__(self, *exc: object) -> None:
        for sock in self._accepted:
            sock.close()
        self._listener.close()

    def accept(self, timeout: float = 5.0) -> socket.socket:
        self._listener.settimeout(timeout)
        sock, _ = self._listener.accept()
        sock.settimeout(timeout)
        self._accepted.append(sock)
        return sock

    @staticmethod
    def read_until_closed(sock: socket.socket, timeout: float = 5.0) -> tuple[bytes, str]:
        """Everything the client sent, and how it ended: "eof", "reset" or "open"."""
        data = bytearray()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                return bytes(data), "open"
            except ConnectionResetError:
                return bytes(data), "reset"
            if not chunk:
                return bytes(data), "eof"
            data += chunk
        return bytes(data), "open"


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    with SilentServer() as server:
        yield server


# -- measuring -----------------------------------------------------------------------------


def cpu_share(step: Callable[[], object], seconds: float) -> tuple[float, int]:
    """Call ``step`` repeatedly for ``seconds`` of wall time; (process CPU / wall, calls).

    ``time.process_time`` counts every thread of the process (the servers' threads too).
    """
    calls = 0
    wall0, cpu0 = time.monotonic(), time.process_time()
    while time.monotonic() - wall0 < seconds:
        step()
        calls += 1
    return (time.process_time() - cpu0) / (time.monotonic() - wall0), calls


@pytest.fixture
def clients() -> Iterator[list[HTTPClient]]:
    """A list to put HTTPClients in; each is closed at the end of the test."""
    made: list[HTTPClient] = []
    yield made
    for client in made:
        client.close()


@pytest.fixture
def requests_() -> Iterator[list[HTTPRequest]]:
    """A list to put HTTPRequests in; each is closed at the end of the test."""
    made: list[HTTPRequest] = []
    yield made
    for req in made:
        req.close()


def rate(total: int, seconds: float) -> str:
    """``"135.9 MiB in 0.42 s (323 MiB/s)"``."""
    return f"{total / MiB:.1f} MiB in {seconds:.2f} s ({total / MiB / seconds:.0f} MiB/s)"


def report(name: str, text: str) -> None:
    """Print a measurement (shown with ``pytest -s``)."""
    print(f"\n[measure] {name}: {text}")
