"""Conformance: the Godot traps of godot-behaviour.md §7.1 that the tables elsewhere do not hold.

Items 3-12, 24 and 25 are rows of test_framing.py, 18 of test_proxy.py, 19 of
test_redirects.py, 20 of test_decoding.py; these are the rest. Each test is named by its
item number.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from pollhttp import (
    Error,
    HTTPClient,
    InvalidParameterError,
    LimitExceededError,
    Method,
    Result,
    Status,
)

from ..support.servers import Close, Pause, Read, ScriptedServer, Send, needs_ipv6, response
from .common import head
from .harness import complete, make_request

BIG = 5_000_000_000  # over 2**32: Godot's counters are 32-bit


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_G01_no_timeout_after_a_refused_request() -> None:
    """§7.1.1: a refused request never emits anything later, not even RESULT_TIMEOUT."""
    run = make_request(timeout=0.05)
    try:
        assert run.req.request("http://127.0.0.1:1/a b") == Error.ERR_INVALID_PARAMETER
        deadline = time.monotonic() + 0.2
        while time.monotonic() < deadline:
            assert run.req.poll() == Error.ERR_UNCONFIGURED
            run.req.wait(0.02)
    finally:
        run.req.close()
    assert run.completions == []


@pytest.mark.parametrize("threads", [False, True], ids=["polled", "threads"])
def test_G02_connect_failure_is_reported_once(threads: bool) -> None:
    """§7.1.2: a connection failure is not returned by request(): it arrives once, as a result."""
    run = make_request(use_threads=threads)
    try:
        assert run.req.request(f"http://127.0.0.1:{closed_port()}/") == Error.OK
        assert complete(run) == (Result.RESULT_CANT_CONNECT, 0, [], b"")
        deadline = time.monotonic() + 0.1
        while time.monotonic() < deadline:
            assert run.req.poll() == Error.ERR_UNCONFIGURED
            run.req.wait(0.02)
    finally:
        run.req.close()
    assert len(run.completions) == 1


def test_G13_body_size_limit_bounds_memory() -> None:
    """§7.1.13: the body kept in memory is bounded (body_size_limit), also without a length."""
    chunked = head("HTTP/1.1 200 OK", "Transfer-Encoding: chunked")
    chunk = b"10000\r\n" + b"m" * 65536 + b"\r\n"
    with ScriptedServer([[Read(), Send(chunked + chunk * 64), Pause(5)]]) as server:
        run = make_request(body_size_limit=1_000_000)
        try:
            assert run.req.request(f"http://127.0.0.1:{server.port}/") == Error.OK
            result = complete(run)
        finally:
            run.req.close()
    assert result[:2] == (Result.RESULT_BODY_SIZE_LIMIT_EXCEEDED, 200)
    assert result[3] == b""
    assert isinstance(run.req.get_last_error(), LimitExceededError)
    assert run.req.get_downloaded_bytes() <= 1_000_000 + 65536


def test_G14_timeout_is_real_seconds_for_the_whole_request() -> None:
    """§7.1.14: HTTPRequest.timeout counts real seconds over the whole request."""
    script = [Read(), Send(head("HTTP/1.1 200 OK", "Content-Length: 10", body=b"01234")), Pause(5)]
    with ScriptedServer([script]) as server:
        run = make_request(timeout=0.25)
        try:
            started = time.monotonic()
            assert run.req.request(f"http://127.0.0.1:{server.port}/") == Error.OK
            result = complete(run)
            elapsed = time.monotonic() - started
        finally:
            run.req.close()
    assert result == (Result.RESULT_TIMEOUT, 0, [], b"")
    assert 0.25 <= elapsed < 0.8


def test_G15_blocking_mode_sleeps_instead_of_spinning() -> None:
    """§7.1.15: blocking mode waits in the kernel: a 0.3 s wait costs almost no CPU."""
    script = [Read(), Pause(0.3), Send(response(body=b"late"))]
    with ScriptedServer([script]) as server:
        client = HTTPClient()
        try:
            client.set_blocking_mode(True)
            assert client.connect_to_host("127.0.0.1", server.port) == Error.OK
            while client.get_status() == Status.STATUS_CONNECTING:
                client.poll()
            assert client.request(HTTPClient.METHOD_GET, "/", []) == Error.OK
            wall, cpu = time.monotonic(), time.process_time()
            polls = 0
            while client.get_status() == Status.STATUS_REQUESTING and polls < 100:
                client.poll()
                polls += 1
            wall, cpu = time.monotonic() - wall, time.process_time() - cpu
            assert client.get_status() == Status.STATUS_BODY
            assert client.read_response_body_chunk() == b"late"
        finally:
            client.close()
    assert wall >= 0.25
    assert polls <= 5
    assert cpu < 0.1, cpu


def test_G16_a_poll_reads_many_chunks() -> None:
    """§7.1.16: one poll() reads as much as its budget allows, not one chunk per frame."""
    size = 1024 * 1024
    with ScriptedServer([[Read(), Send(response(body=b"t" * size))]]) as server:
        run = make_request(download_chunk_size=16 * 1024, poll_time_budget=1.0)
        try:
            assert run.req.request(f"http://127.0.0.1:{server.port}/") == Error.OK
            largest = 0
            deadline = time.monotonic() + 5
            while not run.completions:
                assert time.monotonic() < deadline
                before = run.req.get_downloaded_bytes()
                run.req.poll()
                largest = max(largest, run.req.get_downloaded_bytes() - before)
                if not run.completions:
                    run.req.wait(0.05)
        finally:
            run.req.close()
    assert run.completions[0][0] == Result.RESULT_SUCCESS
    assert largest > 4 * 16 * 1024


@needs_ipv6
def test_G17_ipv6_literal_and_bracketed_host() -> None:
    """§7.1.17: ::1 works with or without brackets, and Host brackets it."""
    with ScriptedServer([[Read(), Send(response(body=b"six"))]], host="::1") as server:
        for host in ("::1", "[::1]"):
            client = HTTPClient()
            try:
                assert client.connect_to_host(host, server.port) == Error.OK
                deadline = time.monotonic() + 5
                while client.get_status() == Status.STATUS_CONNECTING:
                    assert time.monotonic() < deadline
                    client.poll()
                assert client.get_status() == Status.STATUS_CONNECTED
            finally:
                client.close()
        run = make_request()
        try:
            assert run.req.request(f"http://[::1]:{server.port}/x") == Error.OK
            assert complete(run)[3] == b"six"
        finally:
            run.req.close()
    assert f"\r\nHost: [::1]:{server.port}\r\n".encode() in server.requests[0]


def test_G17b_host_validation_and_query_without_path() -> None:
    """§7.1.17: a host with a port or path is refused at once; a URL with a query and no
    path asks for /?query."""
    client = HTTPClient()
    try:
        for host in ("example.test:8080", "example.test/", "a b"):
            assert client.connect_to_host(host, 80) == Error.ERR_INVALID_PARAMETER
            assert isinstance(client.get_last_error(), InvalidParameterError)
            assert "port separate" in str(client.get_last_error())
    finally:
        client.close()
    with ScriptedServer([[Read(), Send(response(body=b"q"))]]) as server:
        run = make_request()
        try:
            assert run.req.request(f"http://127.0.0.1:{server.port}?a=1") == Error.OK
            assert complete(run)[0] == Result.RESULT_SUCCESS
        finally:
            run.req.close()
    assert server.requests[0].startswith(b"GET /?a=1 HTTP/1.1\r\n")


def test_G21_failed_download_leaves_the_old_file_alone(tmp_path: Path) -> None:
    """§7.1.21: a download that fails is never half-written over the target."""
    target = tmp_path / "file.bin"
    target.write_bytes(b"previous content")
    script = [
        Read(),
        Send(head("HTTP/1.1 200 OK", "Content-Length: 100", body=b"partial")),
        Close(),
    ]
    with ScriptedServer([script]) as server:
        run = make_request(download_file=str(target))
        try:
            assert run.req.request(f"http://127.0.0.1:{server.port}/") == Error.OK
            assert complete(run) == (Result.RESULT_CONNECTION_ERROR, 0, [], b"")
        finally:
            run.req.close()
    assert target.read_bytes() == b"previous content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.bin"]
    with ScriptedServer([[Read(), Send(response(body=b"new content"))]]) as server:
        run = make_request(download_file=str(target))
        try:
            assert run.req.request(f"http://127.0.0.1:{server.port}/") == Error.OK
            assert complete(run)[:2] == (Result.RESULT_SUCCESS, 200)
        finally:
            run.req.close()
    assert target.read_bytes() == b"new content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.bin"]


def test_G22_sizes_over_4_gib() -> None:
    """§7.1.22: a Content-Length over 2**32 is reported whole (64-bit counters)."""
    script = [
        Read(),
        Send(head("HTTP/1.1 200 OK", f"Content-Length: {BIG}", body=b"abc")),
        Pause(5),
    ]
    with ScriptedServer([script]) as server:
        client = HTTPClient()
        try:
            assert client.connect_to_host("127.0.0.1", server.port) == Error.OK
            deadline = time.monotonic() + 5
            while client.get_status() in (Status.STATUS_CONNECTING, Status.STATUS_REQUESTING) or (
                client.get_status() == Status.STATUS_CONNECTED and not client.has_response()
            ):
                assert time.monotonic() < deadline
                if client.get_status() == Status.STATUS_CONNECTED:
                    assert client.request(HTTPClient.METHOD_GET, "/", []) == Error.OK
                client.poll()
            assert client.get_response_body_length() == BIG
        finally:
            client.close()
        run = make_request()
        try:
            assert run.req.request(f"http://127.0.0.1:{server.port}/") == Error.OK
            deadline = time.monotonic() + 5
            while run.req.get_downloaded_bytes() < 3:
                assert time.monotonic() < deadline
                run.req.poll()
                run.req.wait(0.02)
            assert run.req.get_body_size() == BIG
            assert run.downloads[-1] == (3, BIG)
            run.req.cancel_request()
        finally:
            run.req.close()
    assert run.completions == []


def test_G23_connection_reuse_and_one_retry() -> None:
    """§7.1.23: consecutive requests reuse the connection; a connection the server closed
    in between is noticed before the request goes out, so every method, POST included,
    goes on a new connection (issue 19); Godot sends into the dead connection."""
    ok = response(body=b"ok")
    with ScriptedServer([[Read(), Send(ok)] * 3]) as server:
        run = make_request()
        try:
            for count in (1, 2, 3):
                assert run.req.request(f"http://127.0.0.1:{server.port}/{count}") == Error.OK
                assert complete(run, count=count)[:2] == (Result.RESULT_SUCCESS, 200)
        finally:
            run.req.close()
    assert server.connections == 1
    # The server closes after each response without saying so.
    with ScriptedServer([[Read(), Send(ok), Close()]]) as server:
        run = make_request()
        try:
            url = f"http://127.0.0.1:{server.port}/"
            assert run.req.request(url) == Error.OK
            assert complete(run)[0] == Result.RESULT_SUCCESS
            _wait_until_closed(server)
            assert run.req.request(url) == Error.OK
            assert complete(run, count=2)[0] == Result.RESULT_SUCCESS
            assert server.connections == 2
            _wait_until_closed(server)
            assert run.req.request_raw(url, [], Method.METHOD_POST, b"x") == Error.OK
            result = complete(run, count=3)
        finally:
            run.req.close()
    assert result[:2] == (Result.RESULT_SUCCESS, 200)
    assert server.connections == 3  # nothing was sent on the dead one: a new connection


def _wait_until_closed(server: ScriptedServer) -> None:
    """The scripted server closes right after sending; give its FIN time to arrive."""
    deadline = time.monotonic() + 2
    while any(t.is_alive() for t in server._threads):
        assert time.monotonic() < deadline
        time.sleep(0.002)


def test_G23b_http_client_keeps_its_connection() -> None:
    """HTTPClient carries many requests on one connection while the server allows it."""
    with ScriptedServer([[Read(), Send(response(body=b"again"))] * 5]) as server:
        client = HTTPClient()
        try:
            assert client.connect_to_host("127.0.0.1", server.port) == Error.OK
            for _ in range(5):
                deadline = time.monotonic() + 5
                while client.get_status() == Status.STATUS_CONNECTING:
                    client.poll()
                assert client.request(HTTPClient.METHOD_GET, "/", []) == Error.OK
                body = b""
                while client.get_status() in (Status.STATUS_REQUESTING, Status.STATUS_BODY):
                    assert time.monotonic() < deadline
                    client.poll()
                    body += client.read_response_body_chunk()
                assert body == b"again"
                assert client.get_status() == Status.STATUS_CONNECTED
        finally:
            client.close()
    assert server.connections == 1
