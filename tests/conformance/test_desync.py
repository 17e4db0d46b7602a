"""Conformance: response desynchronisation (issue 19, part 1).

Rows as in test_framing.py: the exact bytes a scripted server sends and what HTTPClient and
HTTPRequest make of them. Here a complete response is followed by bytes nobody asked for,
typically a second response whose body is ``EVIL``; read as the next response it would
answer the next request (response-queue poisoning).

HTTPClient reads the response, whole and correct, then is DISCONNECTED (not an error
status) with a `RemoteProtocolError` saying that unsolicited bytes followed the response;
bytes that come later are found by the next ``poll()`` (a `StaleConnectionError`). The
next request (``then``) goes on a new connection and gets the real answer, never ``EVIL``.
HTTPRequest reports the response as a success and takes a new connection by itself.

The case list, byte-exact at every split point, is in tests/client/test_desync.py and
tests/protocol/test_desync.py; these rows run both clients through the common harness.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pollhttp import Error, RemoteProtocolError, StaleConnectionError

from ..support.polling import poll_until
from ..support.servers import Close, Pause, Read, Send, Step
from .common import NEXT, NEXT_BODY, head, ok, serve, success
from .harness import CONNECTED, DISCONNECTED, HEAD, ClientExpect, ClientRun, case, run_case

OK = "HTTP/1.1 200 OK"
EVIL = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nEVIL"
CL5 = head(OK, "Content-Length: 5", body=b"hello")
CHUNKED = head(OK, "Transfer-Encoding: chunked", body=b"5\r\nhello\r\n0\r\n\r\n")
CHUNKED_TRAILERS = head(
    OK, "Transfer-Encoding: chunked", body=b"2\r\nhe\r\n3\r\nllo\r\n0\r\nX-Digest: abc\r\n\r\n"
)
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
EARLY_HINTS = b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"


def says_unsolicited(run: ClientRun) -> None:
    error = run.client.get_last_error()
    message = str(error)
    assert "unsolicited" in message or "extra" in message, message
    assert "response" in message, message


def closed_after(
    body: bytes, code: int = 200, check: Callable[[ClientRun], None] | None = None
) -> ClientExpect:
    """The response was read whole; the stray bytes with it closed the connection."""

    def checks(run: ClientRun) -> None:
        says_unsolicited(run)
        if check is not None:
            check(run)

    return ClientExpect(DISCONNECTED, Error.OK, code, body, exc=RemoteProtocolError, check=checks)


def trailers_are(*expected: str) -> Callable[[ClientRun], None]:
    def check(run: ClientRun) -> None:
        assert run.client.get_response_trailers() == list(expected)

    return check


def informational_are(*expected: tuple[int, list[str]]) -> Callable[[ClientRun], None]:
    def check(run: ClientRun) -> None:
        assert run.client.get_informational_responses() == list(expected)

    return check


def next_poll_drops_it(error: type[BaseException] | None) -> Callable[[ClientRun], None]:
    """Idle in CONNECTED after the response: polling notices what comes later."""

    def check(run: ClientRun) -> None:
        trace = poll_until(run.client, lambda c: c.get_status() is not CONNECTED)
        assert run.client.get_status() is DISCONNECTED, (trace[-3:], run.client.get_last_error())
        if error is not None:
            assert isinstance(run.client.get_last_error(), error), run.client.get_last_error()

    return check


def stray_after(response: bytes) -> list[list[Step]]:
    """The response and the stray bytes in one write; the next connection answers NEXT."""
    return [serve(response + EVIL), serve(NEXT)]


def later(step: Step) -> list[list[Step]]:
    """The response, then ``step`` on the idle connection; the next connection answers NEXT."""
    return [[Read(), Send(CL5), Pause(0.2), step], serve(NEXT)]


CASES = [
    # -- stray bytes in the same write as the response ----------------------------------------
    case(
        "D1",
        "stray response after a Content-Length body",
        stray_after(CL5),
        client=closed_after(b"hello"),
        request=success(b"hello"),
        then=NEXT_BODY,
        then_connections=2,
    ),
    case(
        "D2",
        "stray response after a chunked body",
        stray_after(CHUNKED),
        client=closed_after(b"hello"),
        request=success(b"hello"),
        then=NEXT_BODY,
        then_connections=2,
    ),
    case(
        "D3",
        "stray response after a chunked body and its trailers",
        stray_after(CHUNKED_TRAILERS),
        client=closed_after(b"hello", check=trailers_are("X-Digest: abc")),
        request=success(b"hello"),
        then=NEXT_BODY,
        then_connections=2,
    ),
    case(
        "D4",
        "stray response after a HEAD answered with CL 5",
        stray_after(head(OK, "Content-Length: 5")),
        client=closed_after(b""),
        request=success(b""),
        method=HEAD,
        then=NEXT_BODY,
        then_connections=2,
    ),
    case(
        "D5",
        "stray response after a 204",
        stray_after(head("HTTP/1.1 204 No Content")),
        client=closed_after(b"", 204),
        request=success(b"", 204),
        then=NEXT_BODY,
        then_connections=2,
    ),
    case(
        "D6",
        "stray response after a 304 carrying CL 5",
        stray_after(head("HTTP/1.1 304 Not Modified", 'ETag: "v1"', "Content-Length: 5")),
        client=closed_after(b"", 304),
        request=success(b"", 304),
        then=NEXT_BODY,
        then_connections=2,
    ),
    case(
        "D7",
        "stray response after a CL 0 response",
        stray_after(head(OK, "Content-Length: 0")),
        client=closed_after(b""),
        request=success(b""),
        then=NEXT_BODY,
        then_connections=2,
    ),
    case(
        "D8",
        "stray response after 100 Continue and the final response",
        stray_after(CONTINUE + CL5),
        client=closed_after(b"hello", check=informational_are((100, []))),
        request=success(b"hello"),
        then=NEXT_BODY,
        then_connections=2,
    ),
    case(
        "D9",
        "stray response after 103 Early Hints and the final response",
        stray_after(EARLY_HINTS + CHUNKED),
        client=closed_after(
            b"hello", check=informational_are((103, ["Link: </style.css>; rel=preload"]))
        ),
        request=success(b"hello"),
        then=NEXT_BODY,
        then_connections=2,
    ),
    case(
        "D10",
        "one stray byte after a Content-Length body",
        [serve(CL5 + b"X"), serve(NEXT)],
        client=closed_after(b"hello"),
        request=success(b"hello"),
        then=NEXT_BODY,
        then_connections=2,
    ),
    # -- not stray bytes: one exchange --------------------------------------------------------
    case(
        "D11",
        "100 Continue, 103 and the final response in one write are one exchange",
        serve(CONTINUE + EARLY_HINTS + CL5, NEXT),
        client=ok(
            b"hello", check=informational_are((100, []), (103, ["Link: </style.css>; rel=preload"]))
        ),
        request=success(b"hello"),
        then=NEXT_BODY,
        then_connections=1,
    ),
    # -- bytes or a close on the idle connection, later ---------------------------------------
    # HTTPClient only: the row's check polls until they come. The next request of HTTPRequest
    # would race with bytes still on their way (tests/client/test_desync.py drives the
    # timing itself).
    case(
        "D12",
        "stray response after the response was read is found by the next poll",
        later(Send(EVIL)),
        client=ok(b"hello", check=next_poll_drops_it(StaleConnectionError)),
        request=None,
        then=NEXT_BODY,
        then_connections=2,
    ),
    case(
        "D13",
        "server closing the idle connection is found by the next poll",
        later(Close()),
        client=ok(b"hello", check=next_poll_drops_it(None)),
        request=None,
        then=NEXT_BODY,
        then_connections=2,
    ),
]


@pytest.mark.parametrize("case_", CASES)
def test_desync(case_) -> None:
    run_case(case_)
