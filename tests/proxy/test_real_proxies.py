"""HTTPClient through real proxies on 127.0.0.1: tinyproxy (Debian) and proxy.py (PyPI).

Plain HTTP goes in absolute form through each proxy to a scripted origin, which records
what the proxy forwarded; HTTPS goes through a CONNECT tunnel to a stdlib TLS origin with
a trustme certificate for ``localhost`` (the proxy resolves that name, the client never
does). Also: 407 without credentials and success with them, a CONNECT port the proxy
forbids, TLS to the proxy itself (proxy.py with a certificate), and a proxy that is down.
"""

from __future__ import annotations

import time

import pytest
import trustme

from pollhttp import (
    ConnectError,
    Error,
    HTTPClient,
    Status,
    StreamPeerTCP,
    StreamPeerTLS,
    TLSHandshakeError,
    TLSOptions,
)

from ..support.polling import connect, fetch, poll_until, poll_while_waiting, read_body
from ..support.proxies import ProxyProcess, free_port
from ..support.servers import Read, ScriptedServer, Send, response, wait_for
from ..support.tls import TLSServer, ca_certificate, server_context
from .conftest import PASSWORD, USER, RunningProxy
from .helpers import headers_of, request_line

BODY = b"hello from the origin, through the proxy\n"
SECURE = b"hello over TLS, through the tunnel\n"
CONNECTED = Status.STATUS_CONNECTED
CONNECTING = Status.STATUS_CONNECTING
CANT_CONNECT = Status.STATUS_CANT_CONNECT


def origin_server(count: int = 3) -> ScriptedServer:
    """A plain HTTP origin: on every connection, ``count`` requests answered with BODY."""
    return ScriptedServer([[Read(), Send(response(body=BODY))] * count])


def tls_origin(leaf: trustme.LeafCert, count: int = 2) -> TLSServer:
    """A TLS origin: on every connection, ``count`` requests answered with SECURE."""
    return TLSServer([[Read(), Send(response(body=SECURE))] * count], server_context(leaf=leaf))


def connect_through_tunnel(client: HTTPClient, port: int, options: TLSOptions) -> list:
    """connect_to_host("https://localhost", port) and poll; return the (result, status) trace."""
    assert client.connect_to_host("https://localhost", port, options) == Error.OK
    return poll_while_waiting(client)


def assert_cant_connect(client: HTTPClient, code: int) -> ConnectError:
    """The proxy refused: CANT_CONNECT (sticky), ERR_CANT_CONNECT, its code readable.

    ``code`` 0 accepts any 4xx/5xx.
    """
    assert client.get_status() == CANT_CONNECT, client.get_last_error()
    for _ in range(3):
        assert client.poll() == Error.ERR_CANT_CONNECT
        assert client.get_status() == CANT_CONNECT
    if code:
        assert client.get_response_code() == code
    assert 400 <= client.get_response_code() <= 599
    error = client.get_last_error()
    assert isinstance(error, ConnectError)
    assert not isinstance(error, TLSHandshakeError)
    assert error.code == Error.ERR_CANT_CONNECT
    assert str(client.get_response_code()) in str(error)
    return error


# -- plain HTTP: absolute form ----------------------------------------------------------------


def test_http_through_each_proxy(plain_proxy: RunningProxy, client: HTTPClient) -> None:
    with origin_server() as origin:
        client.set_http_proxy("127.0.0.1", plain_proxy.port)
        connect(client, "127.0.0.1", origin.port)
        tcp = client.get_connection()
        assert isinstance(tcp, StreamPeerTCP)
        assert tcp.get_connected_port() == plain_proxy.port  # the proxy, not the origin
        assert fetch(client, "/path/file.txt?q=1&r=two") == BODY
        assert client.get_response_code() == 200
        wait_for(lambda: len(origin.requests) == 1)
    forwarded = origin.requests[0]
    assert request_line(forwarded) == "GET /path/file.txt?q=1&r=two HTTP/1.1"
    headers = headers_of(forwarded)
    assert headers["host"] == [f"127.0.0.1:{origin.port}"]
    assert "proxy-authorization" not in headers


