"""Every limit at its boundary, through HTTPClient and HTTPRequest (docs/limits.md).

For each limit: exactly at the limit passes, one more fails, with the default value and with
a small configured one. The rows use the conformance harness: a scripted server on 127.0.0.1
sends the exact bytes.
"""

from __future__ import annotations

import gzip
from typing import Any

import pytest

from pollhttp import Error, HTTPClient, HTTPRequest, InvalidParameterError, Limits, Result
from pollhttp._download import Download

from ..support.servers import Read, ScriptedServer, Send
from .common import FAILED, head, ok, over_limit, serve, serve_and_close, success, truncated
from .harness import RequestExpect, case, complete, make_request, run_case

OK = "HTTP/1.1 200 OK"
CL2 = "Content-Length: 2"
DEFAULT = Limits()


def head_of_size(size: int) -> bytes:
    """A response whose head (status line to blank line) is exactly ``size`` bytes; body "hi"."""
    base = head(OK, CL2, "X-Pad: ")
    pad = size - len(base)
    assert pad >= 0
    return head(OK, CL2, "X-Pad: " + "p" * pad, body=b"hi")


def with_headers(count: int) -> bytes:
    """A response with exactly ``count`` header lines (Content-Length included)."""
    return head(OK, CL2, *[f"X-{i}: v" for i in range(count - 1)], body=b"hi")


def chunk_line_of(size: int) -> bytes:
    """A chunked body whose first chunk-size line (CRLF included) is ``size`` bytes."""
    line = b"2;e=" + b"x" * (size - 6) + b"\r\n"
    assert len(line) == size
    return head(OK, "Transfer-Encoding: chunked", body=line + b"hi\r\n0\r\n\r\n")


def trailer_of(size: int) -> bytes:
    """A chunked body whose trailer section (fields and blank line) is ``size`` bytes."""
    base = b"X-T: \r\n\r\n"
    section = b"X-T: " + b"t" * (size - len(base)) + b"\r\n\r\n"
    assert len(section) == size
    return head(OK, "Transfer-Encoding: chunked", body=b"2\r\nhi\r\n0\r\n" + section)


def interim(count: int) -> bytes:
    return b"HTTP/1.1 103 Early Hints\r\n\r\n" * count + head(OK, CL2, body=b"hi")


def chunk_of(size_hex: str, data: bytes) -> bytes:
    return head(
        OK, "Transfer-Encoding: chunked", body=size_hex.encode() + b"\r\n" + data + b"\r\n0\r\n\r\n"
    )


def codings(count: int) -> bytes:
    data = b"coded"
    for _ in range(count):
        data = gzip.compress(data)
    value = ", ".join(["gzip"] * count)
    return head(OK, f"Content-Encoding: {value}", f"Content-Length: {len(data)}", body=data)


def raw_body(count: int) -> bytes:
    """The body bytes as sent, for HTTPClient (which does not decode)."""
    return codings(count).split(b"\r\n\r\n", 1)[1]


SMALL = Limits(
    max_head_bytes=512,
    max_headers=5,
    max_chunk_line_bytes=64,
    max_chunk_size=1024,
    max_trailer_bytes=128,
    max_informational=2,
)

