"""Conformance: interim responses and method-dependent bodies (ecosystem.md §3.3 cases 22-26).

Rows as in test_framing.py: the exact bytes a scripted server sends and what HTTPClient and
HTTPRequest make of them.
"""

from __future__ import annotations

import time

import pytest

from pollhttp import Error, Method, NoResponseError, Result

from ..support.servers import Close, Pause, Read, Send
from .common import FAILED, NEXT, NEXT_BODY, broken, head, ok, serve, success
from .harness import (
    CONNECTED,
    HEAD,
    ClientExpect,
    ClientRun,
    RequestExpect,
    RequestRun,
    case,
    run_case,
)

OK = "HTTP/1.1 200 OK"
CL2 = "Content-Length: 2"
FINAL = head(OK, CL2, body=b"hi")
UPGRADE = ("Connection: Upgrade", "Upgrade: example/1")
SWITCH = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: example/1\r\n\r\n"
TUNNEL_BYTES = b"bytes of the new protocol"


def informational_are(*expected: tuple[int, list[str]]):
    def check(run: ClientRun) -> None:
        assert run.client.get_informational_responses() == list(expected)
        assert run.client.get_response_code() == 200

    return check


def request_headers_are(*expected: str):
    def check(run: RequestRun) -> None:
        assert run.result[2] == list(expected)

    return check


def no_final_response(run: ClientRun) -> None:
    assert run.client.get_informational_responses() == [(100, [])]
    assert not run.client.has_response()


def hands_over(expected: bytes):
    """The bytes after a 101 or a 2xx to CONNECT belong to the caller, not to HTTP."""

    def check(run: ClientRun) -> None:
        stream = run.client.get_connection()
        assert stream is not None
        received = b""
        deadline = time.monotonic() + 0.3
        while len(received) < len(expected) and time.monotonic() < deadline:
            err, data = stream.get_partial_data(1024)
            assert err == Error.OK, (err, received)
            received += data
            if not data:
                stream.wait(readable=True, timeout=0.05)
        assert received == expected

    return check


CASES = [
    # -- 22: interim responses are skipped and kept ------------------------------------------
    case(
        "E22",
        "100 Continue then 200",
        serve(b"HTTP/1.1 100 Continue\r\n\r\n" + FINAL),
        client=ok(b"hi", check=informational_are((100, []))),
        request=success(b"hi", check=request_headers_are(CL2)),
    ),
    case(
        "E22b",
        "102 then 103 with Link then 200",
        serve(
            b"HTTP/1.1 102 Processing\r\n\r\n"
            b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n" + FINAL
        ),
        client=ok(
            b"hi",
            check=informational_are((102, []), (103, ["Link: </s.css>; rel=preload"])),
        ),
        request=success(b"hi", check=request_headers_are(CL2)),
    ),
    case(
        "E22c",
        "unknown 1xx then 200",
        serve(b"HTTP/1.1 199 Whatever\r\nX-I: 1\r\n\r\n" + FINAL),
        client=ok(b"hi", check=informational_are((199, ["X-I: 1"]))),
        request=success(b"hi"),
    ),
    case(
        "E22d",
        "interim and final responses in separate writes",
        [
            [
                Read(),
                Send(b"HTTP/1.1 100 Continue\r\n\r\n"),
                Pause(0.02),
                Send(b"HTTP/1.1 103 Early Hints\r\n\r\n"),
                Pause(0.02),
                Send(FINAL),
            ]
        ],
        client=ok(b"hi", check=informational_are((100, []), (103, []))),
        request=success(b"hi"),
    ),
    case(
        "E22e",
        "interim response then the server closes: no response",
        [[Read(), Send(b"HTTP/1.1 100 Continue\r\n\r\n"), Close()]],
        client=broken(
            "server closed the connection without sending a response",
            exc=NoResponseError,
            check=no_final_response,
        ),
        request=RequestExpect(Result.RESULT_NO_RESPONSE),
    ),
    # -- 23: 101 Switching Protocols --------------------------------------------------------------
    case(
        "E23",
        "101 without an Upgrade request",
        serve(SWITCH + TUNNEL_BYTES),
        client=broken("101 Switching Protocols without an Upgrade request"),
        request=FAILED,
    ),
    case(
        "E23b",
        "101 to an Upgrade request hands over the bytes after the head",
        serve(SWITCH + TUNNEL_BYTES),
        client=ClientExpect(CONNECTED, Error.OK, 101, b"", check=hands_over(TUNNEL_BYTES)),
        request=None,
        headers=UPGRADE,
    ),
    case(
        "E23c",
        "HTTPRequest: 101 to an Upgrade request, and the next request uses a new connection",
        [serve(SWITCH + TUNNEL_BYTES), serve(NEXT)],
        client=None,
        request=success(b"", 101),
        headers=UPGRADE,
        then=NEXT_BODY,
        then_connections=2,
    ),
    # -- 24: HEAD ---------------------------------------------------------------------------------
    case(
        "E24",
        "HEAD answered with CL 5, then the next response parses",
        serve(head(OK, "Content-Length: 5"), NEXT),
        client=ok(b""),
        request=success(b""),
        method=HEAD,
        then=NEXT_BODY,
    ),
    case(
        "E24b",
        "HEAD answered with TE chunked, then the next response parses",
        serve(head(OK, "Transfer-Encoding: chunked"), NEXT),
        client=ok(b""),
        request=success(b""),
        method=HEAD,
        then=NEXT_BODY,
    ),
    # -- 25: 204 and 304 --------------------------------------------------------------------------
    case(
        "E25",
        "204 carrying CL 5, then the next response parses",
        serve(head("HTTP/1.1 204 No Content", "Content-Length: 5"), NEXT),
        client=ok(b"", 204),
        request=success(b"", 204),
        then=NEXT_BODY,
    ),
    case(
        "E25b",
        "304 carrying CL 5, then the next response parses",
        serve(head("HTTP/1.1 304 Not Modified", "Content-Length: 5"), NEXT),
        client=ok(b"", 304),
        request=success(b"", 304),
        then=NEXT_BODY,
    ),
    case(
        "E25c",
        "204 carrying TE chunked, then the next response parses",
        serve(head("HTTP/1.1 204 No Content", "Transfer-Encoding: chunked"), NEXT),
        client=ok(b"", 204),
        request=success(b"", 204),
        then=NEXT_BODY,
    ),
    # -- 26: a 2xx to CONNECT makes a tunnel ------------------------------------------------------
    case(
        "E26",
        "2xx to CONNECT with framing fields: the bytes after the head are the tunnel's",
        serve(
            b"HTTP/1.1 200 Connection established\r\nContent-Length: 5\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + TUNNEL_BYTES
        ),
        client=ClientExpect(CONNECTED, Error.OK, 200, b"", check=hands_over(TUNNEL_BYTES)),
        request=None,
        method=Method.METHOD_CONNECT,
        target="origin.test:443",
    ),
]


@pytest.mark.parametrize("case_", CASES)
def test_interim(case_) -> None:
    run_case(case_)