def test_http_keep_alive_to_proxy_py(proxypy_plain: ProxyProcess, client: HTTPClient) -> None:
    """Two requests over one client connection to the proxy."""
    with origin_server() as origin:
        client.set_http_proxy("127.0.0.1", proxypy_plain.port)
        connect(client, "127.0.0.1", origin.port)
        first = client.get_connection()
        assert isinstance(first, StreamPeerTCP)
        local_port = first.get_local_port()
        assert fetch(client, "/one") == BODY
        assert client.get_status() == CONNECTED
        assert fetch(client, "/two") == BODY
        assert client.get_status() == CONNECTED
        assert client.get_connection() is first
        assert first.get_local_port() == local_port
        wait_for(lambda: len(origin.requests) == 2)
    assert [request_line(r) for r in origin.requests] == [
        "GET /one HTTP/1.1",
        "GET /two HTTP/1.1",
    ]


def test_tinyproxy_closes_after_each_response_and_the_client_reconnects(
    tinyproxy_plain: ProxyProcess, client: HTTPClient
) -> None:
    """tinyproxy 1.11 closes the client connection after every response (no keep-alive)."""
    with origin_server() as origin:
        client.set_http_proxy("127.0.0.1", tinyproxy_plain.port)
        connect(client, "127.0.0.1", origin.port)
        assert fetch(client, "/one") == BODY
        # The close is noticed while idle; the response stays readable.
        poll_until(client, lambda c: c.get_status() != CONNECTED)
        assert client.get_status() == Status.STATUS_DISCONNECTED
        assert client.get_response_code() == 200
        connect(client, "127.0.0.1", origin.port)
        assert fetch(client, "/two") == BODY
        wait_for(lambda: len(origin.requests) == 2)
    assert request_line(origin.requests[1]) == "GET /two HTTP/1.1"


def test_http_post_body_through_each_proxy(plain_proxy: RunningProxy, client: HTTPClient) -> None:
    with origin_server() as origin:
        client.set_http_proxy("127.0.0.1", plain_proxy.port)
        connect(client, "127.0.0.1", origin.port)
        payload = b'{"through": "the proxy"}'
        headers = ["Content-Type: application/json"]
        assert fetch(client, "/submit", HTTPClient.METHOD_POST, headers, payload) == BODY
        wait_for(lambda: len(origin.requests) == 1)
    forwarded = origin.requests[0]
    assert request_line(forwarded) == "POST /submit HTTP/1.1"
    assert forwarded.endswith(b"\r\n\r\n" + payload)


def test_origin_down_behind_the_proxy(plain_proxy: RunningProxy, client: HTTPClient) -> None:
    """The proxy answers for an origin it cannot reach (5xx); that is a response."""
    client.set_http_proxy("127.0.0.1", plain_proxy.port)
    connect(client, "127.0.0.1", free_port())
    assert client.request(HTTPClient.METHOD_GET, "/", []) == Error.OK
    poll_while_waiting(client)
    read_body(client)
    assert 500 <= client.get_response_code() <= 504


# -- HTTPS: CONNECT tunnels -------------------------------------------------------------------


def test_https_through_connect_with_each_proxy(
    plain_proxy: RunningProxy,
    client: HTTPClient,
    origin_leaf: trustme.LeafCert,
    origin_trust: TLSOptions,
) -> None:
    with tls_origin(origin_leaf) as origin:
        client.set_https_proxy("127.0.0.1", plain_proxy.port)
        trace = connect_through_tunnel(client, origin.port, origin_trust)
        assert client.get_status() == CONNECTED, client.get_last_error()
        # CONNECTING until the tunnel and the TLS handshake inside it are both done.
        statuses = [status for _, status in trace]
        assert statuses[-1] == CONNECTED
        assert set(statuses[:-1]) == {CONNECTING}
        assert all(result == Error.OK for result, _ in trace)
        tls = client.get_connection()
        assert isinstance(tls, StreamPeerTLS)
        assert tls.get_status() == StreamPeerTLS.STATUS_CONNECTED
        wait_for(lambda: origin.handshakes == 1)
        # Verified against the origin's name, which the client sent as SNI.
        assert origin.server_names == ["localhost"]
        # The proxy's 200 is not a response of the client's.
        assert client.get_response_code() == 0
        assert not client.has_response()
        assert fetch(client, "/secret?token=abc") == SECURE
        assert client.get_status() == CONNECTED
        assert fetch(client, "/again") == SECURE  # keep-alive inside the tunnel
        wait_for(lambda: len(origin.requests) == 2)
    assert origin.connections == 1
    assert request_line(origin.requests[0]) == "GET /secret?token=abc HTTP/1.1"
    headers = headers_of(origin.requests[0])
    assert headers["host"] == [f"localhost:{origin.port}"]
    assert "proxy-authorization" not in headers


