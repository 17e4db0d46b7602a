from pollhttp import Error, HTTPClient, Status

from ..support.polling import connect, fetch
from ..support.scripted_peer import WOULD_BLOCK, ScriptedStreamPeer
from ..support.servers import Read, ScriptedServer, Send, response


def test_get_over_a_real_socket():
    with ScriptedServer([[Read(), Send(response(body=b"hello"))]]) as server:
        client = HTTPClient()
        connect(client, "127.0.0.1", server.port)
        assert fetch(client, "/x") == b"hello"
        assert client.get_response_code() == 200
        assert client.get_status() == Status.STATUS_CONNECTED
        client.close()
    assert server.requests[0].startswith(b"GET /x HTTP/1.1\r\nHost: 127.0.0.1:")


def test_scripted_peer_trace():
    peer = ScriptedStreamPeer([WOULD_BLOCK, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"])
    client = HTTPClient()
    client.set_connection(peer)
    assert client.request(HTTPClient.METHOD_GET, "/", []) == Error.OK
    trace = [(client.poll(), client.get_status()) for _ in range(2)]
    assert trace == [(Error.OK, Status.STATUS_REQUESTING), (Error.OK, Status.STATUS_BODY)]
    assert client.read_response_body_chunk() == b"ok"
    assert client.get_status() == Status.STATUS_CONNECTED
