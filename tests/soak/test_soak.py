"""Soak: many requests and reconnects against nginx, with no growth in fds or memory.

* 10,000 GET requests through one HTTPClient over keep-alive (nginx closes a connection
  after 1,000 requests, so the client also reconnects 10 times, as it must).
* 1,000 reconnects: ``close()``, ``connect_to_host()``, one request, each time.
* 2,000 requests through one HTTPRequest (reusing its kept-alive connection).

Open file descriptors are counted in /proc/self/fd and resident memory read from VmRSS in
/proc/self/status, after a warm-up (which absorbs one-time allocations: imports, compiled
patterns, allocator arenas) and after the run. Descriptors must not grow at all. Memory may
grow by at most ``RSS_TOLERANCE`` (2 MiB) over 10,000 requests, i.e. 200 bytes a request:
a leak of anything a response allocates (its header strings alone are larger) would pass
that, and a few hundred KiB of allocator noise (free lists, arena rounding) would not
fail it. nginx runs in its own process, so its memory is not counted. ``ResourceWarning``
is an error in the suite, so a socket left unclosed fails the test too.

The figures (fds and RSS before and after) are printed; run with ``-s`` to see them.
"""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path

import pytest

from pollhttp import Error, HTTPClient, HTTPRequest, Result, Status

from ..support.nginx import NginxServer

pytestmark = pytest.mark.nginx

BODY = b"soak body " * 10  # 100 bytes
RSS_TOLERANCE = 2 * 1024 * 1024
WAITING = (Status.STATUS_RESOLVING, Status.STATUS_CONNECTING, Status.STATUS_REQUESTING)


@pytest.fixture(scope="module")
def nginx(nginx: NginxServer) -> NginxServer:
    """The shared nginx (tests/conftest.py), serving soak.txt."""
    nginx.write_file("soak.txt", BODY)
    return nginx


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def settle() -> tuple[int, int]:
    gc.collect()
    return open_fds(), rss()


def report(name: str, before: tuple[int, int], after: tuple[int, int], **extra: object) -> None:
    details = " ".join(f"{key}={value}" for key, value in extra.items())
    print(
        f"\nSOAK {name}: fds {before[0]} -> {after[0]}, "
        f"RSS {before[1] / 1024:.0f} KiB -> {after[1] / 1024:.0f} KiB "
        f"({(after[1] - before[1]) / 1024:+.0f} KiB) {details}"
    )


def get(client: HTTPClient, port: int, deadline: float) -> bytes:
    """One GET on ``client``, reconnecting when the server closed the connection."""
    if client.get_status() != Status.STATUS_CONNECTED:
        assert client.connect_to_host("127.0.0.1", port) == Error.OK
        while client.get_status() in WAITING:
            assert time.monotonic() < deadline
            client.poll()
            if client.get_status() in WAITING:
                client.wait(0.05)
        assert client.get_status() == Status.STATUS_CONNECTED, client.get_last_error()
    assert client.request(HTTPClient.METHOD_GET, "/soak.txt", []) == Error.OK
    while client.get_status() == Status.STATUS_REQUESTING:
        assert time.monotonic() < deadline, "soak request timed out"
        client.poll()
        if client.get_status() == Status.STATUS_REQUESTING:
            client.wait(0.05)
    body = b""
    while client.get_status() == Status.STATUS_BODY:
        assert time.monotonic() < deadline, "soak body timed out"
        piece = client.read_response_body_chunk()
        body += piece
        if not piece and client.get_status() == Status.STATUS_BODY:
            client.wait(0.05)
    assert client.get_response_code() == 200, (client.get_status(), client.get_last_error())
    return body


def test_keep_alive_requests(nginx: NginxServer) -> None:
    client = HTTPClient()
    deadline = time.monotonic() + 60
    try:
        for _ in range(500):  # warm-up
            assert get(client, nginx.port, deadline) == BODY
        before = settle()
        reconnects = 0
        for _ in range(10_000):
            if client.get_status() != Status.STATUS_CONNECTED:
                reconnects += 1
            assert get(client, nginx.port, deadline) == BODY
        after = settle()
    finally:
        client.close()
    report("10,000 keep-alive requests", before, after, reconnects=reconnects)
    # nginx's keepalive_requests is 1000: one new connection per 1000 requests.
    assert 9 <= reconnects <= 11
    assert after[0] <= before[0]
    assert after[1] - before[1] < RSS_TOLERANCE


def test_reconnects(nginx: NginxServer) -> None:
    client = HTTPClient()
    deadline = time.monotonic() + 60
    try:
        for _ in range(100):  # warm-up
            client.close()
            assert get(client, nginx.port, deadline) == BODY
        before = settle()
        for _ in range(1_000):
            client.close()
            assert client.get_status() == Status.STATUS_DISCONNECTED
            assert get(client, nginx.port, deadline) == BODY
        client.close()
        after = settle()
    finally:
        client.close()
    report("1,000 reconnects", before, after)
    assert after[0] <= before[0]
    assert after[1] - before[1] < RSS_TOLERANCE


def test_http_request_reuse(nginx: NginxServer) -> None:
    completions: list[tuple] = []
    req = HTTPRequest()
    req.request_completed.connect(lambda *args: completions.append(args))
    url = f"http://127.0.0.1:{nginx.port}/soak.txt"
    deadline = time.monotonic() + 60

    def one() -> None:
        count = len(completions)
        assert req.request(url) == Error.OK
        while len(completions) == count:
            assert time.monotonic() < deadline, "soak request timed out"
            req.poll()
            if len(completions) == count:
                req.wait(0.05)
        result, code, _headers, body = completions[-1]
        assert (result, code, body) == (Result.RESULT_SUCCESS, 200, BODY)
        del completions[:-1]

    try:
        for _ in range(200):  # warm-up
            one()
        before = settle()
        for _ in range(2_000):
            one()
        after = settle()
    finally:
        req.close()
    report("2,000 HTTPRequest requests", before, after)
    assert after[0] <= before[0]
    assert after[1] - before[1] < RSS_TOLERANCE