def test_https_through_connect_wrong_ca(
    plain_proxy: RunningProxy,
    client: HTTPClient,
    origin_leaf: trustme.LeafCert,
    other_ca: trustme.CA,
) -> None:
    with tls_origin(origin_leaf) as origin:
        client.set_https_proxy("127.0.0.1", plain_proxy.port)
        trace = connect_through_tunnel(
            client, origin.port, TLSOptions.client(ca_certificate(other_ca))
        )
        assert client.get_status() == Status.STATUS_TLS_HANDSHAKE_ERROR
        assert CONNECTED not in [status for _, status in trace]
        assert client.poll() == Error.ERR_CANT_CONNECT
        error = client.get_last_error()
        assert isinstance(error, TLSHandshakeError)
        assert "certificate verify failed" in error.reason
        # The tunnel reached the origin: its handshake is what failed.
        wait_for(lambda: origin.connections == 1)


def test_https_origin_down_behind_the_proxy(
    plain_proxy: RunningProxy, client: HTTPClient, origin_trust: TLSOptions
) -> None:
    client.set_https_proxy("127.0.0.1", plain_proxy.port)
    assert client.connect_to_host("https://127.0.0.1", free_port(), origin_trust) == Error.OK
    poll_while_waiting(client)
    assert client.get_status() == CANT_CONNECT
    assert client.poll() == Error.ERR_CANT_CONNECT
    assert 500 <= client.get_response_code() <= 504


# -- proxy authentication ----------------------------------------------------------------------


def test_connect_407_without_credentials(
    auth_proxy: RunningProxy,
    client: HTTPClient,
    origin_leaf: trustme.LeafCert,
    origin_trust: TLSOptions,
) -> None:
    with tls_origin(origin_leaf) as origin:
        client.set_https_proxy("127.0.0.1", auth_proxy.port)
        trace = connect_through_tunnel(client, origin.port, origin_trust)
        assert CONNECTED not in [status for _, status in trace]
        assert_cant_connect(client, 407)
        headers = client.get_response_headers_as_dictionary()
        challenge = {k.lower(): v for k, v in headers.items()}["proxy-authenticate"]
        assert challenge.startswith("Basic")
        assert any(
            line.lower().startswith("proxy-authenticate: basic")
            for line in client.get_response_headers()
        )
    assert origin.connections == 0


def test_connect_407_with_wrong_credentials(
    auth_proxy: RunningProxy, client: HTTPClient, origin_trust: TLSOptions
) -> None:
    """Refused: proxy.py says 407 again, tinyproxy 401 (its choice for bad credentials)."""
    client.set_https_proxy("127.0.0.1", auth_proxy.port, username=USER, password="wrong")
    connect_through_tunnel(client, free_port(), origin_trust)
    assert_cant_connect(client, 0)
    assert client.get_response_code() == (401 if auth_proxy.kind == "tinyproxy" else 407)


@pytest.mark.parametrize("form", ["keywords", "userinfo"])
def test_connect_with_credentials(
    auth_proxy: RunningProxy,
    client: HTTPClient,
    origin_leaf: trustme.LeafCert,
    origin_trust: TLSOptions,
    form: str,
) -> None:
    with tls_origin(origin_leaf) as origin:
        if form == "keywords":
            client.set_https_proxy("127.0.0.1", auth_proxy.port, username=USER, password=PASSWORD)
        else:
            client.set_https_proxy(f"{USER}:{PASSWORD}@127.0.0.1", auth_proxy.port)
        connect_through_tunnel(client, origin.port, origin_trust)
        assert client.get_status() == CONNECTED, client.get_last_error()
        assert fetch(client, "/") == SECURE
        wait_for(lambda: len(origin.requests) == 1)
    assert origin.server_names == ["localhost"]
    assert "proxy-authorization" not in headers_of(origin.requests[0])


