"""HTTPClient against a scripted raw-socket proxy: byte-exact requests and odd replies.

The proxy (`RawProxy`) records every head it reads. For CONNECT it answers with bytes
given by the test and then either relays the tunnel to a stdlib TLS origin on 127.0.0.1
(recording what the client sent into it) or holds the connection and records what
arrives. For absolute-form requests it answers with a canned response.
"""

from __future__ import annotations

import base64
import socket
import struct
import time
from collections.abc import Callable

import pytest
import trustme

from pollhttp import (
    ConnectError,
    Error,
    HTTPClient,
    Resolution,
    ResolveError,
    Status,
    StreamPeerTLS,
    TLSHandshakeError,
    TLSOptions,
    __version__,
)

from ..support.polling import connect, fetch, poll_until, poll_while_waiting
from ..support.proxies import ProxyConnection, RawProxy, free_port
from ..support.servers import Read, Send, wait_for
from ..support.tls import ThreadResult, TLSServer, server_context
from .conftest import PASSWORD, USER
from .helpers import BASIC, header_lines, headers_of, request_line

SECURE = b"secure body through the scripted tunnel\n"
PROXIED = b"answered by the scripted proxy\n"
CONNECTED = Status.STATUS_CONNECTED
CONNECTING = Status.STATUS_CONNECTING
CANT_CONNECT = Status.STATUS_CANT_CONNECT
ESTABLISHED = b"HTTP/1.1 200 Connection established\r\n\r\n"
USER_AGENT = f"pollhttp/{__version__}"
#: A TLS record: a fatal handshake_failure alert (RFC 8446 §6).
FATAL_ALERT = bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28])


def http_response(status: str, headers: list[str], body: bytes = b"", length: bool = True):
    lines = [f"HTTP/1.1 {status}", *headers]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def tls_origin(leaf: trustme.LeafCert, count: int = 1) -> TLSServer:
    return TLSServer(
        [[Read(), Send(http_response("200 OK", [], SECURE))] * count],
        server_context(leaf=leaf),
    )


def tunnel(reply: bytes, origin_port: int | None = None) -> Callable[[ProxyConnection], None]:
    """Read the CONNECT head, send ``reply`` in one write, then relay to the origin
    (or, without one, record what the client sends until it closes)."""

    def handle(conn: ProxyConnection) -> None:
        if conn.read_head() is None:
            return
        conn.send(reply)
        if origin_port is None:
            conn.collect_until_close()
        else:
            conn.relay(origin_port)

    return handle


def forwarding(answer: bytes = http_response("200 OK", [], PROXIED)):
    """Answer every absolute-form request on the connection with ``answer``."""

    def handle(conn: ProxyConnection) -> None:
        while conn.read_request() is not None:
            conn.send(answer)

    return handle


def connect_https(
    client: HTTPClient, host: str, port: int, options: TLSOptions
) -> list[tuple[Error, Status]]:
    assert client.connect_to_host(f"https://{host}", port, options) == Error.OK
    return poll_while_waiting(client)


def refuses(client: HTTPClient) -> ConnectError:
    """CANT_CONNECT, sticky, with ERR_CANT_CONNECT; never a TLS error."""
    assert client.get_status() == CANT_CONNECT, client.get_last_error()
    for _ in range(3):
        assert client.poll() == Error.ERR_CANT_CONNECT
        assert client.get_status() == CANT_CONNECT
    error = client.get_last_error()
    assert isinstance(error, ConnectError)
    assert not isinstance(error, TLSHandshakeError)
    return error


# -- the CONNECT request, byte for byte ------------------------------------------------------


