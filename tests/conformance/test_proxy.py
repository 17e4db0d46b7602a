"""Conformance: proxies (ecosystem.md §3.3 cases 26, 42, 43; Godot §7.1.18).

A scripted proxy answers CONNECT with exact bytes, then relays the tunnel to a stdlib TLS
origin on 127.0.0.1 (or records what the client sends). For case 43 the proxy itself speaks
TLS (stdlib ``ssl``), so the client runs TLS to the proxy and TLS to the origin inside it,
each verified against its own name and CA.
"""

from __future__ import annotations

import base64
import contextlib
import select
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import trustme

from pollhttp import (
    ConnectError,
    Error,
    HTTPClient,
    Result,
    Status,
    StreamPeerTCP,
    TLSHandshakeError,
    TLSOptions,
    __version__,
)

from ..support.proxies import ProxyConnection, RawProxy
from ..support.servers import Read as PlainRead
from ..support.servers import ScriptedServer, ThreadedListener, response
from ..support.servers import Send as PlainSend
from ..support.tls import Read, Send, TLSServer, ca_certificate, server_context
from .harness import complete, make_request

SECURE = b"secure body"
ESTABLISHED = b"HTTP/1.1 200 Connection established\r\n\r\n"
#: A TLS record: a fatal handshake_failure alert (RFC 8446 §6).
FATAL_ALERT = bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28])


@dataclass
class Certs:
    origin_ca: trustme.CA
    proxy_ca: trustme.CA
    origin: trustme.LeafCert  # localhost, from origin_ca
    proxy: trustme.LeafCert  # 127.0.0.1, from proxy_ca
    origin_wrong_name: trustme.LeafCert  # other.test, from origin_ca
    proxy_wrong_name: trustme.LeafCert  # other.test, from proxy_ca
    proxy_from_origin_ca: trustme.LeafCert  # 127.0.0.1, from origin_ca


@pytest.fixture(scope="module")
def certs() -> Certs:
    origin_ca, proxy_ca = trustme.CA(), trustme.CA()
    return Certs(
        origin_ca,
        proxy_ca,
        origin_ca.issue_cert("localhost"),
        proxy_ca.issue_cert("127.0.0.1"),
        origin_ca.issue_cert("other.test"),
        proxy_ca.issue_cert("other.test"),
        origin_ca.issue_cert("127.0.0.1"),
    )


def tunnel(reply: bytes, origin_port: int | None = None) -> Callable[[ProxyConnection], None]:
    """Read the CONNECT head, send ``reply`` in one write, then relay (or record)."""

    def handle(conn: ProxyConnection) -> None:
        if conn.read_head() is None:
            return
        conn.send(reply)
        if origin_port is None:
            conn.collect_until_close()
        else:
            conn.relay(origin_port)

    return handle


def tls_origin(leaf: trustme.LeafCert) -> TLSServer:
    return TLSServer([[Read(), Send(response(body=SECURE))]], server_context(leaf=leaf))


# -- a proxy that speaks TLS to its clients (case 43) ---------------------------------------------