def test_connect_retried_with_credentials_after_407(
    auth_proxy: RunningProxy,
    client: HTTPClient,
    origin_leaf: trustme.LeafCert,
    origin_trust: TLSOptions,
) -> None:
    """After a 407 the caller sets credentials; the next connect_to_host uses them."""
    with tls_origin(origin_leaf) as origin:
        client.set_https_proxy("127.0.0.1", auth_proxy.port)
        connect_through_tunnel(client, origin.port, origin_trust)
        assert_cant_connect(client, 407)
        client.set_https_proxy("127.0.0.1", auth_proxy.port, username=USER, password=PASSWORD)
        connect_through_tunnel(client, origin.port, origin_trust)
        assert client.get_status() == CONNECTED, client.get_last_error()
        assert client.get_response_code() == 0  # the 407 is forgotten
        assert fetch(client, "/") == SECURE


def test_http_407_without_credentials(auth_proxy: RunningProxy, client: HTTPClient) -> None:
    """In absolute form the 407 is an ordinary response, with its challenge."""
    with origin_server() as origin:
        client.set_http_proxy("127.0.0.1", auth_proxy.port)
        connect(client, "127.0.0.1", origin.port)
        body = fetch(client, "/")
        assert client.get_response_code() == 407
        headers = {k.lower(): v for k, v in client.get_response_headers_as_dictionary().items()}
        assert headers["proxy-authenticate"].startswith("Basic")
        assert body  # both proxies explain in a body
        assert body != BODY
    assert origin.requests == []


@pytest.mark.parametrize("form", ["keywords", "userinfo"])
def test_http_with_credentials(auth_proxy: RunningProxy, client: HTTPClient, form: str) -> None:
    with origin_server() as origin:
        if form == "keywords":
            client.set_http_proxy("127.0.0.1", auth_proxy.port, username=USER, password=PASSWORD)
        else:
            client.set_http_proxy(f"http://{USER}:{PASSWORD}@127.0.0.1", auth_proxy.port)
        connect(client, "127.0.0.1", origin.port)
        assert fetch(client, "/private") == BODY
        assert client.get_response_code() == 200
        wait_for(lambda: len(origin.requests) == 1)
    headers = headers_of(origin.requests[0])
    assert headers["host"] == [f"127.0.0.1:{origin.port}"]
    # The proxy consumed the credentials; they never reach the origin.
    assert "proxy-authorization" not in headers
    assert PASSWORD.encode() not in origin.requests[0]


# -- a CONNECT port the proxy forbids ------------------------------------------------------------


def test_connect_to_a_forbidden_port(
    tinyproxy_443_only: ProxyProcess,
    client: HTTPClient,
    origin_leaf: trustme.LeafCert,
    origin_trust: TLSOptions,
) -> None:
    with tls_origin(origin_leaf) as origin:
        client.set_https_proxy("127.0.0.1", tinyproxy_443_only.port)
        connect_through_tunnel(client, origin.port, origin_trust)
        error = assert_cant_connect(client, 403)
        assert "refused the tunnel" in str(error)
        assert client.get_response_headers()  # the proxy's headers are readable
    assert origin.connections == 0


# -- TLS to the proxy itself ---------------------------------------------------------------------


def test_tls_to_the_proxy_and_to_the_origin(
    proxypy_tls: ProxyProcess,
    client: HTTPClient,
    origin_leaf: trustme.LeafCert,
    origin_trust: TLSOptions,
    proxy_trust: TLSOptions,
) -> None:
    with tls_origin(origin_leaf) as origin:
        client.set_https_proxy("https://127.0.0.1", proxypy_tls.port, tls_options=proxy_trust)
        trace = connect_through_tunnel(client, origin.port, origin_trust)
        assert client.get_status() == CONNECTED, client.get_last_error()
        assert {status for _, status in trace[:-1]} == {CONNECTING}
        outer = client.get_connection()
        assert isinstance(outer, StreamPeerTLS)
        # TLS to the origin runs inside TLS to the proxy.
        assert isinstance(outer.get_stream(), StreamPeerTLS)
        assert fetch(client, "/nested") == SECURE
        wait_for(lambda: len(origin.requests) == 1)
    assert origin.server_names == ["localhost"]
    assert request_line(origin.requests[0]) == "GET /nested HTTP/1.1"


