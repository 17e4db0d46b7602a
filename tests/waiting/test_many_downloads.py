"""64 downloads from nginx at once, in one thread, driven by pollhttp.wait()."""

from __future__ import annotations

import threading
import time

import pytest

import pollhttp
from pollhttp import Error, HTTPClient, HTTPRequest, Result, Status

from ..support.nginx import NginxServer, PatternChecker, query
from .conftest import COUNT, Download, rate, report

pytestmark = pytest.mark.nginx

DEADLINE = 30.0
REQUESTING, BODY = Status.STATUS_REQUESTING, Status.STATUS_BODY


def test_64_http_requests_one_thread(
    nginx: NginxServer, downloads: list[Download], requests_: list[HTTPRequest]
):
    outcomes: dict[int, tuple[Result, int, int, bool]] = {}

    def completed(i: int, result: Result, code: int, _headers: list[str], body: bytes) -> None:
        # Check the body here and keep only the verdict: 64 bodies are ~130 MiB.
        outcomes[i] = (result, code, len(body), body == downloads[i].expected())

    threads_before = threading.active_count()
    for i, download in enumerate(downloads):
        req = HTTPRequest()
        requests_.append(req)
        req.request_completed.connect(lambda *args, i=i: completed(i, *args))
        assert req.request(f"http://127.0.0.1:{nginx.port}{query(download.path, 'req', i=i)}") == (
            Error.OK
        )

    start = time.monotonic()
    most_threads = threads_before
    outstanding = 0  # the most requests sent and not yet answered in full, after a pass
    wakes = 0
    while len(outcomes) < COUNT:
        assert time.monotonic() - start < DEADLINE, f"{len(outcomes)} of {COUNT} done"
        for req in pollhttp.wait(requests_, 1.0):
            req.poll()
        wakes += 1
        most_threads = max(most_threads, threading.active_count())
        outstanding = max(
            outstanding,
            sum(1 for r in requests_ if r.get_http_client_status() in (REQUESTING, BODY)),
        )
    elapsed = time.monotonic() - start
    total = sum(d.size for d in downloads)
    report(
        "64 HTTPRequest downloads, pollhttp.wait",
        f"{rate(total, elapsed)}, {wakes} wakes, up to {outstanding} outstanding at once",
    )

    assert most_threads == threads_before  # no worker or resolver thread was started
    for i, download in enumerate(downloads):
        assert outcomes[i] == (Result.RESULT_SUCCESS, 200, download.size, True), i
    # Nothing runs any more: every object is idle and wait() returns at once with nothing.
    assert all(req.get_wait_interest() is None for req in requests_)
    before = time.monotonic()
    assert pollhttp.wait(requests_, 5.0) == []
    assert time.monotonic() - before < 0.5
    entries = nginx.tagged("req", COUNT)
    assert sorted((e.uri, e.status, e.body_bytes) for e in entries) == sorted(
        (query(d.path, "req", i=i), 200, d.size) for i, d in enumerate(downloads)
    )


def test_64_raw_clients_one_thread(
    nginx: NginxServer, downloads: list[Download], clients: list[HTTPClient]
):
    checkers: dict[HTTPClient, PatternChecker] = {}
    sent: dict[HTTPClient, bool] = {}
    finished: dict[HTTPClient, int] = {}
    paths: dict[HTTPClient, str] = {}
    for i, download in enumerate(downloads):
        client = HTTPClient()
        clients.append(client)
        assert client.connect_to_host("127.0.0.1", nginx.port) == Error.OK
        checkers[client] = PatternChecker(client.read_chunk_size)
        sent[client] = False
        paths[client] = query(download.path, "raw", i=i)

    def advance(client: HTTPClient) -> None:
        status = client.get_status()
        if status in (Status.STATUS_CONNECTING, Status.STATUS_REQUESTING):
            assert client.poll() == Error.OK, client.get_last_error()
            status = client.get_status()
        if status == Status.STATUS_CONNECTED and not sent[client]:
            # Connected just now: send at once, or the idle client has nothing to wait for.
            assert client.request(HTTPClient.METHOD_GET, paths[client], []) == Error.OK
            sent[client] = True
            status = client.get_status()
        elif status == Status.STATUS_BODY:
            checkers[client].feed(client.read_response_body_chunk())
            status = client.get_status()
        if sent[client] and status == Status.STATUS_CONNECTED:
            finished[client] = client.get_response_code()
        assert status not in (
            Status.STATUS_CANT_CONNECT,
            Status.STATUS_CONNECTION_ERROR,
            Status.STATUS_DISCONNECTED,
        ), client.get_last_error()

    threads_before = threading.active_count()
    start = time.monotonic()
    wakes = 0
    while len(finished) < COUNT:
        assert time.monotonic() - start < DEADLINE, f"{len(finished)} of {COUNT} done"
        for client in pollhttp.wait(clients, 1.0):
            advance(client)
        wakes += 1
        assert threading.active_count() == threads_before
    elapsed = time.monotonic() - start
    total = sum(d.size for d in downloads)
    report(
        "64 raw HTTPClient downloads, pollhttp.wait + read_response_body_chunk",
        f"{rate(total, elapsed)}, {wakes} wakes",
    )

    for client, download in zip(clients, downloads, strict=True):
        assert finished[client] == 200
        assert checkers[client].offset == download.size, paths[client]
        assert client.get_status() == Status.STATUS_CONNECTED  # kept alive, reusable
        assert client.get_wait_interest() is None
    entries = nginx.tagged("raw", COUNT)
    assert len({e.connection for e in entries}) == COUNT  # 64 connections at once
    assert sorted((e.uri, e.body_bytes) for e in entries) == sorted(
        (paths[c], d.size) for c, d in zip(clients, downloads, strict=True)
    )
