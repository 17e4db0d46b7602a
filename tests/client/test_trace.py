"""HTTPClient.trace: every connect attempt, TLS session, head and status change, as it happens."""

from __future__ import annotations

import select
import socket
from typing import Any

import trustme

from pollhttp import Error, HTTPClient, Resolution, StaleConnectionError, Status, TLSOptions

from ..support.polling import connect, connection_of, fetch, poll_until, poll_while_waiting
from ..support.servers import Read, ScriptedServer, Send, response
from ..support.tls import TLSServer, ca_certificate, server_context


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, event: str, info: Any) -> None:
        self.events.append((event, dict(info)))

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    def statuses(self) -> list[Status]:
        return [info["status"] for name, info in self.events if name == "status"]

    def first(self, name: str) -> dict[str, Any]:
        return next(info for event, info in self.events if event == name)


def test_a_plain_exchange_is_traced_in_order():
    with ScriptedServer([[Read(), Send(response(headers=["X-A: 1"], body=b"ok"))]]) as srv:
        client = HTTPClient()
        trace = client.trace = Recorder()
        connect(client, "127.0.0.1", srv.port)
        assert fetch(client, "/t") == b"ok"
        client.close()
    assert trace.names() == [
        "connect.attempt",
        "status",  # CONNECTING
        "connect.established",
        "status",  # CONNECTED
        "request.head",
        "status",  # REQUESTING
        "response.head",
        "status",  # BODY
        "status",  # CONNECTED
        "status",  # DISCONNECTED (close)
    ]
    assert trace.statuses() == [
        Status.STATUS_CONNECTING,
        Status.STATUS_CONNECTED,
        Status.STATUS_REQUESTING,
        Status.STATUS_BODY,
        Status.STATUS_CONNECTED,
        Status.STATUS_DISCONNECTED,
    ]
    assert trace.first("connect.attempt") == {"address": "127.0.0.1", "port": srv.port}
    # The head exactly as the server received it.
    assert trace.first("request.head")["head"] == srv.requests[0]
    head = trace.first("response.head")
    assert (head["status"], head["reason"], head["version"]) == (200, b"OK", b"1.1")
    assert (b"X-A", b"1") in head["headers"]


def test_resolution_and_failed_attempts_are_traced():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = closed.getsockname()[1]
    with ScriptedServer([[Read(), Send(response(body=b"ok"))]]) as srv:
        addresses = [("127.0.0.1", dead), ("127.0.0.1", srv.port)]
        client = HTTPClient(resolver=lambda host, port: Resolution.finished(list(addresses)))
        trace = client.trace = Recorder()
        connect(client, "named.test", srv.port)
        client.close()
    assert trace.statuses()[:2] == [Status.STATUS_RESOLVING, Status.STATUS_CONNECTING]
    assert trace.first("connect.resolved") == {"host": "named.test", "addresses": addresses}
    failed = trace.first("connect.failed")
    assert (failed["address"], failed["port"]) == ("127.0.0.1", dead)
    assert "refused" in str(failed["error"]).lower()
    assert trace.first("connect.established") == {"address": "127.0.0.1", "port": srv.port}


def test_the_tls_session_is_traced():
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    script = [Read(), Send(response(body=b"ok"))]
    with TLSServer([script], server_context(leaf=leaf)) as srv:
        client = HTTPClient()
        trace = client.trace = Recorder()
        options = TLSOptions.client(ca_certificate(ca))
        assert client.connect_to_host("127.0.0.1", srv.port, options) == Error.OK
        poll_while_waiting(client)
        assert fetch(client, "/") == b"ok"
        client.close()
    tls = trace.first("tls.established")
    assert tls["server_name"] == "127.0.0.1"
    assert tls["proxy"] is False
    assert tls["version"] in ("TLSv1.2", "TLSv1.3")
    assert tls["cipher"]
    assert "subjectAltName" in tls["certificate"]
    assert trace.names().index("tls.established") < trace.names().index("request.head")


def test_a_dropped_connection_is_traced():
    stray = response(body=b"ok") + response(body=b"EVIL")
    with ScriptedServer([[Read(), Send(stray)]]) as srv:
        client = HTTPClient()
        trace = client.trace = Recorder()
        connect(client, "127.0.0.1", srv.port)
        assert fetch(client, "/") == b"ok"
        poll_until(client, lambda c: c.get_status() != Status.STATUS_BODY)
        client.close()
    dropped = trace.first("connection.dropped")
    assert "unsolicited" in str(dropped["error"])
    assert Status.STATUS_DISCONNECTED in trace.statuses()


def test_an_idle_connection_closed_by_the_server_is_traced_by_request():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        client = HTTPClient()
        connect(client, "127.0.0.1", listener.getsockname()[1])
        conn, _ = listener.accept()
        conn.close()  # the server closes the idle connection
        # Wait until the close has reached the client's socket, without reading it.
        ready, _, _ = select.select([connection_of(client).fileno()], [], [], 5)
        assert ready
        trace = client.trace = Recorder()
        assert (
            client.request(HTTPClient.METHOD_POST, "/", [], b"data") == Error.ERR_CONNECTION_ERROR
        )
        assert isinstance(trace.first("connection.dropped")["error"], StaleConnectionError)
        assert trace.statuses() == [Status.STATUS_DISCONNECTED]
        assert "request.head" not in trace.names()