def test_tls_proxy_with_an_untrusted_certificate(
    proxypy_tls: ProxyProcess,
    client: HTTPClient,
    origin_leaf: trustme.LeafCert,
    origin_trust: TLSOptions,
    other_ca: trustme.CA,
) -> None:
    """The proxy's certificate is checked: another CA's trust fails before any CONNECT."""
    with tls_origin(origin_leaf) as origin:
        client.set_https_proxy(
            "https://127.0.0.1",
            proxypy_tls.port,
            tls_options=TLSOptions.client(ca_certificate(other_ca)),
        )
        connect_through_tunnel(client, origin.port, origin_trust)
        assert client.get_status() == Status.STATUS_TLS_HANDSHAKE_ERROR
        error = client.get_last_error()
        assert isinstance(error, TLSHandshakeError)
        assert "certificate verify failed" in error.reason
    assert origin.connections == 0


def test_tls_proxy_without_tls_options_uses_the_system_trust(
    proxypy_tls: ProxyProcess, client: HTTPClient, origin_trust: TLSOptions
) -> None:
    """No tls_options: TLSOptions.client() (system CAs), which do not know the trustme CA."""
    client.set_https_proxy("https://127.0.0.1", proxypy_tls.port)
    connect_through_tunnel(client, free_port(), origin_trust)
    assert client.get_status() == Status.STATUS_TLS_HANDSHAKE_ERROR


def test_tls_proxy_and_an_untrusted_origin(
    proxypy_tls: ProxyProcess,
    client: HTTPClient,
    origin_leaf: trustme.LeafCert,
    proxy_trust: TLSOptions,
    other_ca: trustme.CA,
) -> None:
    """The proxy is trusted, the origin is not: the inner handshake fails."""
    with tls_origin(origin_leaf) as origin:
        client.set_https_proxy("https://127.0.0.1", proxypy_tls.port, tls_options=proxy_trust)
        connect_through_tunnel(client, origin.port, TLSOptions.client(ca_certificate(other_ca)))
        assert client.get_status() == Status.STATUS_TLS_HANDSHAKE_ERROR
        wait_for(lambda: origin.connections == 1)


def test_plain_http_through_a_tls_proxy(
    proxypy_tls: ProxyProcess, client: HTTPClient, proxy_trust: TLSOptions
) -> None:
    with origin_server() as origin:
        client.set_http_proxy("https://127.0.0.1", proxypy_tls.port, tls_options=proxy_trust)
        connect(client, "127.0.0.1", origin.port)
        assert isinstance(client.get_connection(), StreamPeerTLS)
        assert fetch(client, "/via-tls-proxy?x=1") == BODY
        wait_for(lambda: len(origin.requests) == 1)
    assert request_line(origin.requests[0]) == "GET /via-tls-proxy?x=1 HTTP/1.1"
    assert headers_of(origin.requests[0])["host"] == [f"127.0.0.1:{origin.port}"]


# -- a proxy that is down ----------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("proxy_tls", [False, True])
def test_proxy_down(client: HTTPClient, origin_trust: TLSOptions, scheme: str, proxy_tls: bool):
    dead = free_port()
    proxy_host = "https://127.0.0.1" if proxy_tls else "127.0.0.1"
    client.set_http_proxy(proxy_host, dead)
    client.set_https_proxy(proxy_host, dead)
    options = origin_trust if scheme == "https" else None
    started = time.monotonic()
    assert client.connect_to_host(f"{scheme}://127.0.0.1", free_port(), options) == Error.OK
    poll_while_waiting(client, timeout=5.0)
    assert time.monotonic() - started < 3.0
    assert client.get_status() == CANT_CONNECT
    assert client.poll() == Error.ERR_CANT_CONNECT
    error = client.get_last_error()
    assert isinstance(error, ConnectError)
    assert str(dead) in str(error)  # names the proxy's address, which is what failed
