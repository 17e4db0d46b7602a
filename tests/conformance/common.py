"""Shared pieces of the conformance tables: exact response bytes and the usual expectations."""

from __future__ import annotations

from pollhttp import Error, IncompleteBodyError, LimitExceededError, RemoteProtocolError, Result

from ..support.servers import Close, Read, Send, Step
from .harness import CONNECTED, CONNECTION_ERROR, DISCONNECTED, ClientExpect, RequestExpect

#: A second response on the same connection, for cases that check it still parses.
NEXT_BODY = b"next response"
NEXT = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nnext response"


def head(*lines: str, body: bytes = b"") -> bytes:
    """Response bytes: the lines (status line first) joined with CRLF, a blank line, the body.

    Lines are Latin-1 text, so any byte (NUL, bare CR) can be written exactly.
    """
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def serve(*responses: bytes) -> list[Step]:
    """Read a request and answer it, once per response; then wait for the client to close."""
    steps: list[Step] = []
    for data in responses:
        steps += [Read(), Send(data)]
    return steps


def serve_and_close(data: bytes) -> list[Step]:
    """Read a request, send ``data`` and close the connection (end of a close-delimited body)."""
    return [Read(), Send(data), Close()]


def ok(
    body: bytes, code: int = 200, *, status: object = CONNECTED, **extra: object
) -> ClientExpect:
    """HTTPClient read the whole response; the connection is reusable unless ``status`` says."""
    return ClientExpect(status, Error.OK, code, body, **extra)  # type: ignore[arg-type]


def ok_closed(body: bytes, code: int = 200, **extra: object) -> ClientExpect:
    """HTTPClient read the whole response, and the connection cannot be reused."""
    return ok(body, code, status=DISCONNECTED, **extra)


def broken(
    message: str,
    *,
    body: bytes = b"",
    code: int = 0,
    exc: type[BaseException] = RemoteProtocolError,
    **extra: object,
) -> ClientExpect:
    """HTTPClient ended in CONNECTION_ERROR, ERR_CONNECTION_ERROR, with this message."""
    return ClientExpect(
        CONNECTION_ERROR,
        Error.ERR_CONNECTION_ERROR,
        code,
        body,
        message,
        exc,
        **extra,  # type: ignore[arg-type]
    )


def truncated(message: str, body: bytes, code: int = 200) -> ClientExpect:
    """A body cut short: the bytes received are still returned, then CONNECTION_ERROR."""
    return broken(message, body=body, code=code, exc=IncompleteBodyError)


def over_limit(message: str, **extra: object) -> ClientExpect:
    return broken(message, exc=LimitExceededError, **extra)  # type: ignore[arg-type]


def success(body: bytes, code: int = 200, **extra: object) -> RequestExpect:
    return RequestExpect(Result.RESULT_SUCCESS, code, body, **extra)  # type: ignore[arg-type]


#: HTTPRequest's result for a protocol error or a truncated body: code 0, no headers.
FAILED = RequestExpect(Result.RESULT_CONNECTION_ERROR)