CASES = [
    # -- max_head_bytes ---------------------------------------------------------------------------
    case(
        "L-head",
        "head of exactly 65536 bytes",
        serve(head_of_size(65536)),
        client=ok(b"hi"),
        request=success(b"hi"),
    ),
    case(
        "L-head+1",
        "head of 65537 bytes",
        serve(head_of_size(65537)),
        client=over_limit("response head larger than 65536 bytes"),
        request=FAILED,
    ),
    case(
        "L-head-small",
        "head of exactly 512 bytes",
        serve(head_of_size(512)),
        client=ok(b"hi"),
        request=success(b"hi"),
        limits=SMALL,
    ),
    case(
        "L-head-small+1",
        "head of 513 bytes",
        serve(head_of_size(513)),
        client=over_limit("response head larger than 512 bytes"),
        request=FAILED,
        limits=SMALL,
    ),
    # -- max_headers ------------------------------------------------------------------------------
    case(
        "L-headers",
        "exactly 100 header lines",
        serve(with_headers(100)),
        client=ok(b"hi"),
        request=success(b"hi"),
    ),
    case(
        "L-headers+1",
        "101 header lines",
        serve(with_headers(101)),
        client=over_limit("more than 100 header fields"),
        request=FAILED,
    ),
    case(
        "L-headers-small",
        "exactly 5 header lines",
        serve(with_headers(5)),
        client=ok(b"hi"),
        request=success(b"hi"),
        limits=SMALL,
    ),
    case(
        "L-headers-small+1",
        "6 header lines",
        serve(with_headers(6)),
        client=over_limit("more than 5 header fields"),
        request=FAILED,
        limits=SMALL,
    ),
    # -- max_chunk_line_bytes (chunk size and extensions) -----------------------------------------
    case(
        "L-chunkline",
        "chunk line of exactly 4096 bytes",
        serve(chunk_line_of(4096)),
        client=ok(b"hi"),
        request=success(b"hi"),
    ),
    case(
        "L-chunkline+1",
        "chunk line of 4097 bytes",
        serve(chunk_line_of(4097)),
        client=over_limit("chunk size line longer than 4096 bytes", code=200),
        request=FAILED,
    ),
    case(
        "L-chunkline-small",
        "chunk line of exactly 64 bytes",
        serve(chunk_line_of(64)),
        client=ok(b"hi"),
        request=success(b"hi"),
        limits=SMALL,
    ),
    case(
        "L-chunkline-small+1",
        "chunk line of 65 bytes",
        serve(chunk_line_of(65)),
        client=over_limit("chunk size line longer than 64 bytes", code=200),
        request=FAILED,
        limits=SMALL,
    ),
    # -- max_chunk_size ---------------------------------------------------------------------------
    case(
        "L-chunk-small",
        "chunk of exactly 1024 bytes",
        serve(chunk_of("400", b"c" * 1024)),
        client=ok(b"c" * 1024),
        request=success(b"c" * 1024),
        limits=SMALL,
    ),
    case(
        "L-chunk-small+1",
        "chunk of 1025 bytes",
        serve(chunk_of("401", b"c" * 1025)),
        client=over_limit("chunk of 1025 bytes exceeds the limit of 1024", code=200),
        request=FAILED,
        limits=SMALL,
    ),
    case(
        "L-chunk",
        "chunk size 2**63-1 is accepted (then cut short)",
        serve_and_close(chunk_of("7fffffffffffffff", b"hi")[:-7]),
        client=truncated("before the end of the chunked body", b"hi", code=200),
        request=FAILED,
    ),
    case(
        "L-chunk+1",
        "chunk size 2**63 over the default",
        serve(chunk_of("8000000000000000", b"")),
        client=over_limit("exceeds the limit of 9223372036854775807", code=200),
        request=FAILED,
    ),
    # -- max_trailer_bytes ------------------------------------------------------------------------
    case(
        "L-trailer",
        "trailer section of exactly 65536 bytes",
        serve(trailer_of(65536)),
        client=ok(b"hi"),
        request=success(b"hi"),
    ),
    case(
        "L-trailer+1",
        "trailer section of 65537 bytes",
        serve(trailer_of(65537)),
        client=over_limit("trailer section larger than 65536 bytes", code=200, body=b"hi"),
        request=FAILED,
    ),
    case(
        "L-trailer-small",
        "trailer section of exactly 128 bytes",
        serve(trailer_of(128)),
        client=ok(b"hi"),
        request=success(b"hi"),
        limits=SMALL,
    ),
    case(
        "L-trailer-small+1",
        "trailer section of 129 bytes",
        serve(trailer_of(129)),
        client=over_limit("trailer section larger than 128 bytes", code=200, body=b"hi"),
        request=FAILED,
        limits=SMALL,
    ),
    # -- max_informational ------------------------------------------------------------------------
    case(
        "L-interim",
        "exactly 32 interim responses",
        serve(interim(32)),
        client=ok(b"hi"),
        request=success(b"hi"),
    ),
    case(
        "L-interim+1",
        "33 interim responses",
        serve(interim(33)),
        client=over_limit("more than 32 interim (1xx) responses"),
        request=FAILED,
    ),
    case(
        "L-interim-small",
        "exactly 2 interim responses",
        serve(interim(2)),
        client=ok(b"hi"),
        request=success(b"hi"),
        limits=SMALL,
    ),
    case(
        "L-interim-small+1",
        "3 interim responses",
        serve(interim(3)),
        client=over_limit("more than 2 interim (1xx) responses"),
        request=FAILED,
        limits=SMALL,
    ),
    # -- content-coding chain (MAX_CODINGS, HTTPRequest only decodes) -----------------------------
    case(
        "L-codings",
        "chain of exactly 5 codings",
        serve(codings(5)),
        client=ok(raw_body(5)),
        request=success(b"coded"),
    ),
    case(
        "L-codings+1",
        "chain of 6 codings",
        serve(codings(6)),
        client=ok(raw_body(6)),
        request=RequestExpect(Result.RESULT_BODY_DECOMPRESS_FAILED, 200),
    ),
    # -- read_chunk_size / download_chunk_size: bytes per read ------------------------------------
    case(
        "L-read",
        "body of exactly read_chunk_size in one read",
        serve(head(OK, "Content-Length: 256", body=b"r" * 256)),
        client=ok(b"r" * 256, check=lambda run: _reads(run, [256])),
        request=success(b"r" * 256),
        chunk_size=256,
    ),
    case(
        "L-read+1",
        "body of read_chunk_size+1 in two reads",
        serve(head(OK, "Content-Length: 257", body=b"r" * 257)),
        client=ok(b"r" * 257, check=lambda run: _reads(run, [256, 1])),
        request=success(b"r" * 257),
        chunk_size=256,
    ),
    # -- body_size_limit (HTTPRequest) ------------------------------------------------------------
    case(
        "L-body",
        "body of exactly body_size_limit",
        serve(head(OK, "Content-Length: 100", body=b"b" * 100)),
        client=None,
        request=success(b"b" * 100),
        request_attrs={"body_size_limit": 100},
    ),
    case(
        "L-body+1",
        "body of body_size_limit+1 declared",
        serve(head(OK, "Content-Length: 101", body=b"b" * 101)),
        client=None,
        request=RequestExpect(Result.RESULT_BODY_SIZE_LIMIT_EXCEEDED, 200),
        request_attrs={"body_size_limit": 100},
    ),
    case(
        "L-body-chunked",
        "chunked body of exactly body_size_limit",
        serve(chunk_of("64", b"b" * 100)),
        client=None,
        request=success(b"b" * 100),
        request_attrs={"body_size_limit": 100},
    ),
    case(
        "L-body-chunked+1",
        "chunked body of body_size_limit+1",
        serve(chunk_of("65", b"b" * 101)),
        client=None,
        request=RequestExpect(Result.RESULT_BODY_SIZE_LIMIT_EXCEEDED, 200),
        request_attrs={"body_size_limit": 100},
    ),
]


