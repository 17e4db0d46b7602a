"""Conformance: response framing and field syntax (ecosystem.md §3.3 cases 8-21, Godot §7.1).

Each row is the exact bytes a scripted server sends on 127.0.0.1 and the result expected
from HTTPClient and from HTTPRequest. Case ids: ``E<n>`` is ecosystem.md §3.3 case n,
``G<n>`` is godot-behaviour.md §7.1 item n; a letter marks a variant.
"""

from __future__ import annotations

import time

import pytest

from pollhttp import Error, HTTPClient, IncompleteBodyError, Limits, Result, Status

from ..support.servers import Close, Pause, Read, Send, ShutdownWrite, Trickle
from .common import (
    FAILED,
    NEXT,
    NEXT_BODY,
    broken,
    head,
    ok,
    ok_closed,
    over_limit,
    serve,
    serve_and_close,
    success,
    truncated,
)
from .harness import ClientRun, RequestExpect, RequestRun, by_id, case, run_case, run_client

OK = "HTTP/1.1 200 OK"
OK10 = "HTTP/1.0 200 OK"
CL2 = "Content-Length: 2"
TE = "Transfer-Encoding: chunked"
HI_CHUNKED = b"2\r\nhi\r\n0\r\n\r\n"
#: A complete second response hidden in what a Content-Length reading would take as body.
SMUGGLED = b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled"


def headers_are(*expected: str):
    def check(run: ClientRun) -> None:
        client = run.client
        assert client.get_response_headers() == list(expected)
        # Reading does not consume (Godot §7.1.4).
        assert client.get_response_headers() == list(expected)
        assert client.has_response()

    return check


def request_headers_are(*expected: str):
    def check(run: RequestRun) -> None:
        assert run.result[2] == list(expected)

    return check


def dictionary_is(expected: dict[str, str]):
    def check(run: ClientRun) -> None:
        client = run.client
        assert client.get_response_headers_as_dictionary() == expected
        assert client.get_response_headers_as_dictionary() == expected
        assert client.has_response()

    return check


def trailers_are(*expected: str):
    def check(run: ClientRun) -> None:
        assert run.client.get_response_trailers() == list(expected)
        assert run.client.is_response_chunked()

    return check


def chunked_then_closed(run: ClientRun) -> None:
    assert run.client.is_response_chunked()
    run.client.close()
    # Godot §7.1.25: is_response_chunked() is stale after close(); here close() resets it.
    assert not run.client.is_response_chunked()
    assert run.client.get_response_code() == 0


def reads_are(*sizes: int):
    def check(run: ClientRun) -> None:
        assert run.reads == list(sizes)

    return check


def poll_through_the_close(client: HTTPClient) -> None:
    """Godot §7.1.11: poll() in BODY many times while the server's FIN arrives."""
    deadline = time.monotonic() + 0.1
    while time.monotonic() < deadline:
        assert client.poll() == Error.OK
        assert client.get_status() == Status.STATUS_BODY
        client.wait(0.01)