class TLSProxy(ThreadedListener):
    """A CONNECT proxy on 127.0.0.1 that speaks TLS (stdlib ``ssl``) to its clients.

    Each connection: TLS handshake, read the CONNECT head (recorded in ``heads``), answer
    ``reply``, then relay the tunnel to ``127.0.0.1:origin_port``. Handshake failures are
    recorded in ``handshake_errors``.
    """

    def __init__(self, context: ssl.SSLContext, origin_port: int, reply: bytes = ESTABLISHED):
        super().__init__()
        self.context = context
        self.origin_port = origin_port
        self.reply = reply
        self.heads: list[bytes] = []
        self.handshake_errors: list[str] = []

    def handle(self, sock: socket.socket, index: int) -> None:
        sock.settimeout(5.0)
        try:
            try:
                tls = self.context.wrap_socket(sock, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                self.handshake_errors.append(str(exc))
                return
            with tls:
                head = b""
                while b"\r\n\r\n" not in head:
                    data = tls.recv(65536)
                    if not data:
                        return
                    head += data
                end = head.index(b"\r\n\r\n") + 4
                self.heads.append(head[:end])
                tls.sendall(self.reply)
                self._relay(tls, head[end:])
        except OSError:
            pass
        finally:
            sock.close()

    def _relay(self, tls: ssl.SSLSocket, early: bytes) -> None:
        with socket.create_connection(("127.0.0.1", self.origin_port), timeout=5.0) as origin:
            if early:
                origin.sendall(early)
            tls.setblocking(False)
            origin.setblocking(False)
            open_ends: set[socket.socket] = {tls, origin}
            while open_ends and not self._stop.is_set():
                ready: set[socket.socket] = {tls} if tls.pending() else set()
                if not ready:
                    readable, _, _ = select.select(list(open_ends), [], [], 0.02)
                    ready = set(readable)
                for source in ready & open_ends:
                    target = origin if source is tls else tls
                    try:
                        data = source.recv(65536)
                    except (ssl.SSLWantReadError, BlockingIOError):
                        continue
                    except OSError:
                        data = b""
                    if not data:
                        open_ends.discard(source)
                        if target is origin:
                            with contextlib.suppress(OSError):
                                origin.shutdown(socket.SHUT_WR)
                        else:
                            open_ends.clear()
                        continue
                    target.settimeout(5.0)
                    try:
                        target.sendall(data)
                    finally:
                        target.setblocking(False)


# -- 42: a CONNECT that is refused ---------------------------------------------------------------

REFUSALS = [
    pytest.param(
        b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=x\r\n"
        b"Content-Length: 7\r\n\r\n" + FATAL_ALERT,
        407,
        "the proxy refused the tunnel: 407",
        id="E42-407-with-a-tls-looking-body",
    ),
    pytest.param(
        b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n7\r\n"
        + FATAL_ALERT
        + b"\r\n0\r\n\r\n",
        403,
        "the proxy refused the tunnel: 403",
        id="E42b-403-chunked",
    ),
    pytest.param(
        b"HTTP/1.1 502 Bad Gateway\r\n\r\n" + FATAL_ALERT,
        502,
        "the proxy refused the tunnel: 502",
        id="E42c-502-close-delimited",
    ),
    pytest.param(
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
        503,
        "the proxy refused the tunnel: 503",
        id="E42d-503",
    ),
    pytest.param(
        FATAL_ALERT * 3 + b"\r\n\r\n", 0, "proxy failed during CONNECT", id="E42e-not-http"
    ),
    pytest.param(
        b"HTTP/1.1 200 OK\r\nContent-Le", 0, "proxy failed during CONNECT", id="E42h-cut-head"
    ),
    pytest.param(b"", 0, "proxy failed during CONNECT", id="E42f-closed-without-answer"),
    pytest.param(
        b"HTTP/1.1 302 Found\r\nLocation: https://elsewhere.test/\r\nContent-Length: 0\r\n\r\n",
        302,
        "the proxy refused the tunnel: 302",
        id="E42g-redirect-is-not-followed",
    ),
]


@pytest.mark.parametrize(("reply", "code", "message"), REFUSALS)
def test_E42_refused_connect_client(certs: Certs, reply: bytes, code: int, message: str) -> None:
    def handle(conn: ProxyConnection) -> None:
        if conn.read_head() is not None and reply:
            conn.send(reply)
            if reply.endswith(b"\r\n"):
                conn.collect_until_close()

    with RawProxy(handle) as proxy:
        client = HTTPClient()
        client.connect_timeout = 3.0
        try:
            client.set_https_proxy("127.0.0.1", proxy.port)
            options = TLSOptions.client(ca_certificate(certs.origin_ca))
            assert client.connect_to_host("https://localhost", 8443, options) == Error.OK
            polls = _poll_connecting(client)
            assert client.get_status() == Status.STATUS_CANT_CONNECT, client.get_last_error()
            assert polls[-1] == Error.ERR_CANT_CONNECT
            assert client.poll() == Error.ERR_CANT_CONNECT
            error = client.get_last_error()
            assert isinstance(error, ConnectError)
            assert not isinstance(error, TLSHandshakeError)
            assert message in str(error), error
            assert client.get_response_code() == code
            if code == 407:
                assert "Proxy-Authenticate: Basic realm=x" in client.get_response_headers()
        finally:
            client.close()
    # Nothing but the CONNECT head was sent: no ClientHello after a refusal.
    assert proxy.after_head in ([], [b""])


@pytest.mark.parametrize(("reply", "code", "message"), REFUSALS)
def test_E42_refused_connect_request(certs: Certs, reply: bytes, code: int, message: str) -> None:
    def handle(conn: ProxyConnection) -> None:
        if conn.read_head() is not None and reply:
            conn.send(reply)
            if reply.endswith(b"\r\n"):
                conn.collect_until_close()

    with RawProxy(handle) as proxy:
        run = make_request()
        try:
            run.req.set_https_proxy("127.0.0.1", proxy.port)
            run.req.set_tls_options(TLSOptions.client(ca_certificate(certs.origin_ca)))
            assert run.req.request("https://localhost:8443/") == Error.OK
            result = complete(run)
        finally:
            run.req.close()
    assert result == (Result.RESULT_CANT_CONNECT, 0, [], b"")
    assert message in str(run.req.get_last_error())


# -- 26: a 2xx to CONNECT makes a tunnel, whatever framing it carries -----------------------------

TUNNEL_REPLIES = [
    pytest.param(ESTABLISHED, id="E26b-plain-200"),
    pytest.param(
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", id="E26c-200-with-content-length-0"
    ),
    pytest.param(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", id="E26d-200-with-chunked"
    ),
    pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n", id="E26e-200-with-a-length"),
    pytest.param(b"HTTP/1.0 200 Connection established\r\n\r\n", id="E26f-http-1.0"),
    pytest.param(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", id="E26g-after-an-interim"
    ),
]


@pytest.mark.parametrize("reply", TUNNEL_REPLIES)
def test_E26_tunnel_opens(certs: Certs, reply: bytes) -> None:
    options = TLSOptions.client(ca_certificate(certs.origin_ca))
    with tls_origin(certs.origin) as origin, RawProxy(tunnel(reply, origin.port)) as proxy:
        client = HTTPClient()
        client.connect_timeout = 3.0
        try:
            client.set_https_proxy("127.0.0.1", proxy.port)
            assert client.connect_to_host("https://localhost", origin.port, options) == Error.OK
            _poll_connecting(client)
            assert client.get_status() == Status.STATUS_CONNECTED, client.get_last_error()
            assert _get(client) == SECURE
        finally:
            client.close()
    with tls_origin(certs.origin) as origin, RawProxy(tunnel(reply, origin.port)) as proxy:
        run = make_request()
        try:
            run.req.set_https_proxy("127.0.0.1", proxy.port)
            run.req.set_tls_options(options)
            assert run.req.request(f"https://localhost:{origin.port}/") == Error.OK
            result, code, _headers, body = complete(run)
        finally:
            run.req.close()
    assert (result, code, body) == (Result.RESULT_SUCCESS, 200, SECURE)


def test_E26h_bytes_after_the_reply_head_go_to_tls(certs: Certs) -> None:
    """The bytes after a 2xx head (here a fatal TLS alert in the same write) are the
    tunnel's: TLS reads them, so the handshake fails with TLS's error, not HTTP's."""
    with RawProxy(tunnel(ESTABLISHED + FATAL_ALERT)) as proxy:
        client = HTTPClient()
        client.connect_timeout = 3.0
        try:
            client.set_https_proxy("127.0.0.1", proxy.port)
            options = TLSOptions.client(ca_certificate(certs.origin_ca))
            assert client.connect_to_host("https://localhost", 8443, options) == Error.OK
            _poll_connecting(client)
            assert client.get_status() == Status.STATUS_TLS_HANDSHAKE_ERROR
            assert isinstance(client.get_last_error(), TLSHandshakeError)
            assert client.get_response_code() == 0
        finally:
            client.close()


# -- 43: TLS to the proxy, TLS to the origin inside -----------------------------------------------

TLS_IN_TLS = [
    pytest.param("proxy", "origin", "proxy_ca", "origin_ca", None, id="E43-both-verified"),
    pytest.param(
        "proxy_wrong_name",
        "origin",
        "proxy_ca",
        "origin_ca",
        "IP address mismatch",
        id="E43b-proxy-name-mismatch",
    ),
    pytest.param(
        "proxy",
        "origin_wrong_name",
        "proxy_ca",
        "origin_ca",
        "Hostname mismatch",
        id="E43c-origin-name-mismatch",
    ),
    pytest.param(
        "proxy_from_origin_ca",
        "origin",
        "proxy_ca",
        "origin_ca",
        "unable to get local issuer certificate",
        id="E43d-proxy-checked-with-its-own-ca",
    ),
    pytest.param(
        "proxy",
        "origin",
        "proxy_ca",
        "proxy_ca",
        "unable to get local issuer certificate",
        id="E43e-origin-checked-with-its-own-ca",
    ),
]


@pytest.mark.parametrize(
    ("proxy_leaf", "origin_leaf", "proxy_ca", "origin_ca", "reason"), TLS_IN_TLS
)
def test_E43_tls_in_tls(
    certs: Certs, proxy_leaf: str, origin_leaf: str, proxy_ca: str, origin_ca: str, reason
) -> None:
    proxy_trust = TLSOptions.client(ca_certificate(getattr(certs, proxy_ca)))
    origin_trust = TLSOptions.client(ca_certificate(getattr(certs, origin_ca)))
    for through in ("client", "request"):
        with (
            tls_origin(getattr(certs, origin_leaf)) as origin,
            TLSProxy(server_context(leaf=getattr(certs, proxy_leaf)), origin.port) as proxy,
        ):
            if through == "client":
                client = HTTPClient()
                client.connect_timeout = 3.0
                try:
                    client.set_https_proxy(
                        "https://127.0.0.1",
                        proxy.port,
                        username="u",
                        password="p",
                        tls_options=proxy_trust,
                    )
                    assert (
                        client.connect_to_host("https://localhost", origin.port, origin_trust)
                        == Error.OK
                    )
                    _poll_connecting(client)
                    if reason is None:
                        assert client.get_status() == Status.STATUS_CONNECTED, (
                            client.get_last_error()
                        )
                        assert _get(client) == SECURE
                    else:
                        assert client.get_status() == Status.STATUS_TLS_HANDSHAKE_ERROR
                        error = client.get_last_error()
                        assert isinstance(error, TLSHandshakeError)
                        assert reason in error.reason, error.reason
                finally:
                    client.close()
            else:
                run = make_request()
                try:
                    run.req.set_https_proxy(
                        "https://127.0.0.1",
                        proxy.port,
                        username="u",
                        password="p",
                        tls_options=proxy_trust,
                    )
                    run.req.set_tls_options(origin_trust)
                    assert run.req.request(f"https://localhost:{origin.port}/") == Error.OK
                    result, code, _h, body = complete(run)
                finally:
                    run.req.close()
                if reason is None:
                    assert (result, code, body) == (Result.RESULT_SUCCESS, 200, SECURE)
                else:
                    assert result == Result.RESULT_TLS_HANDSHAKE_ERROR
                    assert reason in run.req.get_last_error().reason  # type: ignore[union-attr]
        if proxy_leaf == "proxy":
            # The proxy's handshake succeeded: the CONNECT went inside TLS, with credentials.
            head = proxy.heads[0].decode("latin-1")
            assert head.startswith(f"CONNECT localhost:{origin.port} HTTP/1.1\r\n")
            token = base64.b64encode(b"u:p").decode()
            assert f"\r\nProxy-Authorization: Basic {token}\r\n" in head
        else:
            # Refused before any HTTP: the CONNECT (and the credentials) never left the client.
            assert proxy.heads == []
        if reason is None:
            assert origin.requests[0].startswith(b"GET / HTTP/1.1\r\nHost: localhost:")
            assert b"Proxy-Authorization" not in origin.requests[0]


# -- Godot §7.1.18: the requests a proxy gets -----------------------------------------------------


def test_G18_connect_request_bytes(certs: Certs) -> None:
    """CONNECT host:port with Host: host:port (Godot sends Host: :-1) and Basic credentials."""
    with RawProxy(tunnel(b"HTTP/1.1 407 No\r\nContent-Length: 0\r\n\r\n")) as proxy:
        client = HTTPClient()
        client.connect_timeout = 3.0
        try:
            client.set_https_proxy("127.0.0.1", proxy.port, username="user", password="secret")
            options = TLSOptions.client(ca_certificate(certs.origin_ca))
            assert client.connect_to_host("https://origin.test", 8443, options) == Error.OK
            _poll_connecting(client)
        finally:
            client.close()
    token = base64.b64encode(b"user:secret").decode()
    assert proxy.heads == [
        (
            "CONNECT origin.test:8443 HTTP/1.1\r\nHost: origin.test:8443\r\n"
            f"User-Agent: pollhttp/{__version__}\r\nProxy-Authorization: Basic {token}\r\n\r\n"
        ).encode()
    ]


@pytest.mark.parametrize(
    ("method", "target", "line"),
    [
        pytest.param(
            HTTPClient.METHOD_GET,
            "/p?q=1",
            b"GET http://origin.test:8080/p?q=1 HTTP/1.1",
            id="G18b-origin-form",
        ),
        pytest.param(
            HTTPClient.METHOD_GET,
            "http://origin.test:8080/abs",
            b"GET http://origin.test:8080/abs HTTP/1.1",
            id="G18c-absolute-target-not-prefixed-again",
        ),
        pytest.param(
            HTTPClient.METHOD_OPTIONS,
            "*",
            b"OPTIONS http://origin.test:8080 HTTP/1.1",
            id="G18d-asterisk",
        ),
    ],
)
def test_G18_absolute_form_through_a_forward_proxy(method, target: str, line: bytes) -> None:
    with ScriptedServer([[PlainRead(), PlainSend(response(body=b"proxied"))]]) as proxy:
        client = HTTPClient()
        try:
            client.set_http_proxy("127.0.0.1", proxy.port)
            assert client.connect_to_host("origin.test", 8080) == Error.OK
            _poll_connecting(client)
            assert client.request(method, target, []) == Error.OK
            deadline = time.monotonic() + 5
            while client.get_status() == Status.STATUS_REQUESTING:
                assert time.monotonic() < deadline
                client.poll()
        finally:
            client.close()
    assert proxy.requests[0].split(b"\r\n", 2)[:2] == [line, b"Host: origin.test:8080"]


def test_G18e_set_connection_then_poll() -> None:
    """set_connection() with a caller's stream: poll() drives that stream (Godot checks
    its own socket instead)."""
    with ScriptedServer([[PlainRead(), PlainSend(response(body=b"given"))]]) as server:
        tcp = StreamPeerTCP()
        assert tcp.connect_to_host("127.0.0.1", server.port) == Error.OK
        deadline = time.monotonic() + 5
        while tcp.get_status() == StreamPeerTCP.STATUS_CONNECTING:
            assert time.monotonic() < deadline
            tcp.poll()
            tcp.wait(readable=False, writable=True, timeout=0.05)
        client = HTTPClient()
        try:
            client.set_connection(tcp)
            assert client.get_status() == Status.STATUS_CONNECTED
            assert client.poll() == Error.OK
            assert _get(client, "http://127.0.0.1/x") == b"given"
        finally:
            client.close()
    assert server.requests[0].startswith(b"GET http://127.0.0.1/x HTTP/1.1\r\nHost: 127.0.0.1\r\n")


# -- helpers --------------------------------------------------------------------------------------


def _poll_connecting(client: HTTPClient, timeout: float = 5.0) -> list[Error]:
    polls = []
    deadline = time.monotonic() + timeout
    while client.get_status() in (Status.STATUS_RESOLVING, Status.STATUS_CONNECTING):
        assert time.monotonic() < deadline, client.get_status()
        polls.append(client.poll())
        client.wait(0.05)
    return polls


def _get(client: HTTPClient, target: str = "/") -> bytes:
    assert client.request(HTTPClient.METHOD_GET, target, []) == Error.OK
    deadline = time.monotonic() + 5.0
    body = b""
    while client.get_status() in (Status.STATUS_REQUESTING, Status.STATUS_BODY):
        assert time.monotonic() < deadline
        client.poll()
        piece = client.read_response_body_chunk()
        body += piece
        if not piece and client.get_status() in (Status.STATUS_REQUESTING, Status.STATUS_BODY):
            client.wait(0.02)
    assert client.get_response_code() == 200
    return body