def test_connect_request_bytes(
    client: HTTPClient, origin_leaf: trustme.LeafCert, origin_trust: TLSOptions
) -> None:
    with tls_origin(origin_leaf) as origin:
        handler = tunnel(ESTABLISHED, origin.port)
        with RawProxy(handler) as proxy:
            client.set_https_proxy("127.0.0.1", proxy.port)
            connect_https(client, "localhost", origin.port, origin_trust)
            assert client.get_status() == CONNECTED, client.get_last_error()
            headers = ["X-Secret: origin-only", "Authorization: Bearer origin-token"]
            assert fetch(client, "/private/path?key=value", headers=headers) == SECURE
            client.close()
            proxy.wait_for_connections(1)
    authority = f"localhost:{origin.port}"
    assert proxy.heads == [
        f"CONNECT {authority} HTTP/1.1\r\n"
        f"Host: {authority}\r\n"
        f"User-Agent: {USER_AGENT}\r\n\r\n".encode()
    ]
    # Nothing but TLS went into the tunnel: no path, no origin header in the clear.
    sent = bytes(proxy.upstream[0])
    assert sent[:1] == b"\x16"  # a TLS handshake record (the ClientHello)
    for secret in (b"/private/path", b"origin-only", b"origin-token", b"GET "):
        assert secret not in sent
    assert origin.requests[0].startswith(b"GET /private/path?key=value HTTP/1.1\r\n")
    assert b"X-Secret: origin-only" in origin.requests[0]
    assert proxy.errors == []


@pytest.mark.parametrize("form", ["keywords", "userinfo", "percent-encoded"])
def test_connect_request_bytes_with_credentials(client: HTTPClient, form: str) -> None:
    password = PASSWORD if form != "percent-encoded" else "p@ss:w rd"
    with RawProxy(tunnel(http_response("403 Forbidden", []))) as proxy:
        if form == "keywords":
            client.set_https_proxy("127.0.0.1", proxy.port, username=USER, password=password)
        elif form == "userinfo":
            client.set_https_proxy(f"{USER}:{password}@127.0.0.1", proxy.port)
        else:
            client.set_https_proxy(f"http://{USER}:p%40ss%3Aw%20rd@127.0.0.1", proxy.port)
        connect_https(client, "origin.test", 8443, TLSOptions.client())
        refuses(client)
        proxy.wait_for_connections(1)
    token = base64.b64encode(f"{USER}:{password}".encode()).decode()
    assert proxy.heads == [
        b"CONNECT origin.test:8443 HTTP/1.1\r\n"
        b"Host: origin.test:8443\r\n"
        + f"User-Agent: {USER_AGENT}\r\nProxy-Authorization: Basic {token}\r\n\r\n".encode()
    ]
    assert proxy.after_head == [b""]  # after the refusal the client sent nothing more


def test_connect_authority_for_ipv6_origin(client: HTTPClient) -> None:
    with RawProxy(tunnel(http_response("502 Bad Gateway", []))) as proxy:
        client.set_https_proxy("127.0.0.1", proxy.port)
        connect_https(client, "[2001:db8::7]", 8443, TLSOptions.client())
        refuses(client)
        assert client.get_response_code() == 502
        proxy.wait_for_connections(1)
    assert request_line(proxy.heads[0]) == "CONNECT [2001:db8::7]:8443 HTTP/1.1"
    assert headers_of(proxy.heads[0])["host"] == ["[2001:db8::7]:8443"]


def test_connect_default_port_is_443(client: HTTPClient) -> None:
    with RawProxy(tunnel(http_response("403 Forbidden", []))) as proxy:
        client.set_https_proxy("127.0.0.1", proxy.port)
        connect_https(client, "origin.test", -1, TLSOptions.client())
        refuses(client)
        proxy.wait_for_connections(1)
    assert request_line(proxy.heads[0]) == "CONNECT origin.test:443 HTTP/1.1"
    assert headers_of(proxy.heads[0])["host"] == ["origin.test:443"]


# -- 2xx replies open the tunnel ----------------------------------------------------------------

TUNNEL_REPLIES = {
    "content-length-0": b"HTTP/1.1 200 Connection established\r\nContent-Length: 0\r\n\r\n",
    "http-1.0": b"HTTP/1.0 200 Connection established\r\n\r\n",
    "bare": ESTABLISHED,
    "content-length-ignored": b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n",
    "chunked-ignored": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    "other-2xx": b"HTTP/1.1 204 No Content\r\n\r\n",
    "headers": b"HTTP/1.1 200 OK\r\nProxy-Agent: scripted\r\nVia: 1.1 scripted\r\n\r\n",
    "after-100": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 Connection established\r\n\r\n",
}