CASES = [
    # -- 8: Content-Length and Transfer-Encoding together -----------------------------------
    case(
        "E08",
        "CL and TE chunked: chunked wins, connection not reused",
        [serve(head(OK, "Content-Length: 5", TE, body=HI_CHUNKED)), serve(NEXT)],
        client=ok_closed(b"hi"),
        request=success(b"hi"),
        then=NEXT_BODY,
        then_connections=2,
    ),
    case(
        "E08b",
        "TE before CL: chunked wins, connection not reused",
        [serve(head(OK, TE, "Content-Length: 100", body=HI_CHUNKED)), serve(NEXT)],
        client=ok_closed(b"hi"),
        request=success(b"hi"),
        then=NEXT_BODY,
        then_connections=2,
    ),
    case(
        "E08c",
        "CL and TE smuggling: the bytes after the chunked body are never a response",
        [
            serve(head(OK, "Content-Length: 47", TE, body=b"0\r\n\r\n" + SMUGGLED)),
            serve(NEXT),
        ],
        client=ok_closed(b""),
        request=success(b""),
        then=NEXT_BODY,
        then_connections=2,
    ),
    # -- 9: conflicting Content-Length ---------------------------------------------------------
    case(
        "E09",
        "duplicate CL lines with different values",
        serve(head(OK, CL2, "Content-Length: 3", body=b"hi!")),
        client=broken("conflicting Content-Length"),
        request=FAILED,
    ),
    case(
        "E09b",
        "CL list with different values",
        serve(head(OK, "Content-Length: 2, 3", body=b"hi!")),
        client=broken("conflicting Content-Length"),
        request=FAILED,
    ),
    case(
        "E09c",
        "CL list with identical values is accepted",
        serve(head(OK, "Content-Length: 2, 2", body=b"hi")),
        client=ok(b"hi"),
        request=success(b"hi"),
    ),
    case(
        "E09d",
        "identical duplicate CL lines are accepted",
        serve(head(OK, CL2, CL2, body=b"hi")),
        client=ok(b"hi"),
        request=success(b"hi"),
    ),
    # -- 10: Content-Length syntax ------------------------------------------------------------
    case(
        "E10",
        "CL with a plus sign",
        serve(head(OK, "Content-Length: +2", body=b"hi")),
        client=broken("invalid Content-Length"),
        request=FAILED,
    ),
    case(
        "E10b",
        "negative CL",
        serve(head(OK, "Content-Length: -1", body=b"hi")),
        client=broken("invalid Content-Length"),
        request=FAILED,
    ),
    case(
        "E10c",
        "hexadecimal CL",
        serve(head(OK, "Content-Length: 0x2", body=b"hi")),
        client=broken("invalid Content-Length"),
        request=FAILED,
    ),
    case(
        "E10d",
        "whitespace inside CL",
        serve(head(OK, "Content-Length: 1 1", body=b"hi")),
        client=broken("invalid Content-Length"),
        request=FAILED,
    ),
    case(
        "E10e",
        "CL of 20 digits",
        serve(head(OK, "Content-Length: 00000000000000000002", body=b"hi")),
        client=broken("invalid Content-Length"),
        request=FAILED,
    ),
    case(
        "E10f",
        "CL of 19 digits is accepted",
        serve(head(OK, "Content-Length: 0000000000000000002", body=b"hi")),
        client=ok(b"hi"),
        request=success(b"hi"),
    ),
    case(
        "E10g",
        "empty CL",
        serve(head(OK, "Content-Length: ", body=b"hi")),
        client=broken("empty Content-Length"),
        request=FAILED,
    ),
    # -- 11: chunk-size syntax ------------------------------------------------------------------
    case(
        "E11",
        "chunk size with 0x prefix",
        serve(head(OK, TE, body=b"0x2\r\nhi\r\n0\r\n\r\n")),
        client=broken("invalid chunk size line", code=200),
        request=FAILED,
    ),
    case(
        "E11b",
        "chunk size with plus sign",
        serve(head(OK, TE, body=b"+2\r\nhi\r\n0\r\n\r\n")),
        client=broken("invalid chunk size line", code=200),
        request=FAILED,
    ),
    case(
        "E11c",
        "empty chunk size",
        serve(head(OK, TE, body=b"\r\nhi\r\n0\r\n\r\n")),
        client=broken("invalid chunk size line", code=200),
        request=FAILED,
    ),
    case(
        "E11d",
        "chunk size of 17 hex digits",
        serve(head(OK, TE, body=b"00000000000000002\r\nhi\r\n0\r\n\r\n")),
        client=broken("invalid chunk size line", code=200),
        request=FAILED,
    ),
    case(
        "E11e",
        "chunk size of 16 hex digits is accepted",
        serve(head(OK, TE, body=b"0000000000000002\r\nhi\r\n0\r\n\r\n")),
        client=ok(b"hi"),
        request=success(b"hi"),
    ),
    case(
        "E11f",
        "chunk extension line longer than 4 KiB",
        serve(head(OK, TE, body=b"2;x=" + b"a" * 4096 + b"\r\nhi\r\n0\r\n\r\n")),
        client=over_limit("chunk size line longer than 4096", code=200),
        request=FAILED,
    ),
    case(
        "E11g",
        "chunk extensions are accepted and ignored",
        serve(head(OK, TE, body=b'2;name=value;q="x"\r\nhi\r\n0;end\r\n\r\n')),
        client=ok(b"hi"),
        request=success(b"hi"),
    ),
    case(
        "E11h",
        "space before the chunk size",
        serve(head(OK, TE, body=b" 2\r\nhi\r\n0\r\n\r\n")),
        client=broken("invalid chunk size line", code=200),
        request=FAILED,
    ),
    # -- 12: chunk data must end with exactly CRLF --------------------------------------------
    case(
        "E12",
        "chunk data followed by XX instead of CRLF",
        serve(head(OK, TE, body=b"2\r\nhiXX0\r\n\r\n")),
        client=broken("chunk data not followed by CRLF", code=200, body=b"hi"),
        request=FAILED,
    ),
    case(
        "E12b",
        "chunk data followed by a bare LF",
        serve(head(OK, TE, body=b"2\r\nhi\n0\r\n\r\n")),
        client=broken("chunk data not followed by CRLF", code=200, body=b"hi"),
        request=FAILED,
    ),
    case(
        "E12c",
        "chunk longer than its size",
        serve(head(OK, TE, body=b"2\r\nhello\r\n0\r\n\r\n")),
        client=broken("chunk data not followed by CRLF", code=200, body=b"he"),
        request=FAILED,
    ),
    # -- 13: bare CR ------------------------------------------------------------------------------
    case(
        "E13",
        "bare CR inside a field value",
        serve(head(OK, "X-A: a\rb", CL2, body=b"hi")),
        client=broken("bare CR"),
        request=FAILED,
    ),
    case(
        "E13b",
        "bare CR as a line end",
        serve(b"HTTP/1.1 200 OK\rContent-Length: 2\r\n\r\nhi"),
        client=broken("bare CR"),
        request=FAILED,
    ),
    case(
        "E13c",
        "bare CR as a line end, sent one byte at a time",
        [[Read(), Trickle(b"HTTP/1.1 200 OK\r\nX-A: 1\rContent-Length: 2\r\n\r\nhi")]],
        client=broken("bare CR"),
        request=FAILED,
    ),
    case(
        "E13d",
        "bare LF line ends are accepted",
        serve(b"HTTP/1.1 200 OK\nContent-Length: 2\n\nhi"),
        client=ok(b"hi"),
        request=success(b"hi"),
    ),
    # -- 14: whitespace before the colon ---------------------------------------------------------
    case(
        "E14",
        "space between field name and colon",
        serve(head(OK, "Content-Length : 2", body=b"hi")),
        client=broken("invalid header line"),
        request=FAILED,
    ),
    case(
        "E14b",
        "tab between field name and colon",
        serve(head(OK, "Transfer-Encoding\t: chunked", CL2, body=b"hi")),
        client=broken("invalid header line"),
        request=FAILED,
    ),
    case(
        "E14c",
        "space before the first field name",
        serve(head(OK, " Content-Length: 2", body=b"hi")),
        client=broken("obsolete line folding"),
        request=FAILED,
    ),
    # -- 15: obs-fold -----------------------------------------------------------------------------
    case(
        "E15",
        "obs-fold continuation line",
        serve(head(OK, "X-A: a", " b", CL2, body=b"hi")),
        client=broken("obsolete line folding"),
        request=FAILED,
    ),
    case(
        "E15b",
        "obs-fold that would produce a Content-Length",
        serve(head(OK, "X-A: a", "\tContent-Length: 2", body=b"hi")),
        client=broken("obsolete line folding"),
        request=FAILED,
    ),
    case(
        "E15c",
        "obs-fold inside Transfer-Encoding",
        serve(head(OK, "Transfer-Encoding: gzip,", " chunked", body=HI_CHUNKED)),
        client=broken("obsolete line folding"),
        request=FAILED,
    ),
    # -- 16: control characters in values -------------------------------------------------------
    case(
        "E16",
        "NUL in a field value",
        serve(head(OK, "X-A: a\x00b", CL2, body=b"hi")),
        client=broken("NUL byte"),
        request=FAILED,
    ),
    case(
        "E16b",
        "control character 0x01 in a field value",
        serve(head(OK, "X-A: a\x01b", CL2, body=b"hi")),
        client=broken("invalid header line"),
        request=FAILED,
    ),
    case(
        "E16c",
        "DEL in a field value",
        serve(head(OK, "X-A: a\x7fb", CL2, body=b"hi")),
        client=broken("invalid header line"),
        request=FAILED,
    ),
    case(
        "E16d",
        "HTAB and obs-text in a field value are accepted",
        serve(head(OK, "X-A: a\tb\xe9", CL2, body=b"hi")),
        client=ok(b"hi", check=headers_are("X-A: a\tb\xe9", CL2)),
        request=success(b"hi", check=request_headers_are("X-A: a\tb\xe9", CL2)),
    ),
    case(
        "E16e",
        "NUL in the status line",
        serve(head("HTTP/1.1 200 O\x00K", CL2, body=b"hi")),
        client=broken("NUL byte"),
        request=FAILED,
    ),
    # -- 17: Transfer-Encoding other than chunked -----------------------------------------------
    case(
        "E17",
        "TE gzip alone",
        serve(head(OK, "Transfer-Encoding: gzip", body=b"hi")),
        client=broken("unsupported Transfer-Encoding 'gzip'"),
        request=FAILED,
    ),
    case(
        "E17b",
        "TE chunked then identity",
        serve(head(OK, "Transfer-Encoding: chunked, identity", body=HI_CHUNKED)),
        client=broken("unsupported Transfer-Encoding"),
        request=FAILED,
    ),
    case(
        "E17c",
        "TE gzip then chunked is refused, not left in the socket",
        serve(head(OK, "Transfer-Encoding: gzip, chunked", body=HI_CHUNKED)),
        client=broken("unsupported Transfer-Encoding 'gzip, chunked'"),
        request=FAILED,
    ),
    case(
        "E17d",
        "TE on an HTTP/1.0 response",
        serve(head(OK10, TE, body=HI_CHUNKED)),
        client=broken("Transfer-Encoding in an HTTP/1.0 response"),
        request=FAILED,
    ),
    case(
        "E17e",
        "TE chunked twice",
        serve(head(OK, TE, TE, body=HI_CHUNKED)),
        client=broken("unsupported Transfer-Encoding 'chunked, chunked'"),
        request=FAILED,
    ),
    case(
        "E17f",
        "TE chunked in another case is chunked",
        serve(head(OK, "transfer-encoding: ChUnKeD", body=HI_CHUNKED)),
        client=ok(b"hi"),
        request=success(b"hi"),
    ),
    # -- 18: no framing: read until the server closes ------------------------------------------
    case(
        "E18",
        "HTTP/1.1 without CL or TE reads until close",
        [[Read(), Send(head(OK, body=b"hello")), Pause(0.02), Send(b" world"), Close()]],
        client=ok_closed(b"hello world"),
        request=success(b"hello world"),
    ),
    case(
        "E18b",
        "HTTP/1.1 keep-alive without framing still reads until close",
        serve_and_close(head(OK, "Connection: keep-alive", body=b"all of it")),
        client=ok_closed(b"all of it"),
        request=success(b"all of it"),
    ),
    case(
        "E18c",
        "close-delimited body ended by a half-close",
        [[Read(), Send(head(OK, body=b"half")), ShutdownWrite()]],
        client=ok_closed(b"half"),
        request=success(b"half"),
    ),
    # -- 19: head limits --------------------------------------------------------------------------
    case(
        "E19",
        "head larger than 64 KiB",
        serve(head(OK, "X-Big: " + "a" * 65536, CL2, body=b"hi")),
        client=over_limit("response head larger than 65536 bytes"),
        request=FAILED,
    ),
    case(
        "E19b",
        "more than 100 header lines",
        serve(head(OK, *[f"X-{i}: v" for i in range(100)], CL2, body=b"hi")),
        client=over_limit("more than 100 header fields"),
        request=FAILED,
    ),
    case(
        "E19c",
        "one 1 MiB header",
        serve(head(OK, "X-Huge: " + "b" * (1 << 20), CL2, body=b"hi")),
        client=over_limit("response head larger than 65536 bytes"),
        request=FAILED,
    ),
    case(
        "E19d",
        "5000 header lines",
        serve(head(OK, *["X: 1"] * 5000, CL2, body=b"hi")),
        client=over_limit("more than 100 header fields"),
        request=FAILED,
    ),
    case(
        "E19e",
        "status line longer than the head limit",
        serve(head("HTTP/1.1 200 " + "R" * 70000, CL2, body=b"hi")),
        client=over_limit("response head larger than 65536 bytes"),
        request=FAILED,
    ),
    case(
        "E19f",
        "head over the limit sent one byte at a time",
        [[Read(), Trickle(head(OK, "X-Big: " + "a" * 300, CL2, body=b"hi"))]],
        client=over_limit("response head larger than 256 bytes"),
        request=FAILED,
        limits=Limits(max_head_bytes=256),
    ),
    case(
        "E19g",
        "header lines over the count limit sent one byte at a time",
        [[Read(), Trickle(head(OK, "A: 1", "B: 2", "C: 3", CL2, body=b"hi"))]],
        client=over_limit("more than 3 header fields"),
        request=FAILED,
        limits=Limits(max_headers=3),
    ),
    # -- 20: premature end of the body ------------------------------------------------------------
    case(
        "E20",
        "CL 10 with 2 bytes then close",
        serve_and_close(head(OK, "Content-Length: 10", body=b"hi")),
        client=truncated("connection closed after 2 of 10 body bytes", b"hi"),
        request=FAILED,
    ),
    case(
        "E20b",
        "chunked cut inside a chunk",
        serve_and_close(head(OK, TE, body=b"5\r\nhi")),
        client=truncated("before the end of the chunked body", b"hi"),
        request=FAILED,
    ),
    case(
        "E20c",
        "chunked cut before the last chunk",
        serve_and_close(head(OK, TE, body=b"2\r\nhi\r\n")),
        client=truncated("before the end of the chunked body", b"hi"),
        request=FAILED,
    ),
    case(
        "E20d",
        "chunked cut inside the trailer section",
        serve_and_close(head(OK, TE, body=b"2\r\nhi\r\n0\r\nX-T: 1\r\n")),
        client=truncated("before the end of the chunked body", b"hi"),
        request=FAILED,
    ),
    case(
        "E20e",
        "CL body cut by a half-close",
        [[Read(), Send(head(OK, "Content-Length: 10", body=b"hi")), ShutdownWrite()]],
        client=truncated("connection closed after 2 of 10 body bytes", b"hi"),
        request=FAILED,
    ),
    case(
        "E20f",
        "head cut short",
        serve_and_close(b"HTTP/1.1 200 OK\r\nContent-Len"),
        client=broken("connection closed in the middle of the response head"),
        request=FAILED,
    ),
    # -- 21: versions -----------------------------------------------------------------------------
    case(
        "E21",
        "HTTP/2.0 in the status line",
        serve(head("HTTP/2.0 200 OK", CL2, body=b"hi")),
        client=broken("unsupported HTTP version 2.0"),
        request=FAILED,
    ),
    case(
        "E21b",
        "HTTP/1.2 in the status line",
        serve(head("HTTP/1.2 200 OK", CL2, body=b"hi")),
        client=broken("unsupported HTTP version 1.2"),
        request=FAILED,
    ),
    case(
        "E21c",
        "garbage version",
        serve(head("HTTP/x.y 200 OK", CL2, body=b"hi")),
        client=broken("invalid status line"),
        request=FAILED,
    ),
    case(
        "E21d",
        "ICY status line",
        serve(head("ICY 200 OK", CL2, body=b"hi")),
        client=broken("invalid status line"),
        request=FAILED,
    ),
    case(
        "E21e",
        "lower-case protocol name",
        serve(head("http/1.1 200 OK", CL2, body=b"hi")),
        client=broken("invalid status line"),
        request=FAILED,
    ),
    case(
        "E21f",
        "status line without a reason phrase is valid",
        serve(head("HTTP/1.1 200", CL2, body=b"hi")),
        client=ok(b"hi"),
        request=success(b"hi"),
    ),
    # -- Godot §7.1 traps in reading responses --------------------------------------------------
    case(
        "G03",
        "response with no header lines has a response",
        serve(b"HTTP/1.1 204 No Content\r\n\r\n"),
        client=ok(b"", 204, check=headers_are()),
        request=success(b"", 204),
    ),
    case(
        "G04",
        "header accessors do not consume",
        serve(head(OK, "X-A: 1", CL2, body=b"hi")),
        client=ok(b"hi", check=headers_are("X-A: 1", CL2)),
        request=success(b"hi", check=request_headers_are("X-A: 1", CL2)),
    ),
    case(
        "G05",
        "repeated names joined case-insensitively",
        serve(head(OK, "Set-Cookie: a=1", "set-cookie: b=2", "X-B: 3", CL2, body=b"hi")),
        client=ok(
            b"hi",
            check=dictionary_is({"Set-Cookie": "a=1; b=2", "X-B": "3", "Content-Length": "2"}),
        ),
        request=success(
            b"hi",
            check=request_headers_are("Set-Cookie: a=1", "set-cookie: b=2", "X-B: 3", CL2),
        ),
    ),
    case(
        "G06",
        "missing status line",
        serve(b"Content-Length: 2\r\n\r\nhi"),
        client=broken("invalid status line"),
        request=FAILED,
    ),
    case(
        "G06b",
        "letters inside the status code",
        serve(head("HTTP/1.1 2x00 OK", CL2, body=b"hi")),
        client=broken("invalid status line"),
        request=FAILED,
    ),
    case(
        "G06c",
        "status code of two digits",
        serve(head("HTTP/1.1 99 Low", CL2, body=b"hi")),
        client=broken("invalid status line"),
        request=FAILED,
    ),
    case(
        "G06d",
        "status code 600",
        serve(head("HTTP/1.1 600 High", CL2, body=b"hi")),
        client=broken("invalid status line"),
        request=FAILED,
    ),
    case(
        "G07",
        "HTTP/1.0 without CL reads until close",
        serve_and_close(head(OK10, body=b"old style")),
        client=ok_closed(b"old style"),
        request=success(b"old style"),
    ),
    case(
        "G07b",
        "HTTP/1.0 with CL is not persistent",
        [serve(head(OK10, CL2, body=b"hi")), serve(NEXT)],
        client=ok_closed(b"hi"),
        request=success(b"hi"),
        then=NEXT_BODY,
        then_connections=2,
    ),
    case(
        "G07c",
        "HTTP/1.0 with keep-alive is persistent",
        serve(head(OK10, "Connection: keep-alive", CL2, body=b"hi"), NEXT),
        client=ok(b"hi"),
        request=success(b"hi"),
        then=NEXT_BODY,
    ),
    case(
        "G07d",
        "Connection is a case-insensitive token list",
        [serve(head(OK, "Connection: foo, CLOSE", CL2, body=b"hi")), serve(NEXT)],
        client=ok_closed(b"hi"),
        request=success(b"hi"),
        then=NEXT_BODY,
        then_connections=2,
    ),
    case(
        "G08",
        "TE gzip then chunked is an error, not a corrupted next response",
        serve(head(OK, "Transfer-Encoding: gzip, chunked", body=HI_CHUNKED), NEXT),
        client=broken("unsupported Transfer-Encoding"),
        request=FAILED,
    ),
    case(
        "G09",
        "chunked body: trailers kept, extension ignored, done in the last read",
        serve(head(OK, TE, body=b"2;a=b\r\nhi\r\n0\r\nX-Sum: 7\r\nX-Two: 2\r\n\r\n"), NEXT),
        client=ok(b"hi", check=trailers_are("X-Sum: 7", "X-Two: 2")),
        request=success(b"hi"),
        then=NEXT_BODY,
    ),
    case(
        "G09b",
        "many small chunks gathered up to read_chunk_size per read",
        serve(head(OK, TE, body=b"1\r\nx\r\n" * 600 + b"0\r\n\r\n")),
        client=ok(b"x" * 600, check=reads_are(256, 256, 88)),
        request=success(b"x" * 600),
        chunk_size=256,
    ),
    case(
        "G09c",
        "one large chunk split to read_chunk_size per read",
        serve(head(OK, TE, body=b"400\r\n" + b"y" * 1024 + b"\r\n0\r\n\r\n")),
        client=ok(b"y" * 1024, check=reads_are(256, 256, 256, 256)),
        request=success(b"y" * 1024),
        chunk_size=256,
    ),
    case(
        "G10",
        "truncated CL body is a connection error in both clients",
        serve_and_close(head(OK, "Content-Length: 5", body=b"abc")),
        client=truncated("3 of 5", b"abc"),
        request=RequestExpect(Result.RESULT_CONNECTION_ERROR),
    ),
    case(
        "G11",
        "poll() in BODY does not turn the close that ends the body into an error",
        serve_and_close(head(OK, body=b"until close")),
        client=ok_closed(b"until close"),
        request=success(b"until close"),
        before_body=poll_through_the_close,
    ),
    case(
        "G12",
        "304 with CL has no body and does not hang",
        serve(head("HTTP/1.1 304 Not Modified", "Content-Length: 5"), NEXT),
        client=ok(b"", 304),
        request=success(b"", 304),
        then=NEXT_BODY,
    ),
    case(
        "G24",
        "close-delimited body: the code stays readable after the close",
        serve_and_close(head(OK, body=b"body")),
        client=ok_closed(b"body", check=headers_are()),
        request=success(b"body"),
    ),
    case(
        "G25",
        "is_response_chunked is reset by close()",
        serve(head(OK, TE, body=HI_CHUNKED)),
        client=ok(b"hi", check=chunked_then_closed),
        request=success(b"hi"),
    ),
]


@pytest.mark.parametrize("case_", CASES)
def test_framing(case_) -> None:
    run_case(case_)


def test_incomplete_body_error_carries_counts() -> None:
    """E20 detail: IncompleteBodyError says how much arrived and how much was expected."""
    run = run_client(by_id(CASES, "E20"))
    error = run.client.get_last_error()
    assert isinstance(error, IncompleteBodyError)
    assert (error.received, error.expected) == (2, 10)
