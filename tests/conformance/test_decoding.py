"""Conformance: content codings (ecosystem.md §3.3 cases 27-31, Godot §7.1.20).

HTTPClient never decodes: it hands the body over as sent, in reads of at most
``read_chunk_size``. HTTPRequest decodes gzip, deflate, br and zstd with bounded output, a
chain of at most 5 codings, and passes unknown codings through, named by
``get_body_encoding()``.
"""

from __future__ import annotations

import gzip
import time
import tracemalloc
import zlib

import pytest

from pollhttp import Error, Result, Status

from ..support.servers import Read, ScriptedServer, Send
from .common import head, ok, serve, serve_and_close, success
from .harness import (
    HEAD,
    SUCCESS,
    RequestExpect,
    RequestRun,
    case,
    complete,
    make_request,
    run_case,
)

OK = "HTTP/1.1 200 OK"
TEXT = b"decoded text " * 50
MiB = 1 << 20


def gzip_bomb(mebibytes: int) -> bytes:
    """``mebibytes`` MiB of zeros as gzip members of 1 MiB each (about 1 KiB per member)."""
    return gzip.compress(b"\0" * MiB, 9) * mebibytes


#: 1 GiB of zeros in about 1 MB (ecosystem.md §3.3 case 28).
BOMB = gzip_bomb(1024)
#: 48 MiB of zeros in about 50 KB: small enough for a redirect's body to be drained.
SMALL_BOMB = gzip_bomb(48)


def gzip_times(data: bytes, count: int) -> bytes:
    for _ in range(count):
        data = gzip.compress(data)
    return data


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-15)
    return compressor.compress(data) + compressor.flush()


def encoded(coding: str, body: bytes, *more: str) -> bytes:
    return head(OK, f"Content-Encoding: {coding}", *more, f"Content-Length: {len(body)}", body=body)


def decompress_failed(code: int = 200):
    return RequestExpect(Result.RESULT_BODY_DECOMPRESS_FAILED, code, b"", check=keeps_headers)


def keeps_headers(run: RequestRun) -> None:
    """Decoding failures carry the real code and headers (Godot's rule)."""
    assert any(line.lower().startswith("content-encoding:") for line in run.result[2])


def body_encoding_is(expected: str):
    def check(run: RequestRun) -> None:
        assert run.req.get_body_encoding() == expected

    return check