@pytest.mark.parametrize("reply", TUNNEL_REPLIES.values(), ids=TUNNEL_REPLIES.keys())
def test_tunnel_opens_on_2xx(
    client: HTTPClient, origin_leaf: trustme.LeafCert, origin_trust: TLSOptions, reply: bytes
) -> None:
    with tls_origin(origin_leaf) as origin, RawProxy(tunnel(reply, origin.port)) as proxy:
        client.set_https_proxy("127.0.0.1", proxy.port)
        trace = connect_https(client, "localhost", origin.port, origin_trust)
        assert client.get_status() == CONNECTED, client.get_last_error()
        assert {status for _, status in trace[:-1]} == {CONNECTING}
        assert client.get_response_code() == 0
        assert fetch(client, "/") == SECURE
        assert client.get_response_code() == 200
        wait_for(lambda: origin.server_names == ["localhost"])
    assert proxy.errors == []


def test_reply_split_across_writes(
    client: HTTPClient, origin_leaf: trustme.LeafCert, origin_trust: TLSOptions
) -> None:
    """The reply head arrives a few bytes at a time (one write each)."""

    def handle(conn: ProxyConnection) -> None:
        if conn.read_head() is None:
            return
        for i in range(0, len(ESTABLISHED), 5):
            conn.send(ESTABLISHED[i : i + 5])
            time.sleep(0.002)  # the proxy's pacing, not a wait for the client's state
        conn.relay(origin.port)

    with tls_origin(origin_leaf) as origin, RawProxy(handle) as proxy:
        client.set_https_proxy("127.0.0.1", proxy.port)
        connect_https(client, "localhost", origin.port, origin_trust)
        assert client.get_status() == CONNECTED, client.get_last_error()
        assert fetch(client, "/") == SECURE
    assert proxy.errors == []


def test_bytes_after_the_reply_head_belong_to_the_tunnel(
    client: HTTPClient, origin_trust: TLSOptions
) -> None:
    """The 200 and the first TLS bytes come in one write: they must reach the TLS layer.

    TLS is client-first, so a proxy cannot have the origin's ServerHello before the
    client's ClientHello. What a server may send unprompted is an alert: if the bytes after
    the head were dropped, the client would wait for an answer until connect_timeout;
    kept, they end the handshake at once with the alert as the reason.
    """
    client.connect_timeout = 5.0
    with RawProxy(tunnel(ESTABLISHED + FATAL_ALERT)) as proxy:
        client.set_https_proxy("127.0.0.1", proxy.port)
        started = time.monotonic()
        trace = connect_https(client, "localhost", 443, origin_trust)
        elapsed = time.monotonic() - started
        assert client.get_status() == Status.STATUS_TLS_HANDSHAKE_ERROR
        assert CONNECTED not in [status for _, status in trace]
        error = client.get_last_error()
        assert isinstance(error, TLSHandshakeError)
        assert "timed out" not in error.reason
        assert "handshake failure" in error.reason.lower().replace("_", " ")
        assert elapsed < 2.0
        client.close()
        proxy.wait_for_connections(1)
    # The client did start TLS in the tunnel (its ClientHello came after the head).
    assert proxy.after_head[0][:1] == b"\x16"


def test_bytes_after_the_reply_head_with_content_length_0(
    client: HTTPClient, origin_trust: TLSOptions
) -> None:
    """Content-Length: 0 in a 2xx to CONNECT does not swallow tunnel bytes."""
    reply = b"HTTP/1.1 200 Connection established\r\nContent-Length: 0\r\n\r\n" + FATAL_ALERT
    with RawProxy(tunnel(reply)) as proxy:
        client.set_https_proxy("127.0.0.1", proxy.port)
        connect_https(client, "localhost", 443, origin_trust)
        assert client.get_status() == Status.STATUS_TLS_HANDSHAKE_ERROR
        error = client.get_last_error()
        assert isinstance(error, TLSHandshakeError)
        assert "timed out" not in error.reason


# -- non-2xx replies: the tunnel never opens ------------------------------------------------------