def _reads(run: Any, expected: list[int]) -> None:
    assert run.reads == expected


@pytest.mark.parametrize("case_", CASES)
def test_limit(case_) -> None:
    run_case(case_)


def test_limits_defaults_are_the_documented_ones() -> None:
    """docs/limits.md names these defaults; the dataclass must agree."""
    assert (
        Limits(
            max_head_bytes=65536,
            max_headers=100,
            max_chunk_line_bytes=4096,
            max_chunk_size=(1 << 63) - 1,
            max_trailer_bytes=65536,
            max_informational=32,
        )
        == DEFAULT
    )
    client = HTTPClient()
    assert client.limits == DEFAULT
    assert client.get_read_chunk_size() == 65536
    assert client.connect_timeout == 30.0
    req = HTTPRequest()
    assert (req.download_chunk_size, req.max_redirects, req.body_size_limit) == (65536, 8, -1)
    assert (req.timeout, req.stall_timeout) == (0.0, 0.0)
    assert (req.poll_time_budget, req.poll_byte_budget) == (0.004, 8 * 1024 * 1024)
    req.close()
    client.close()


@pytest.mark.parametrize(
    ("size", "accepted"),
    [(256, True), (255, False), (16 * 1024 * 1024, True), (16 * 1024 * 1024 + 1, False)],
)
def test_read_chunk_size_bounds(size: int, accepted: bool) -> None:
    client = HTTPClient()
    client.set_read_chunk_size(1024)
    client.set_read_chunk_size(size)
    assert client.get_read_chunk_size() == (size if accepted else 1024)
    req = HTTPRequest()
    req.download_chunk_size = 1024
    if accepted:
        req.download_chunk_size = size
    else:
        # Godot ignores it with an error print; pollhttp refuses it at the assignment.
        with pytest.raises(InvalidParameterError, match="download_chunk_size"):
            req.download_chunk_size = size
    assert req.download_chunk_size == (size if accepted else 1024)
    req.close()


