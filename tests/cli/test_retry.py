"""--retry, --retry-delay, --retry-max-time and --retry-all-errors, against scripted servers.

Each retry goes on a new connection, so each script below is one connection's.
"""

from __future__ import annotations

import time

from ..support.servers import Read, Reset, ScriptedServer, Send, response
from .conftest import run_cli

BUSY = response("503 Service Unavailable", body=b"busy\n")
OK = response(body=b"fine\n")
PARTIAL = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhal"


def url(server: ScriptedServer) -> str:
    return f"http://127.0.0.1:{server.port}/"


def test_without_retry_the_503_is_the_answer():
    with ScriptedServer([[Read(), Send(BUSY)], [Read(), Send(OK)]]) as server:
        ran = run_cli(url(server))
    assert (ran.code, ran.out) == (0, b"busy\n")
    assert server.connections == 1


def test_retry_goes_again_after_a_503():
    with ScriptedServer([[Read(), Send(BUSY)], [Read(), Send(OK)]]) as server:
        ran = run_cli("--retry", "2", url(server))
    assert (ran.code, ran.out) == (0, b"fine\n"), ran.err
    assert server.connections == 2


def test_retry_delay_waits_between_retries():
    scripts = [[Read(), Send(BUSY)]] * 3 + [[Read(), Send(OK)]]
    with ScriptedServer(scripts) as server:
        start = time.monotonic()
        ran = run_cli("--retry", "3", "--retry-delay", "0.3", url(server))
        elapsed = time.monotonic() - start
    assert (ran.code, ran.out) == (0, b"fine\n"), ran.err
    assert server.connections == 4
    assert elapsed >= 0.6  # the second and third retries waited 0.3 s each


def test_retry_max_time_stops_retries_that_would_start_too_late():
    with ScriptedServer([[Read(), Send(BUSY)]]) as server:
        ran = run_cli("--retry", "5", "--retry-delay", "2", "--retry-max-time", "1", url(server))
    assert (ran.code, ran.out) == (0, b"busy\n")
    assert server.connections == 2  # the first retry starts at once; the next would be late


def test_a_post_cut_mid_response_is_not_resent_without_retry_all_errors():
    scripts = [[Read(), Send(PARTIAL), Reset()], [Read(), Send(OK)]]
    with ScriptedServer(scripts) as server:
        ran = run_cli("--retry", "3", "-d", "x", url(server))
    assert ran.code != 0
    assert server.connections == 1
    with ScriptedServer(scripts) as server:
        ran = run_cli("--retry", "3", "--retry-all-errors", "-d", "x", url(server))
    assert (ran.code, ran.out) == (0, b"fine\n"), ran.err
    assert server.connections == 2


def test_bad_retry_values_are_usage_errors():
    for args in (["--retry", "-1"], ["--retry", "x"], ["--retry-delay", "nan"]):
        ran = run_cli(*args, "http://127.0.0.1:9/")
        assert ran.code == 2, (args, ran.err)