def test_407_with_a_body_is_never_read_as_tls(client: HTTPClient, origin_trust: TLSOptions):
    # A body that looks like TLS (a handshake record header and more).
    body = bytes([0x16, 0x03, 0x03, 0x00, 0x31, 0x02]) + b"\x00" * 60
    reply = http_response(
        "407 Proxy Authentication Required",
        ['Proxy-Authenticate: Basic realm="scripted"', "Content-Type: application/octet-stream"],
        body,
    )
    with RawProxy(tunnel(reply)) as proxy:
        client.set_https_proxy("127.0.0.1", proxy.port)
        trace = connect_https(client, "localhost", 443, origin_trust)
        assert CONNECTED not in [status for _, status in trace]
        error = refuses(client)
        assert "407" in str(error)
        assert client.get_response_code() == 407
        assert client.get_response_headers() == [
            'Proxy-Authenticate: Basic realm="scripted"',
            "Content-Type: application/octet-stream",
            f"Content-Length: {len(body)}",
        ]
        assert client.get_response_headers_as_dictionary()["Proxy-Authenticate"] == (
            'Basic realm="scripted"'
        )
        proxy.wait_for_connections(1)
    assert proxy.after_head == [b""]  # no ClientHello: TLS never started


def test_407_with_a_close_delimited_body(client: HTTPClient, origin_trust: TLSOptions):
    """tinyproxy's style: HTTP/1.0, Connection: close, a body until the close."""

    def handle(conn: ProxyConnection) -> None:
        if conn.read_head() is None:
            return
        conn.send(
            b"HTTP/1.0 407 Proxy Authentication Required\r\n"
            b'Proxy-Authenticate: Basic realm="x"\r\nConnection: close\r\n\r\n'
            b"<html>authenticate first</html>\n"
        )

    with RawProxy(handle) as proxy:
        client.set_https_proxy("127.0.0.1", proxy.port)
        connect_https(client, "localhost", 443, origin_trust)
        refuses(client)
        assert client.get_response_code() == 407
        proxy.wait_for_connections(1)


@pytest.mark.parametrize("code", [403, 502, 503])
def test_other_refusals(client: HTTPClient, origin_trust: TLSOptions, code: int) -> None:
    reply = http_response(f"{code} Refused", ["X-Reason: scripted"], b"no tunnel for you")
    with RawProxy(tunnel(reply)) as proxy:
        client.set_https_proxy("127.0.0.1", proxy.port)
        connect_https(client, "localhost", 443, origin_trust)
        error = refuses(client)
        assert client.get_response_code() == code
        assert f"{code} Refused" in str(error)
        assert client.get_response_headers_as_dictionary()["X-Reason"] == "scripted"
        proxy.wait_for_connections(1)


# -- a proxy that fails -------------------------------------------------------------------------

CUT_REPLIES = {
    "no-reply": b"",
    "mid-status-line": b"HTTP/1.1 200 Conn",
    "mid-headers": b"HTTP/1.1 200 Connection established\r\nVia: 1.1 scr",
    "before-blank-line": b"HTTP/1.1 200 Connection established\r\n",
}


@pytest.mark.parametrize("partial", CUT_REPLIES.values(), ids=CUT_REPLIES.keys())
@pytest.mark.parametrize("ending", ["close", "reset"])
def test_proxy_closes_mid_reply(
    client: HTTPClient, origin_trust: TLSOptions, partial: bytes, ending: str
) -> None:
    def handle(conn: ProxyConnection) -> None:
        if conn.read_head() is None:
            return
        if partial:
            conn.send(partial)
        if ending == "reset":
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    with RawProxy(handle) as proxy:
        client.set_https_proxy("127.0.0.1", proxy.port)
        started = time.monotonic()
        trace = connect_https(client, "localhost", 443, origin_trust)
        assert time.monotonic() - started < 2.0
        assert CONNECTED not in [status for _, status in trace]
        error = refuses(client)
        message = str(error)
        assert "proxy" in message
        assert "CONNECT" in message
        assert client.get_response_code() == 0  # no complete reply
        proxy.wait_for_connections(1)