CASES = [
    # -- 27: chain length ------------------------------------------------------------------------
    case(
        "E27",
        "six codings in one Content-Encoding",
        serve(encoded("gzip, gzip, gzip, gzip, gzip, gzip", gzip_times(TEXT, 6))),
        client=ok(gzip_times(TEXT, 6)),
        request=decompress_failed(),
    ),
    case(
        "E27b",
        "six codings split across six header lines",
        serve(
            head(
                OK,
                *["Content-Encoding: gzip"] * 6,
                f"Content-Length: {len(gzip_times(TEXT, 6))}",
                body=gzip_times(TEXT, 6),
            )
        ),
        client=ok(gzip_times(TEXT, 6)),
        request=decompress_failed(),
    ),
    case(
        "E27c",
        "five codings split across two lines are decoded",
        serve(
            head(
                OK,
                "Content-Encoding: gzip, gzip",
                "Content-Encoding: gzip, gzip, gzip",
                f"Content-Length: {len(gzip_times(TEXT, 5))}",
                body=gzip_times(TEXT, 5),
            )
        ),
        client=ok(gzip_times(TEXT, 5)),
        request=success(TEXT),
    ),
    # -- 28: a gzip bomb --------------------------------------------------------------------------
    case(
        "E28",
        "1 GiB gzip bomb: raw reads of 64 KiB, decoding stopped by body_size_limit",
        serve(encoded("gzip", BOMB)),
        client=ok(BOMB),
        request=RequestExpect(Result.RESULT_BODY_SIZE_LIMIT_EXCEEDED, 200),
        request_attrs={"body_size_limit": 4 * MiB},
        timeout=20.0,
    ),
    # -- 29: redirect bodies are not decoded ------------------------------------------------------
    case(
        "E29",
        "redirect with a small bomb body: drained raw, the connection reused",
        [
            [
                Read(),
                Send(
                    head(
                        "HTTP/1.1 302 Found",
                        "Location: /final",
                        "Content-Encoding: gzip",
                        f"Content-Length: {len(SMALL_BOMB)}",
                        body=SMALL_BOMB,
                    )
                ),
                Read(),
                Send(head(OK, "Content-Length: 5", body=b"final")),
            ]
        ],
        client=ok(SMALL_BOMB, 302),
        request=success(b"final", check=lambda run: assert_connections(run, 1)),
    ),
    case(
        "E29b",
        "redirect with a large bomb body: not read at all, a new connection",
        [
            serve(
                head(
                    "HTTP/1.1 301 Moved Permanently",
                    "Location: /final",
                    "Content-Encoding: gzip",
                    f"Content-Length: {len(BOMB)}",
                    body=BOMB,
                )
            ),
            serve(head(OK, "Content-Length: 5", body=b"final")),
        ],
        client=None,
        request=success(b"final", check=lambda run: assert_connections(run, 2)),
    ),
    # -- 30: unknown codings pass through, flagged ------------------------------------------------
    case(
        "E30",
        "unknown coding is passed through raw and named",
        serve(encoded("x-unknown", b"opaque bytes")),
        client=ok(b"opaque bytes"),
        request=success(b"opaque bytes", check=body_encoding_is("x-unknown")),
    ),
    case(
        "E30b",
        "a chain with an unknown coding is passed through whole",
        serve(encoded("gzip, x-custom", b"opaque")),
        client=ok(b"opaque"),
        request=success(b"opaque", check=body_encoding_is("gzip, x-custom")),
    ),
    case(
        "E30c",
        "gzip when accept_gzip is off is passed through and named",
        serve(encoded("gzip", gzip.compress(TEXT))),
        client=ok(gzip.compress(TEXT)),
        request=success(gzip.compress(TEXT), check=body_encoding_is("gzip")),
        request_attrs={"accept_gzip": False},
    ),
    case(
        "E30d",
        "known codings are decoded and not named",
        serve(encoded("gzip", gzip.compress(TEXT))),
        client=ok(gzip.compress(TEXT)),
        request=success(TEXT, check=body_encoding_is("")),
    ),
    # -- 31: codings on empty bodies --------------------------------------------------------------
    case(
        "E31",
        "gzip with CL 0",
        serve(head(OK, "Content-Encoding: gzip", "Content-Length: 0")),
        client=ok(b""),
        request=success(b""),
    ),
    case(
        "E31b",
        "HEAD response with gzip and a CL",
        serve(head(OK, "Content-Encoding: gzip", "Content-Length: 20")),
        client=ok(b""),
        request=success(b""),
        method=HEAD,
    ),
    case(
        "E31c",
        "204 with gzip",
        serve(head("HTTP/1.1 204 No Content", "Content-Encoding: gzip")),
        client=ok(b"", 204),
        request=success(b"", 204),
    ),
    case(
        "E31d",
        "304 with gzip and a CL",
        serve(head("HTTP/1.1 304 Not Modified", "Content-Encoding: gzip", "Content-Length: 30")),
        client=ok(b"", 304),
        request=success(b"", 304),
    ),
    case(
        "E31e",
        "gzip on an empty chunked body",
        serve(head(OK, "Content-Encoding: gzip", "Transfer-Encoding: chunked", body=b"0\r\n\r\n")),
        client=ok(b""),
        request=success(b""),
    ),
    case(
        "E31f",
        "gzip on an empty close-delimited body",
        serve_and_close(head(OK, "Content-Encoding: gzip")),
        client=ok(b"", status=Status.STATUS_DISCONNECTED),
        request=success(b""),
    ),
    # -- Godot §7.1.20: decoders Godot lacks or gets stuck in -------------------------------------
    case(
        "G20",
        "raw deflate is decoded",
        serve(encoded("deflate", raw_deflate(TEXT))),
        client=ok(raw_deflate(TEXT)),
        request=success(TEXT),
    ),
    case(
        "G20b",
        "zlib-wrapped deflate is decoded",
        serve(encoded("deflate", zlib.compress(TEXT))),
        client=ok(zlib.compress(TEXT)),
        request=success(TEXT),
    ),
    case(
        "G20c",
        "garbage after the gzip member fails instead of spinning",
        serve(encoded("gzip", gzip.compress(TEXT) + b"trailing garbage")),
        client=ok(gzip.compress(TEXT) + b"trailing garbage"),
        request=decompress_failed(),
    ),
    case(
        "G20d",
        "zero padding after the gzip member is accepted",
        serve(encoded("gzip", gzip.compress(TEXT) + b"\0" * 16)),
        client=ok(gzip.compress(TEXT) + b"\0" * 16),
        request=success(TEXT),
    ),
    case(
        "G20e",
        "download_chunk_size 256 still finishes a gzip body",
        serve(encoded("gzip", gzip.compress(bytes(range(256)) * 40))),
        client=ok(gzip.compress(bytes(range(256)) * 40)),
        request=success(bytes(range(256)) * 40),
        chunk_size=256,
    ),
    case(
        "G20f",
        "gzip body cut inside its stream",
        serve(encoded("gzip", gzip.compress(TEXT)[:-6])),
        client=ok(gzip.compress(TEXT)[:-6]),
        request=decompress_failed(),
    ),
]