@pytest.mark.parametrize(
    ("decoded", "pieces"),
    [
        pytest.param(1024, [1024], id="L-decoded-exactly-download_chunk_size"),
        pytest.param(1025, [1024, 1], id="L-decoded+1"),
        pytest.param(4 * 1024, [1024] * 4, id="L-decoded-4x"),
    ],
)
def test_decoded_bytes_per_step(tmp_path, monkeypatch, decoded: int, pieces: list[int]) -> None:
    """Each decoded piece is at most download_chunk_size (a bomb never holds more)."""
    compressed = gzip.compress(b"\0" * decoded)
    data = head(OK, "Content-Encoding: gzip", f"Content-Length: {len(compressed)}", body=compressed)
    sizes: list[int] = []
    write = Download.write

    def recording(download: Download, piece: bytes) -> None:
        sizes.append(len(piece))
        write(download, piece)

    monkeypatch.setattr(Download, "write", recording)
    with ScriptedServer([serve(data)]) as server:
        run = make_request(download_chunk_size=1024, download_file=str(tmp_path / "out"))
        try:
            assert run.req.request(f"http://127.0.0.1:{server.port}/") == Error.OK
            result = complete(run)
        finally:
            run.req.close()
    assert result[0] == Result.RESULT_SUCCESS
    assert sizes == pieces
    assert (tmp_path / "out").read_bytes() == b"\0" * decoded


# -- redirect count -------------------------------------------------------------------------------


def hops(count: int) -> list:
    steps: list = []
    for i in range(count):
        steps += [
            Read(),
            Send(head("HTTP/1.1 302 Found", f"Location: /hop{i + 1}", "Content-Length: 0")),
        ]
    return [*steps, Read(), Send(head(OK, "Content-Length: 5", body=b"final"))]


@pytest.mark.parametrize(
    ("max_redirects", "count", "expected"),
    [
        pytest.param(8, 8, (Result.RESULT_SUCCESS, 200), id="L-redirects-default-8"),
        pytest.param(8, 9, (Result.RESULT_REDIRECT_LIMIT_REACHED, 302), id="L-redirects-default-9"),
        pytest.param(3, 3, (Result.RESULT_SUCCESS, 200), id="L-redirects-3"),
        pytest.param(3, 4, (Result.RESULT_REDIRECT_LIMIT_REACHED, 302), id="L-redirects-3+1"),
        pytest.param(-1, 20, (Result.RESULT_SUCCESS, 200), id="L-redirects-unlimited"),
        pytest.param(0, 1, (Result.RESULT_SUCCESS, 302), id="L-redirects-0-returns-the-3xx"),
    ],
)
def test_redirect_count(max_redirects: int, count: int, expected: tuple) -> None:
    with ScriptedServer([hops(count)]) as server:
        run = make_request(max_redirects=max_redirects)
        try:
            assert run.req.request(f"http://127.0.0.1:{server.port}/hop0") == Error.OK
            result = complete(run)
        finally:
            run.req.close()
    assert result[:2] == expected
    followed = min(count, max_redirects) if max_redirects >= 0 else count
    assert len(server.requests) == followed + 1
    assert server.connections == 1


# -- the drain limit for redirect bodies ----------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "connections"),
    [
        pytest.param(65536, 1, id="L-drain-64KiB-reuses"),
        pytest.param(65537, 2, id="L-drain+1-reconnects"),
    ],
)
def test_redirect_body_drain_limit(size: int, connections: int) -> None:
    moved = head(
        "HTTP/1.1 302 Found", "Location: /final", f"Content-Length: {size}", body=b"d" * size
    )
    final = head(OK, "Content-Length: 5", body=b"final")
    scripts = [[Read(), Send(moved), Read(), Send(final)], [Read(), Send(final)]]
    with ScriptedServer(scripts) as server:
        run = make_request()
        try:
            assert run.req.request(f"http://127.0.0.1:{server.port}/") == Error.OK
            result = complete(run)
        finally:
            run.req.close()
    assert result[:2] == (Result.RESULT_SUCCESS, 200)
    assert result[3] == b"final"
    assert server.connections == connections
