"""HTTPRequest and pollhttp.get with proxies: set explicitly, or from the environment (opt-in)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import trustme

import pollhttp
from pollhttp import HTTPRequest, Result, TLSOptions

from ..support.proxies import ProxyProcess, free_port
from ..support.servers import Read, ScriptedServer, Send, response, wait_for
from ..support.tls import TLSServer, server_context
from .conftest import PASSWORD, USER
from .helpers import headers_of, request_line

BODY = b"plain origin body\n"
SECURE = b"tls origin body\n"
PROXY_VARIABLES = (
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "no_proxy",
    "NO_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "REQUEST_METHOD",
)

Completion = tuple[Result, int, list[str], bytes]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No proxy variables from the machine; tests set the ones they need."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def agent() -> Iterator[HTTPRequest]:
    req = HTTPRequest()
    yield req
    req.close()  # cancels, and drops the kept connection


def run(req: HTTPRequest, url: str, timeout: float = 10.0, **kwargs: Any) -> Completion:
    """Start a request and drive it (poll, then sleep on its socket) until it completes."""
    done: list[Completion] = []
    req.request_completed.connect(lambda *args: done.append(args))
    assert req.request(url, **kwargs) == pollhttp.Error.OK, req.get_last_error()
    deadline = time.monotonic() + timeout
    while not done:
        if time.monotonic() > deadline:
            raise AssertionError(f"no completion; last error {req.get_last_error()!r}")
        req.poll()
        if not done:
            req.wait(0.05)
    assert len(done) == 1
    return done[0]


def plain_origin() -> ScriptedServer:
    return ScriptedServer([[Read(), Send(response(body=BODY))] * 3])


def tls_origin(leaf: trustme.LeafCert) -> TLSServer:
    return TLSServer([[Read(), Send(response(body=SECURE))] * 3], server_context(leaf=leaf))


# -- proxies set on the HTTPRequest ----------------------------------------------------------


def test_https_through_tinyproxy(
    agent: HTTPRequest,
    tinyproxy_plain: ProxyProcess,
    origin_leaf: trustme.LeafCert,
    origin_trust: TLSOptions,
) -> None:
    agent.set_tls_options(origin_trust)
    agent.set_https_proxy("127.0.0.1", tinyproxy_plain.port)
    with tls_origin(origin_leaf) as origin:
        result, code, _headers, body = run(agent, f"https://localhost:{origin.port}/secure?x=1")
        assert (result, code, body) == (Result.RESULT_SUCCESS, 200, SECURE)
        # The connection is kept for the next request to the same origin and proxy.
        result, code, _headers, body = run(agent, f"https://localhost:{origin.port}/again")
        assert (result, code, body) == (Result.RESULT_SUCCESS, 200, SECURE)
        wait_for(lambda: len(origin.requests) == 2)
    assert origin.connections == 1
    assert origin.server_names == ["localhost"]
    assert request_line(origin.requests[0]) == "GET /secure?x=1 HTTP/1.1"


def test_http_through_proxy_py_with_credentials(
    agent: HTTPRequest, proxypy_auth: ProxyProcess
) -> None:
    agent.set_http_proxy(f"{USER}:{PASSWORD}@127.0.0.1", proxypy_auth.port)
    with plain_origin() as origin:
        result, code, _headers, body = run(agent, f"http://127.0.0.1:{origin.port}/p?q")
        assert (result, code, body) == (Result.RESULT_SUCCESS, 200, BODY)
        wait_for(lambda: len(origin.requests) == 1)
    assert request_line(origin.requests[0]) == "GET /p?q HTTP/1.1"
    assert "proxy-authorization" not in headers_of(origin.requests[0])


def test_connect_407_is_cant_connect(
    agent: HTTPRequest, tinyproxy_auth: ProxyProcess, origin_trust: TLSOptions
) -> None:
    agent.set_tls_options(origin_trust)
    agent.set_https_proxy("127.0.0.1", tinyproxy_auth.port)
    result, code, headers, body = run(agent, f"https://localhost:{free_port()}/")
    assert (result, code, headers, body) == (Result.RESULT_CANT_CONNECT, 0, [], b"")


# -- proxies from the environment --------------------------------------------------------------


def test_environment_https_proxy(
    agent: HTTPRequest,
    clean_env: pytest.MonkeyPatch,
    tinyproxy_plain: ProxyProcess,
    origin_leaf: trustme.LeafCert,
    origin_trust: TLSOptions,
) -> None:
    clean_env.setenv("https_proxy", f"http://127.0.0.1:{tinyproxy_plain.port}")
    agent.use_environment_proxies = True
    agent.set_tls_options(origin_trust)
    with tls_origin(origin_leaf) as origin:
        result, code, _headers, body = run(agent, f"https://localhost:{origin.port}/env")
        assert (result, code, body) == (Result.RESULT_SUCCESS, 200, SECURE)
    # "localhost" reached the origin only because tinyproxy resolved it for the tunnel.
    assert origin.server_names == ["localhost"]
    log = (tinyproxy_plain.directory / "tinyproxy.log").read_text(errors="replace")
    assert f"CONNECT localhost:{origin.port}" in log


def test_environment_http_proxy_with_credentials(
    agent: HTTPRequest, clean_env: pytest.MonkeyPatch, tinyproxy_auth: ProxyProcess
) -> None:
    clean_env.setenv("http_proxy", f"http://{USER}:{PASSWORD}@127.0.0.1:{tinyproxy_auth.port}")
    agent.use_environment_proxies = True
    with plain_origin() as origin:
        result, code, _headers, body = run(agent, f"http://127.0.0.1:{origin.port}/env")
        assert (result, code, body) == (Result.RESULT_SUCCESS, 200, BODY)
        wait_for(lambda: len(origin.requests) == 1)
    headers = headers_of(origin.requests[0])
    assert any("tinyproxy" in via for via in headers["via"])  # it went through the proxy
    assert "proxy-authorization" not in headers


def test_environment_no_proxy_bypasses(agent: HTTPRequest, clean_env: pytest.MonkeyPatch) -> None:
    dead = free_port()
    clean_env.setenv("http_proxy", f"http://127.0.0.1:{dead}")
    clean_env.setenv("no_proxy", "localhost,127.0.0.0/8")
    agent.use_environment_proxies = True
    with plain_origin() as origin:
        result, code, _headers, body = run(agent, f"http://127.0.0.1:{origin.port}/direct")
        assert (result, code, body) == (Result.RESULT_SUCCESS, 200, BODY)
        wait_for(lambda: len(origin.requests) == 1)
    assert request_line(origin.requests[0]) == "GET /direct HTTP/1.1"  # origin form: direct


def test_environment_proxy_down(agent: HTTPRequest, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("http_proxy", f"http://127.0.0.1:{free_port()}")
    agent.use_environment_proxies = True
    with plain_origin() as origin:
        result, *_ = run(agent, f"http://127.0.0.1:{origin.port}/")
        assert result == Result.RESULT_CANT_CONNECT
    assert origin.connections == 0


def test_environment_is_opt_in(agent: HTTPRequest, clean_env: pytest.MonkeyPatch) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    clean_env.setenv("http_proxy", dead)
    clean_env.setenv("HTTP_PROXY", dead)
    assert agent.use_environment_proxies is False
    with plain_origin() as origin:
        result, code, _headers, body = run(agent, f"http://127.0.0.1:{origin.port}/")
        assert (result, code, body) == (Result.RESULT_SUCCESS, 200, BODY)


def test_environment_unusable_proxy_fails_the_request(
    agent: HTTPRequest, clean_env: pytest.MonkeyPatch
) -> None:
    """A proxy the client cannot use (socks5) fails this request; it never raises."""
    clean_env.setenv("http_proxy", "socks5://127.0.0.1:1080")
    agent.use_environment_proxies = True
    done: list[Completion] = []
    agent.request_completed.connect(lambda *args: done.append(args))
    with plain_origin() as origin:
        err = agent.request(f"http://127.0.0.1:{origin.port}/")
        deadline = time.monotonic() + 5.0
        while err == pollhttp.Error.OK and not done and time.monotonic() < deadline:
            agent.poll()
            agent.wait(0.05)
        if err == pollhttp.Error.OK:
            assert len(done) == 1
            assert done[0][0] != Result.RESULT_SUCCESS
        else:
            assert err == pollhttp.Error.ERR_INVALID_PARAMETER
            assert done == []
    assert origin.connections == 0


# -- pollhttp.get --------------------------------------------------------------------------------


def test_get_reads_environment_proxies_as_curl_does(
    clean_env: pytest.MonkeyPatch, tinyproxy_plain: ProxyProcess
) -> None:
    """pollhttp.get honours http_proxy (issue 13), and never upper-case HTTP_PROXY (httpoxy)."""
    clean_env.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")  # dead: never used
    with plain_origin() as origin:
        reply = pollhttp.get(f"http://127.0.0.1:{origin.port}/direct", timeout=5.0)
        wait_for(lambda: len(origin.requests) == 1)
    assert (reply.status_code, reply.content) == (200, BODY)
    assert request_line(origin.requests[0]) == "GET /direct HTTP/1.1"  # not through a proxy
    clean_env.setenv("http_proxy", f"http://127.0.0.1:{tinyproxy_plain.port}")
    with plain_origin() as origin:
        reply = pollhttp.get(f"http://127.0.0.1:{origin.port}/proxied", timeout=5.0)
        wait_for(lambda: len(origin.requests) == 1)
    assert (reply.status_code, reply.content) == (200, BODY)
    assert any("tinyproxy" in via for via in headers_of(origin.requests[0])["via"])