def test_garbage_reply(client: HTTPClient, origin_trust: TLSOptions) -> None:
    with RawProxy(tunnel(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")) as proxy:
        client.set_https_proxy("127.0.0.1", proxy.port)
        connect_https(client, "localhost", 443, origin_trust)
        error = refuses(client)
        assert "proxy" in str(error)
        assert client.get_response_code() == 0
        proxy.wait_for_connections(1)


def silent_after_head(conn: ProxyConnection) -> None:
    conn.read_head()
    conn.collect_until_close()


def test_proxy_never_answers_connect(client: HTTPClient, origin_trust: TLSOptions) -> None:
    client.connect_timeout = 0.3
    with RawProxy(silent_after_head) as proxy:
        client.set_https_proxy("127.0.0.1", proxy.port)
        started = time.monotonic()
        trace = connect_https(client, "localhost", 443, origin_trust)
        assert 0.3 <= time.monotonic() - started < 2.0
        assert {status for _, status in trace[:-1]} == {CONNECTING}
        error = refuses(client)
        assert "did not answer CONNECT" in str(error)


def test_proxy_never_answers_connect_in_blocking_mode(
    client: HTTPClient, origin_trust: TLSOptions
) -> None:
    """Blocking mode sleeps on the socket, but never past connect_timeout."""
    client.connect_timeout = 0.3
    client.set_blocking_mode(True)
    with RawProxy(silent_after_head) as proxy:
        client.set_https_proxy("127.0.0.1", proxy.port)
        assert client.connect_to_host("https://localhost", 443, origin_trust) == Error.OK
        worker = ThreadResult(lambda: poll_while_waiting(client, timeout=3.0))
        try:
            worker.result(timeout=3.0)
        except AssertionError as exc:
            raise AssertionError(
                "poll() in blocking mode was still waiting for the CONNECT reply 3 s later "
                "(connect_timeout 0.3 s)"
            ) from exc
        finally:
            # A poll() stuck in the kernel returns when the proxy closes its end.
            proxy.stopping.set()
            worker._thread.join(5)  # make sure the thread has left the client
    assert client.get_status() == CANT_CONNECT
    assert "did not answer CONNECT" in str(client.get_last_error())


def test_blocking_mode_through_a_tunnel(
    client: HTTPClient, origin_leaf: trustme.LeafCert, origin_trust: TLSOptions
) -> None:
    """In blocking mode each poll() sleeps until it can move on; the tunnel opens all the same."""
    client.set_blocking_mode(True)
    with tls_origin(origin_leaf) as origin, RawProxy(tunnel(ESTABLISHED, origin.port)) as proxy:
        client.set_https_proxy("127.0.0.1", proxy.port)
        worker = ThreadResult(lambda: connect_https(client, "localhost", origin.port, origin_trust))
        trace = worker.result(timeout=5.0)
        assert client.get_status() == CONNECTED, client.get_last_error()
        assert len(trace) <= 6  # it slept instead of spinning
        assert fetch(client, "/") == SECURE


def test_status_stays_connecting_until_tls_is_up(
    client: HTTPClient, origin_trust: TLSOptions
) -> None:
    """The tunnel is open but the origin never answers the ClientHello: still CONNECTING."""
    client.connect_timeout = 0.4
    with RawProxy(tunnel(ESTABLISHED)) as proxy:
        client.set_https_proxy("127.0.0.1", proxy.port)
        assert client.connect_to_host("https://localhost", 443, origin_trust) == Error.OK
        # Poll until the client has written its ClientHello into the tunnel.
        trace = poll_until(client, lambda c: c.get_status() != CONNECTING or bool(proxy.heads))
        deadline = time.monotonic() + 2.0
        while client.get_status() == CONNECTING and time.monotonic() < deadline:
            trace.append((client.poll(), client.get_status()))
            if client.get_status() == CONNECTING:
                assert client.get_connection() is not None
        assert {status for _, status in trace[:-1]} == {CONNECTING}
        assert client.get_status() == Status.STATUS_TLS_HANDSHAKE_ERROR
        error = client.get_last_error()
        assert isinstance(error, TLSHandshakeError)
        assert error.reason == "timed out"
        client.close()
        proxy.wait_for_connections(1)
    assert proxy.after_head[0][:1] == b"\x16"


# -- absolute form on the scripted proxy -------------------------------------------------------


def test_absolute_form_request_bytes(client: HTTPClient) -> None:
    with RawProxy(forwarding()) as proxy:
        client.set_http_proxy("127.0.0.1", proxy.port)
        connect(client, "127.0.0.1", 8080)
        assert fetch(client, "/path?q", headers=["X-Test: 1"]) == PROXIED
        client.close()
        proxy.wait_for_connections(1)
    head = proxy.heads[0]
    assert request_line(head) == "GET http://127.0.0.1:8080/path?q HTTP/1.1"
    assert header_lines(head) == [
        "Host: 127.0.0.1:8080",
        "X-Test: 1",
        f"User-Agent: {USER_AGENT}",
        "Accept: */*",
    ]


def test_absolute_form_default_port_and_name_never_resolved() -> None:
    """The origin's name goes to the proxy as it is; only the proxy's name is resolved."""
    asked: list[tuple[str, int]] = []
    with RawProxy(forwarding()) as proxy:

        def resolver(host: str, port: int) -> Resolution:
            asked.append((host, port))
            if host == "proxy.test":
                return Resolution.finished([("127.0.0.1", proxy.port)])
            return Resolution.finished([], ResolveError(f"no {host}"))

        client = HTTPClient(resolver=resolver)
        try:
            client.set_http_proxy("proxy.test", proxy.port)
            connect(client, "http://origin.test", -1)
            assert fetch(client, "/index.html") == PROXIED
        finally:
            client.close()
        proxy.wait_for_connections(1)
    assert asked == [("proxy.test", proxy.port)]
    assert request_line(proxy.heads[0]) == "GET http://origin.test/index.html HTTP/1.1"
    assert headers_of(proxy.heads[0])["host"] == ["origin.test"]


@pytest.mark.parametrize(
    "target",
    ["http://127.0.0.1:8080/already/absolute?x=1", "http://elsewhere.test/other"],
)
def test_absolute_target_is_not_doubled(client: HTTPClient, target: str) -> None:
    with RawProxy(forwarding()) as proxy:
        client.set_http_proxy("127.0.0.1", proxy.port)
        connect(client, "127.0.0.1", 8080)
        assert fetch(client, target) == PROXIED
        client.close()
        proxy.wait_for_connections(1)
    assert request_line(proxy.heads[0]) == f"GET {target} HTTP/1.1"


def test_absolute_form_ipv6_origin(client: HTTPClient) -> None:
    with RawProxy(forwarding()) as proxy:
        client.set_http_proxy("127.0.0.1", proxy.port)
        connect(client, "[2001:db8::1]", 8080)
        assert fetch(client, "/v6") == PROXIED
        client.close()
        proxy.wait_for_connections(1)
    assert request_line(proxy.heads[0]) == "GET http://[2001:db8::1]:8080/v6 HTTP/1.1"
    assert headers_of(proxy.heads[0])["host"] == ["[2001:db8::1]:8080"]


def test_options_asterisk_through_proxy(client: HTTPClient) -> None:
    """RFC 9112 §3.2.4: ``OPTIONS *`` goes to a proxy as the bare absolute authority."""
    with RawProxy(forwarding()) as proxy:
        client.set_http_proxy("127.0.0.1", proxy.port)
        connect(client, "127.0.0.1", 8080)
        assert fetch(client, "*", HTTPClient.METHOD_OPTIONS) == PROXIED
        client.close()
        proxy.wait_for_connections(1)
    assert request_line(proxy.heads[0]) == "OPTIONS http://127.0.0.1:8080 HTTP/1.1"


@pytest.mark.parametrize("form", ["keywords", "userinfo"])
def test_absolute_form_proxy_authorization(client: HTTPClient, form: str) -> None:
    with RawProxy(forwarding()) as proxy:
        if form == "keywords":
            client.set_http_proxy("127.0.0.1", proxy.port, username=USER, password=PASSWORD)
        else:
            client.set_http_proxy(f"{USER}:{PASSWORD}@127.0.0.1", proxy.port)
        connect(client, "127.0.0.1", 8080)
        assert fetch(client, "/a") == PROXIED
        assert fetch(client, "/b", HTTPClient.METHOD_POST, body=b"data") == PROXIED
        client.close()
        proxy.wait_for_connections(1)
    assert proxy.connections == 1  # keep-alive to the proxy
    assert [request_line(h) for h in proxy.heads] == [
        "GET http://127.0.0.1:8080/a HTTP/1.1",
        "POST http://127.0.0.1:8080/b HTTP/1.1",
    ]
    for head in proxy.heads:
        headers = headers_of(head)
        assert headers["proxy-authorization"] == [BASIC]
        assert headers["host"] == ["127.0.0.1:8080"]


def test_no_proxy_authorization_without_credentials(client: HTTPClient) -> None:
    with RawProxy(forwarding()) as proxy:
        client.set_http_proxy("127.0.0.1", proxy.port)
        connect(client, "127.0.0.1", 8080)
        assert fetch(client, "/") == PROXIED
        client.close()
        proxy.wait_for_connections(1)
    assert "proxy-authorization" not in headers_of(proxy.heads[0])


# -- settings -------------------------------------------------------------------------------


def test_proxy_setting_applies_from_the_next_connect(client: HTTPClient) -> None:
    with RawProxy(forwarding()) as first, RawProxy(forwarding()) as second:
        client.set_http_proxy("127.0.0.1", first.port)
        connect(client, "127.0.0.1", 8080)
        client.set_http_proxy("127.0.0.1", second.port)  # not for this connection
        assert fetch(client, "/1") == PROXIED
        connect(client, "127.0.0.1", 8080)
        assert fetch(client, "/2") == PROXIED
        client.close()
        first.wait_for_connections(1)
        second.wait_for_connections(1)
    assert [request_line(h) for h in first.heads] == ["GET http://127.0.0.1:8080/1 HTTP/1.1"]
    assert [request_line(h) for h in second.heads] == ["GET http://127.0.0.1:8080/2 HTTP/1.1"]


@pytest.mark.parametrize("unset", [("", 3128), ("127.0.0.1", -1)])
def test_unset_proxy(client: HTTPClient, unset: tuple[str, int]) -> None:
    """An empty host or port -1 unsets: the origin is reached directly."""
    with RawProxy(forwarding()) as proxy, RawProxy(forwarding()) as origin:
        client.set_http_proxy("127.0.0.1", proxy.port)
        client.set_http_proxy(*unset)
        connect(client, "127.0.0.1", origin.port)
        assert fetch(client, "/direct") == PROXIED
        client.close()
        origin.wait_for_connections(1)
    assert proxy.connections == 0
    assert request_line(origin.heads[0]) == "GET /direct HTTP/1.1"


def test_http_proxy_is_not_used_for_tls_origins_and_the_reverse(
    client: HTTPClient, origin_leaf: trustme.LeafCert, origin_trust: TLSOptions
) -> None:
    """Godot's rule: the https proxy serves TLS origins, the http proxy plain ones."""
    with RawProxy(forwarding()) as http_proxy, RawProxy(forwarding()) as origin:
        client.set_http_proxy("127.0.0.1", http_proxy.port)
        client.set_https_proxy("127.0.0.1", free_port())  # down: must not matter here
        connect(client, "127.0.0.1", origin.port)
        client.close()
    with tls_origin(origin_leaf) as tls_server, RawProxy(forwarding()) as http_proxy:
        client.set_http_proxy("127.0.0.1", http_proxy.port)
        client.set_https_proxy("", -1)
        connect_https(client, "127.0.0.1", tls_server.port, origin_trust)
        assert client.get_status() == CONNECTED, client.get_last_error()
        assert isinstance(client.get_connection(), StreamPeerTLS)
        client.close()
    assert http_proxy.connections == 0


def test_raw_client_ignores_environment_proxies(
    client: HTTPClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = free_port()
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{dead}")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with RawProxy(forwarding()) as origin:
        connect(client, "127.0.0.1", origin.port)
        assert fetch(client, "/") == PROXIED
        client.close()
        origin.wait_for_connections(1)
    assert request_line(origin.heads[0]) == "GET / HTTP/1.1"


def test_invalid_proxy_settings_are_rejected(client: HTTPClient) -> None:
    client.set_http_proxy("127.0.0.1", 70000)
    error = client.get_last_error()
    assert error is not None
    assert error.code == Error.ERR_INVALID_PARAMETER
    client.set_https_proxy("127.0.0.1", 3128, username="user\r\nX-Injected: 1")
    error = client.get_last_error()
    assert error is not None
    assert error.code == Error.ERR_INVALID_PARAMETER