def assert_connections(run: RequestRun, count: int) -> None:
    assert run.server is not None
    assert run.server.connections == count


@pytest.mark.parametrize("case_", CASES)
def test_decoding(case_) -> None:
    run_case(case_)


def test_E28_bomb_memory_stays_bounded() -> None:
    """E28: decoding a 1 GiB bomb up to a 4 MiB body_size_limit peaks at a few MiB."""
    with ScriptedServer([serve(encoded("gzip", BOMB))]) as server:
        run = make_request(body_size_limit=4 * MiB)
        try:
            tracemalloc.start()
            try:
                assert run.req.request(f"http://127.0.0.1:{server.port}/") == Error.OK
                result = complete(run, 20.0)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        finally:
            run.req.close()
    assert result[0] == Result.RESULT_BODY_SIZE_LIMIT_EXCEEDED
    # The 4 MiB of decoded body is held (the limit), plus about a read and a piece.
    assert peak < 4 * MiB + 2 * MiB, peak


def test_E29c_cancel_during_a_bomb_returns_at_once() -> None:
    """E29c: cancelling while a bomb is being decoded never decodes the rest."""
    with ScriptedServer([serve(encoded("gzip", BOMB))]) as server:
        run = make_request()
        try:
            assert run.req.request(f"http://127.0.0.1:{server.port}/") == Error.OK
            deadline = time.monotonic() + 5.0
            while run.req.get_downloaded_bytes() == 0:
                assert time.monotonic() < deadline
                run.req.poll()
                run.req.wait(0.05)
            started = time.perf_counter()
            run.req.cancel_request()
            assert time.perf_counter() - started < 0.05
            assert run.req.poll() == Error.ERR_UNCONFIGURED
        finally:
            run.req.close()
    assert run.completions == []


def test_G20g_brotli_and_zstd() -> None:
    brotli = pytest.importorskip("brotli")
    zstandard = pytest.importorskip("zstandard")
    for coding, body in (
        ("br", brotli.compress(TEXT)),
        ("zstd", zstandard.ZstdCompressor().compress(TEXT)),
        (
            "gzip, br, zstd",
            zstandard.ZstdCompressor().compress(brotli.compress(gzip.compress(TEXT))),
        ),
    ):
        with ScriptedServer([serve(encoded(coding, body))]) as server:
            run = make_request()
            try:
                assert run.req.request(f"http://127.0.0.1:{server.port}/") == Error.OK
                result, code, _headers, decoded = complete(run)
            finally:
                run.req.close()
        assert (result, code, decoded) == (SUCCESS, 200, TEXT), coding
