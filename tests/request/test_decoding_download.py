"""HTTPRequest end to end over real sockets: content decoding, body limits, download files."""

from __future__ import annotations

import contextlib
import gc
import gzip
import importlib
import mmap
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pollhttp import Error, HTTPRequest, Method, Result

from ..protocol.test_decoding import gzip_bomb
from ..support.nginx import NginxServer, find_nginx, pattern
from ..support.servers import Close, Pause, Read, ScriptedServer, Send, response

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30


def _optional(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


brotli = _optional("brotli")
zstandard = _optional("zstandard")


# -- driving an HTTPRequest ----------------------------------------------------------------


@dataclass
class Run:
    """An HTTPRequest with everything it emitted, and a bounded way to drive it."""

    req: HTTPRequest
    completions: list[tuple[Result, int, list[str], bytes]] = field(default_factory=list)
    progress: list[tuple[int, int]] = field(default_factory=list)
    on_progress: Callable[[int, int], None] | None = None

    def __post_init__(self) -> None:
        self.req.request_completed.connect(lambda *args: self.completions.append(args))
        self.req.download_progress.connect(self._progress)

    def _progress(self, downloaded: int, total: int) -> None:
        self.progress.append((downloaded, total))
        if self.on_progress is not None:
            self.on_progress(downloaded, total)

    def start(
        self, url: str, headers: Sequence[str] = (), method: Method = Method.METHOD_GET
    ) -> None:
        assert self.req.request(url, headers, method) == Error.OK

    def until(self, done: Callable[[], bool], timeout: float = 5.0) -> None:
        """poll() + wait() until ``done()``; fails at the deadline."""
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out; client status {self.req.get_http_client_status().name}, "
                    f"last error {self.req.get_last_error()!r}"
                )
            self.req.poll()
            if not done():
                self.req.wait(0.05)

    def finish(self, timeout: float = 5.0) -> Completion:
        count = len(self.completions)
        self.until(lambda: len(self.completions) > count, timeout)
        assert len(self.completions) == count + 1
        return Completion(*self.completions[-1])

    def fetch(
        self,
        url: str,
        headers: Sequence[str] = (),
        method: Method = Method.METHOD_GET,
        timeout: float = 5.0,
    ) -> Completion:
        self.start(url, headers, method)
        return self.finish(timeout)


@dataclass
class Completion:
    result: Result
    code: int
    headers: list[str]
    body: bytes

    def header(self, name: str) -> list[str]:
        return [
            value.strip()
            for line in self.headers
            for key, _, value in [line.partition(":")]
            if key.strip().lower() == name.lower()
        ]


@pytest.fixture
def new_request() -> Iterator[Callable[..., Run]]:
    """``new_request(**attributes)``: a Run; its connection is closed after the test."""
    made: list[HTTPRequest] = []

    def build(**attributes: Any) -> Run:
        req = HTTPRequest()
        for name, value in attributes.items():
            setattr(req, name, value)
        made.append(req)
        return Run(req)

    yield build
    for req in made:
        req.close()


def url(server: ScriptedServer | NginxServer, path: str = "/file") -> str:
    return f"http://127.0.0.1:{server.port}{path}"


def request_headers(raw: bytes) -> dict[str, str]:
    lines = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
    return {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}


def chunked(*chunks: bytes, headers: Sequence[str] = ()) -> bytes:
    head = "\r\n".join(["HTTP/1.1 200 OK", "Transfer-Encoding: chunked", *headers]) + "\r\n\r\n"
    return head.encode() + b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks)


def body_text() -> bytes:
    return b"".join(f"{i:05d} some text that compresses well\n".encode() for i in range(3000))


def raw_deflate(data: bytes) -> bytes:
    obj = zlib.compressobj(9, zlib.DEFLATED, -15)
    return obj.compress(data) + obj.flush()


def _br(data: bytes) -> bytes:
    assert brotli is not None
    return brotli.compress(data, quality=5)


def _zstd(data: bytes) -> bytes:
    assert zstandard is not None
    return zstandard.ZstdCompressor().compress(data)


needs_brotli = pytest.mark.skipif(brotli is None, reason="brotli is not installed")
needs_zstd = pytest.mark.skipif(zstandard is None, reason="zstandard is not installed")


# -- decoding from a scripted server ----------------------------------------------------------


CODINGS = [
    pytest.param(["Content-Encoding: gzip"], lambda d: gzip.compress(d, mtime=0), id="gzip"),
    pytest.param(["Content-Encoding: x-gzip"], lambda d: gzip.compress(d, mtime=0), id="x-gzip"),
    pytest.param(["Content-Encoding: deflate"], zlib.compress, id="deflate"),
    pytest.param(["Content-Encoding: deflate"], raw_deflate, id="deflate-raw"),
    pytest.param(["Content-Encoding: br"], _br, id="br", marks=needs_brotli),
    pytest.param(["Content-Encoding: zstd"], _zstd, id="zstd", marks=needs_zstd),
    pytest.param(
        ["Content-Encoding: gzip, br"],
        lambda d: _br(gzip.compress(d, mtime=0)),
        id="gzip,br",
        marks=needs_brotli,
    ),
    pytest.param(
        ["Content-Encoding: gzip", "Content-Encoding: br"],
        lambda d: _br(gzip.compress(d, mtime=0)),
        id="gzip+br-two-fields",
        marks=needs_brotli,
    ),
    pytest.param(
        ["Content-Encoding: Identity, GZIP"],
        lambda d: gzip.compress(d, mtime=0),
        id="identity,GZIP",
    ),
]


@pytest.mark.parametrize(("headers", "encoder"), CODINGS)
def test_decoded_from_a_content_length_body(new_request, headers, encoder):
    data = body_text()
    with ScriptedServer([[Read(), Send(response("200 OK", headers, encoder(data)))]]) as server:
        run = new_request(download_chunk_size=4096)
        done = run.fetch(url(server))
    assert (done.result, done.code, done.body) == (Result.RESULT_SUCCESS, 200, data)
    assert [h for h in done.headers if h.lower().startswith("content-encoding")] == headers
    assert run.req.get_body_encoding() == ""
    assert request_headers(server.requests[0])["accept-encoding"] == "gzip, deflate, br, zstd"


@pytest.mark.parametrize(("headers", "encoder"), CODINGS)
def test_decoded_from_a_chunked_body(new_request, headers, encoder):
    data = body_text()
    blob = encoder(data)
    pieces = [blob[i : i + 777] for i in range(0, len(blob), 777)]
    script = [Read(), Send(chunked(*pieces, b"", headers=headers))]
    with ScriptedServer([script]) as server:
        done = new_request().fetch(url(server))
    assert (done.result, done.code, done.body) == (Result.RESULT_SUCCESS, 200, data)


def test_decoded_from_a_close_delimited_body(new_request):
    data = body_text()
    head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n"
    with ScriptedServer([[Read(), Send(head + gzip.compress(data)), Close()]]) as server:
        done = new_request().fetch(url(server))
    assert (done.result, done.body) == (Result.RESULT_SUCCESS, data)


def test_accept_gzip_false_delivers_the_body_as_sent(new_request):
    data = body_text()
    blob = gzip.compress(data, mtime=0)
    with ScriptedServer(
        [[Read(), Send(response(headers=["Content-Encoding: gzip"], body=blob))]]
    ) as (server):
        run = new_request(accept_gzip=False)
        done = run.fetch(url(server))
    assert (done.result, done.code, done.body) == (Result.RESULT_SUCCESS, 200, blob)
    assert done.header("content-encoding") == ["gzip"]
    assert run.req.get_body_encoding() == "gzip"
    assert "accept-encoding" not in request_headers(server.requests[0])


def test_a_callers_accept_encoding_is_kept_alone(new_request):
    with ScriptedServer([[Read(), Send(response(body=b"plain"))]]) as server:
        done = new_request().fetch(url(server), ["Accept-Encoding: identity"])
    assert done.body == b"plain"
    head = server.requests[0].split(b"\r\n\r\n")[0].lower()
    assert head.count(b"accept-encoding:") == 1
    assert b"accept-encoding: identity" in head


@pytest.mark.parametrize(
    ("value", "named"),
    [("compress", "compress"), ("x-foo", "x-foo"), ("gzip, x-foo", "gzip, x-foo")],
)
def test_unknown_coding_passes_the_body_through(new_request, value, named):
    blob = b"\x1f\x9d\x90 not decodable by us \x00\xff"
    with ScriptedServer(
        [[Read(), Send(response(headers=[f"Content-Encoding: {value}"], body=blob))]]
    ) as (server):
        run = new_request()
        done = run.fetch(url(server))
    assert (done.result, done.code, done.body) == (Result.RESULT_SUCCESS, 200, blob)
    assert run.req.get_body_encoding() == named
    assert done.header("content-encoding") == [value]


@pytest.mark.parametrize(
    "blob",
    [
        pytest.param(b"this is not gzip at all, just text\n" * 10, id="not-gzip"),
        pytest.param(
            bytes(gzip.compress(b"abc" * 1000, mtime=0)[:-8])
            + b"\x00\x00\x00\x00"
            + gzip.compress(b"abc" * 1000, mtime=0)[-4:],
            id="bad-crc",
        ),
        pytest.param(gzip.compress(b"abc" * 1000, mtime=0) + b"junk", id="trailing-junk"),
    ],
)
def test_corrupt_gzip_fails_with_the_real_code_and_headers(new_request, blob):
    head = ["Content-Encoding: gzip", "X-Marker: kept"]
    with ScriptedServer([[Read(), Send(response("203 Fine", head, blob))]]) as server:
        run = new_request()
        done = run.fetch(url(server))
    assert done.result == Result.RESULT_BODY_DECOMPRESS_FAILED
    assert done.code == 203
    assert done.header("x-marker") == ["kept"]
    assert done.body == b""
    assert type(run.req.get_last_error()).__name__ == "ContentDecodingError"


def test_truncated_gzip_with_a_correct_content_length_fails(new_request):
    blob = gzip.compress(body_text(), mtime=0)
    cut = blob[: len(blob) // 2]
    with ScriptedServer(
        [[Read(), Send(response(headers=["Content-Encoding: gzip"], body=cut))]]
    ) as (server):
        done = new_request().fetch(url(server))
    assert (done.result, done.code) == (Result.RESULT_BODY_DECOMPRESS_FAILED, 200)
    assert done.header("content-encoding") == ["gzip"]


@pytest.mark.parametrize(
    ("status", "method", "extra"),
    [
        ("304 Not Modified", Method.METHOD_GET, ['ETag: "v1"']),
        ("204 No Content", Method.METHOD_GET, []),
        ("200 OK", Method.METHOD_HEAD, ["Content-Length: 1234"]),
    ],
)
def test_a_response_without_a_body_needs_no_decoding(new_request, status, method, extra):
    """No body, nothing to decode: Content-Encoding on a 304/204/HEAD is not an error."""
    head = ["Content-Encoding: gzip", *extra]
    with ScriptedServer([[Read(), Send(response(status, head, length=False))]]) as server:
        done = new_request().fetch(url(server), ['If-None-Match: "v1"'], method)
    assert (done.result, done.code, done.body) == (
        Result.RESULT_SUCCESS,
        int(status[:3]),
        b"",
    )


def test_decoded_body_goes_to_the_download_file(new_request, tmp_path):
    data = body_text()
    target = tmp_path / "decoded.txt"
    blob = gzip.compress(data)
    with ScriptedServer(
        [[Read(), Send(response(headers=["Content-Encoding: gzip"], body=blob))]]
    ) as (server):
        run = new_request(download_file=str(target))
        done = run.fetch(url(server))
    assert (done.result, done.body) == (Result.RESULT_SUCCESS, b"")
    assert target.read_bytes() == data
    assert run.req.get_downloaded_bytes() == len(blob)  # wire bytes


# -- nginx --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Files:
    server: NginxServer
    text: bytes  # /text.txt (text/plain; /gzip/text.txt is gzipped on request)
    data: bytes  # /data.bin, the byte pattern


@pytest.fixture(scope="module")
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Files]:
    binary = find_nginx()
    server = NginxServer(tmp_path_factory.mktemp("nginx-decoding"), binary)
    files = Files(server, body_text() * 2, pattern(0, 300_001))
    server.write_file("text.txt", files.text)
    server.write_file("data.bin", files.data)
    with server:
        yield files


@pytest.mark.nginx
def test_nginx_gzip_is_decoded(new_request, nginx):
    run = new_request()
    done = run.fetch(url(nginx.server, "/gzip/text.txt?t=gz"))
    assert (done.result, done.code) == (Result.RESULT_SUCCESS, 200)
    assert done.header("content-encoding") == ["gzip"]
    assert done.body == nginx.text
    assert run.req.get_downloaded_bytes() < len(nginx.text) // 2  # it really came compressed
    assert run.req.get_body_encoding() == ""


@pytest.mark.nginx
def test_nginx_without_accept_gzip_sends_identity(new_request, nginx):
    run = new_request(accept_gzip=False)
    done = run.fetch(url(nginx.server, "/gzip/text.txt?t=plain"))
    assert (done.result, done.body) == (Result.RESULT_SUCCESS, nginx.text)
    assert done.header("content-encoding") == []


@pytest.mark.nginx
def test_nginx_gzip_to_a_download_file(new_request, nginx, tmp_path):
    target = tmp_path / "text.txt"
    run = new_request(download_file=str(target), download_chunk_size=1024)
    done = run.fetch(url(nginx.server, "/gzip/text.txt?t=gzfile"))
    assert (done.result, done.body) == (Result.RESULT_SUCCESS, b"")
    assert target.read_bytes() == nginx.text


# -- body_size_limit and the gzip bomb -----------------------------------------------------------


def _status_kib(name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise LookupError(name)


@contextlib.contextmanager
def peak_rss_growth() -> Iterator[list[int]]:
    """Yields a list that receives the peak RSS growth (bytes) of the block.

    Writing 5 to /proc/self/clear_refs resets VmHWM (the peak RSS) to the current RSS.
    """
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")
        before = _status_kib("VmRSS")
        if _status_kib("VmHWM") > before + 1024:
            pytest.skip("VmHWM cannot be reset here")
    except (OSError, LookupError):
        pytest.skip("needs Linux /proc/self/status and clear_refs")
    box: list[int] = []
    yield box
    box.append((_status_kib("VmHWM") - before) * KiB)


def test_peak_rss_probe_sees_a_large_allocation():
    """The instrument works: 64 MiB touched inside the block shows up."""
    with peak_rss_growth() as growth, mmap.mmap(-1, 64 * MiB) as block:
        # Fresh pages from the kernel, touched: the allocator cannot hand back pages that
        # were already resident (glibc raises its mmap threshold after large frees).
        for offset in range(0, len(block), 4096):
            block[offset] = 1
    assert growth[0] > 60 * MiB


def _bomb_server() -> ScriptedServer:
    bomb = gzip_bomb()
    return ScriptedServer([[Read(), Send(response(headers=["Content-Encoding: gzip"], body=bomb))]])


def test_gzip_bomb_stops_at_the_body_size_limit(new_request):
    bomb = gzip_bomb()
    run = new_request(body_size_limit=10 * MiB)
    with _bomb_server() as server, peak_rss_growth() as growth:
        done = run.fetch(url(server), timeout=10.0)
    assert done.result == Result.RESULT_BODY_SIZE_LIMIT_EXCEEDED
    assert done.code == 200
    assert done.header("content-encoding") == ["gzip"]
    assert done.body == b""
    assert run.req.get_body_size() == len(bomb)
    assert run.req.get_downloaded_bytes() < len(bomb) // 2
    assert growth[0] < 50 * MiB, f"peak RSS grew by {growth[0] / MiB:.1f} MiB"


def test_gzip_bomb_to_a_download_file_stops_at_the_limit(new_request, tmp_path):
    target = tmp_path / "bomb.bin"
    run = new_request(body_size_limit=10 * MiB, download_file=str(target))
    with _bomb_server() as server, peak_rss_growth() as growth:
        done = run.fetch(url(server), timeout=10.0)
    assert (done.result, done.code) == (Result.RESULT_BODY_SIZE_LIMIT_EXCEEDED, 200)
    assert not target.exists()
    assert not Path(f"{target}.part").exists()
    assert list(tmp_path.iterdir()) == []
    assert growth[0] < 50 * MiB, f"peak RSS grew by {growth[0] / MiB:.1f} MiB"


def test_limit_counts_decoded_bytes(new_request):
    data = bytes(64 * KiB)  # compresses to a few hundred bytes
    blob = gzip.compress(data)
    script = [[Read(), Send(response(headers=["Content-Encoding: gzip"], body=blob))]]
    with ScriptedServer(script * 2) as server:
        run = new_request(body_size_limit=len(data) - 1)
        assert run.fetch(url(server)).result == Result.RESULT_BODY_SIZE_LIMIT_EXCEEDED
        run.req.body_size_limit = len(data)
        done = run.fetch(url(server))
    assert (done.result, done.body) == (Result.RESULT_SUCCESS, data)


def test_content_length_over_the_limit_fails_at_once(new_request):
    head = response("200 OK", ["Content-Length: 1048576", "X-Marker: yes"], length=False)
    # The server sends only a little of the body, then goes silent: only the head can decide.
    with ScriptedServer([[Read(), Send(head + b"x" * 10), Pause(30)]]) as server:
        run = new_request(body_size_limit=1000)
        done = run.fetch(url(server), timeout=3.0)
    assert (done.result, done.code) == (Result.RESULT_BODY_SIZE_LIMIT_EXCEEDED, 200)
    assert done.header("x-marker") == ["yes"]
    assert done.body == b""


def test_content_length_over_the_limit_with_a_download_file(new_request, tmp_path):
    head = response("200 OK", ["Content-Length: 1048576"], length=False)
    with ScriptedServer([[Read(), Send(head + b"x" * 10), Pause(30)]]) as server:
        run = new_request(body_size_limit=1000, download_file=str(tmp_path / "big.bin"))
        done = run.fetch(url(server), timeout=3.0)
    assert (done.result, done.code) == (Result.RESULT_BODY_SIZE_LIMIT_EXCEEDED, 200)
    assert list(tmp_path.iterdir()) == []


def test_content_length_at_the_limit_is_fine(new_request):
    with ScriptedServer([[Read(), Send(response(body=b"y" * 1000))]]) as server:
        done = new_request(body_size_limit=1000).fetch(url(server))
    assert (done.result, done.body) == (Result.RESULT_SUCCESS, b"y" * 1000)


def test_chunked_body_growing_past_the_limit(new_request):
    start = chunked(*([b"z" * 1000] * 5), headers=["X-Marker: chunked"])
    with ScriptedServer([[Read(), Send(start), Pause(30)]]) as server:
        run = new_request(body_size_limit=3000)
        done = run.fetch(url(server), timeout=3.0)
    assert (done.result, done.code) == (Result.RESULT_BODY_SIZE_LIMIT_EXCEEDED, 200)
    assert done.header("x-marker") == ["chunked"]


# -- download_file ---------------------------------------------------------------------------


def _download_data() -> bytes:
    return pattern(0, 200_003)


def test_download_goes_through_a_part_file(new_request, tmp_path):
    data = _download_data()
    half = len(data) // 2
    target = tmp_path / "out.bin"
    part = Path(f"{target}.part")
    head = response(headers=[f"Content-Length: {len(data)}"], length=False)
    seen: list[tuple[int, int, bool, bool]] = []
    script = [Read(), Send(head + data[:half]), Pause(0.2), Send(data[half:])]
    with ScriptedServer([script]) as server:
        run = new_request(download_file=str(target))
        run.on_progress = lambda d, t: seen.append((d, t, part.exists(), target.exists()))
        done = run.fetch(url(server))
    assert (done.result, done.code, done.body) == (Result.RESULT_SUCCESS, 200, b"")
    during = [entry for entry in seen if entry[0] < len(data)]
    assert during, f"no progress while the transfer ran: {seen}"
    assert all(has_part and not has_target for _, _, has_part, has_target in during), during
    assert seen[-1][:2] == (len(data), len(data))
    assert target.read_bytes() == data
    assert not part.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_download_replaces_an_existing_file(new_request, tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old content that is longer than the new one" * 100)
    with ScriptedServer([[Read(), Send(response(body=b"new"))]]) as server:
        done = new_request(download_file=str(target)).fetch(url(server))
    assert done.result == Result.RESULT_SUCCESS
    assert target.read_bytes() == b"new"


def test_download_after_a_redirect_holds_only_the_final_body(new_request, tmp_path):
    target = tmp_path / "out.bin"
    moved = response("302 Found", ["Location: /final"], b"redirect page")
    script = [Read(), Send(moved), Read(), Send(response(body=b"final body"))]
    with ScriptedServer([script]) as server:
        done = new_request(download_file=str(target)).fetch(url(server))
    assert (done.result, done.code) == (Result.RESULT_SUCCESS, 200)
    assert target.read_bytes() == b"final body"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]
    assert len(server.requests) == 2


def test_download_cut_short_leaves_nothing(new_request, tmp_path):
    data = _download_data()
    target = tmp_path / "out.bin"
    head = response(headers=[f"Content-Length: {len(data)}"], length=False)
    with ScriptedServer([[Read(), Send(head + data[: len(data) // 2]), Close()]]) as server:
        done = new_request(download_file=str(target)).fetch(url(server))
    assert done.result == Result.RESULT_CONNECTION_ERROR
    assert list(tmp_path.iterdir()) == []


def test_cancelled_download_leaves_nothing(new_request, tmp_path):
    data = _download_data()
    target = tmp_path / "out.bin"
    part = Path(f"{target}.part")
    head = response(headers=[f"Content-Length: {len(data)}"], length=False)
    with ScriptedServer([[Read(), Send(head + data[: len(data) // 2]), Pause(30)]]) as server:
        run = new_request(download_file=str(target))
        run.start(url(server))
        run.until(lambda: bool(run.progress))
        assert part.exists()
        run.req.cancel_request()
        assert list(tmp_path.iterdir()) == []
        assert run.req.poll() == Error.ERR_UNCONFIGURED
    assert run.completions == []


def test_download_into_a_missing_directory_cannot_open(new_request, tmp_path):
    target = tmp_path / "no-such-dir" / "out.bin"
    script = [Read(), Send(response(headers=["X-Marker: m"], body=b"abc"))]
    with ScriptedServer([script]) as server:
        run = new_request(download_file=str(target))
        done = run.fetch(url(server))
    assert done.result == Result.RESULT_DOWNLOAD_FILE_CANT_OPEN
    assert done.code == 200
    assert done.header("x-marker") == ["m"]
    assert not (tmp_path / "no-such-dir").exists()


# -- resuming ---------------------------------------------------------------------------------


ETAG = '"5f3a-30d41"'


def _cut(data: bytes, etag: str = ETAG) -> list[Any]:
    head = response(headers=[f"ETag: {etag}", f"Content-Length: {len(data)}"], length=False)
    return [Read(), Send(head + data[: len(data) // 2]), Close()]


def _first_cut(run: Run, server: ScriptedServer, target: Path, data: bytes, etag: str) -> None:
    done = run.fetch(url(server))
    assert done.result == Result.RESULT_CONNECTION_ERROR
    assert not target.exists()
    assert Path(f"{target}.part").read_bytes() == data[: len(data) // 2]
    assert Path(f"{target}.part.validator").read_text().strip() == etag


@pytest.mark.nginx
def test_resume_against_nginx(new_request, nginx, tmp_path):
    data = nginx.data
    half = len(data) // 2
    target = tmp_path / "data.bin"
    probe = new_request().fetch(url(nginx.server, "/data.bin?t=etag"), (), Method.METHOD_HEAD)
    (etag,) = probe.header("etag")
    run = new_request(download_file=str(target), resume_download=True)
    with ScriptedServer([_cut(data, etag)]) as server:
        _first_cut(run, server, target, data, etag)
    done = run.fetch(url(nginx.server, "/data.bin?t=resume"))
    assert (done.result, done.code, done.body) == (Result.RESULT_SUCCESS, 206, b"")
    assert done.header("content-range") == [f"bytes {half}-{len(data) - 1}/{len(data)}"]
    assert target.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.bin"]
    (entry,) = nginx.server.tagged("resume", 1)
    assert (entry.status, entry.body_bytes) == (206, len(data) - half)


@pytest.mark.nginx
def test_resume_against_nginx_with_a_stale_validator_starts_over(new_request, nginx, tmp_path):
    """nginx honours If-Range: another ETag gets the whole file with 200."""
    data = nginx.data
    target = tmp_path / "data.bin"
    run = new_request(download_file=str(target), resume_download=True)
    with ScriptedServer([_cut(data, '"not-the-same"')]) as server:
        _first_cut(run, server, target, data, '"not-the-same"')
    done = run.fetch(url(nginx.server, "/data.bin?t=stale"))
    assert (done.result, done.code) == (Result.RESULT_SUCCESS, 200)
    assert target.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.bin"]
    (entry,) = nginx.server.tagged("stale", 1)
    assert (entry.status, entry.body_bytes) == (200, len(data))


def test_resume_sends_range_and_if_range_and_a_200_starts_over(new_request, tmp_path):
    data = _download_data()
    half = len(data) // 2
    target = tmp_path / "out.bin"
    again = [Read(), Send(response(headers=[f"ETag: {ETAG}"], body=data))]
    with ScriptedServer([_cut(data), again]) as server:
        run = new_request(download_file=str(target), resume_download=True)
        _first_cut(run, server, target, data, ETAG)
        done = run.fetch(url(server))
    assert (done.result, done.code) == (Result.RESULT_SUCCESS, 200)
    assert target.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]
    first, second = (request_headers(raw) for raw in server.requests)
    assert "range" not in first
    assert second["range"] == f"bytes={half}-"
    assert second["if-range"] == ETAG


def test_resume_with_a_matching_206_appends(new_request, tmp_path):
    data = _download_data()
    half = len(data) // 2
    target = tmp_path / "out.bin"
    rest = response(
        "206 Partial Content",
        [f"ETag: {ETAG}", f"Content-Range: bytes {half}-{len(data) - 1}/{len(data)}"],
        data[half:],
    )
    with ScriptedServer([_cut(data), [Read(), Send(rest)]]) as server:
        run = new_request(download_file=str(target), resume_download=True)
        _first_cut(run, server, target, data, ETAG)
        run.progress.clear()
        done = run.fetch(url(server))
    assert (done.result, done.code) == (Result.RESULT_SUCCESS, 206)
    assert target.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_resumed_progress_never_passes_its_total(new_request, tmp_path):
    """download_progress(downloaded, total): downloaded must not exceed a known total."""
    data = _download_data()
    half = len(data) // 2
    target = tmp_path / "out.bin"
    rest = response(
        "206 Partial Content",
        [f"Content-Range: bytes {half}-{len(data) - 1}/{len(data)}"],
        data[half:],
    )
    with ScriptedServer([_cut(data), [Read(), Send(rest)]]) as server:
        run = new_request(download_file=str(target), resume_download=True)
        run.fetch(url(server))
        run.progress.clear()
        done = run.fetch(url(server))
    assert done.result == Result.RESULT_SUCCESS
    assert run.progress
    assert all(downloaded <= total for downloaded, total in run.progress), run.progress
    assert run.progress[-1][0] == run.progress[-1][1]


@pytest.mark.parametrize(
    "content_range",
    ["Content-Range: bytes 0-{last}/{size}", "Content-Range: bytes 7-{last}/{size}", None],
)
def test_resume_206_from_elsewhere_fails_and_keeps_the_part(new_request, tmp_path, content_range):
    data = _download_data()
    target = tmp_path / "out.bin"
    headers = [f"ETag: {ETAG}"]
    if content_range is not None:
        headers.append(content_range.format(last=len(data) - 1, size=len(data)))
    wrong = [Read(), Send(response("206 Partial Content", headers, data))]
    with ScriptedServer([_cut(data), wrong]) as server:
        run = new_request(download_file=str(target), resume_download=True)
        _first_cut(run, server, target, data, ETAG)
        done = run.fetch(url(server))
    assert done.result != Result.RESULT_SUCCESS
    assert done.code in (0, 206)
    assert not target.exists()
    assert Path(f"{target}.part").read_bytes() == data[: len(data) // 2]


def test_without_resume_download_no_range_is_sent(new_request, tmp_path):
    target = tmp_path / "out.bin"
    Path(f"{target}.part").write_bytes(b"left over")
    with ScriptedServer([[Read(), Send(response(body=b"whole"))]]) as server:
        done = new_request(download_file=str(target)).fetch(url(server))
    assert done.result == Result.RESULT_SUCCESS
    assert target.read_bytes() == b"whole"
    assert "range" not in request_headers(server.requests[0])


# -- 64-bit sizes -------------------------------------------------------------------------------


def test_body_size_of_five_gib(new_request):
    size = 5 * GiB
    head = response(headers=[f"Content-Length: {size}"], length=False)
    with ScriptedServer([[Read(), Send(head + b"q" * 100), Pause(30)]]) as server:
        run = new_request()
        run.start(url(server))
        run.until(lambda: run.req.get_downloaded_bytes() >= 100)
        assert run.req.get_body_size() == 5368709120
        assert run.progress[-1] == (100, 5368709120)
        run.req.cancel_request()
        assert run.req.poll() == Error.ERR_UNCONFIGURED
    assert run.completions == []


_BOMB_IN_A_FRESH_PROCESS = """
import sys, threading, time
sys.path.insert(0, {root!r})
from tests.protocol.test_decoding import gzip_bomb
from tests.support.servers import Read, ScriptedServer, Send, response
from pollhttp import HTTPRequest, Result

def kib(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])

bomb = gzip_bomb()
server = ScriptedServer([[Read(), Send(response(headers=["Content-Encoding: gzip"], body=bomb))]])
with server, HTTPRequest() as req:
    req.body_size_limit = 10 * 1024 * 1024
    done = []
    req.request_completed.connect(lambda *a: done.append(a[0]))
    open("/proc/self/clear_refs", "w").write("5")
    before = kib("VmRSS")
    req.request(f"http://127.0.0.1:{{server.port}}/")
    deadline = time.monotonic() + 20
    while not done and time.monotonic() < deadline:
        req.poll()
        req.wait(0.1)
    print(done[0].name, kib("VmHWM") - before)
"""


def test_gzip_bomb_peak_rss_in_a_fresh_process():
    """The same bomb measured in a new interpreter, where no earlier test's memory hides growth."""
    if not Path("/proc/self/clear_refs").exists():
        pytest.skip("needs Linux /proc/self/clear_refs")
    root = str(Path(__file__).resolve().parents[2])
    gzip_bomb()  # build (and cache) it here, outside the measured process's window
    out = subprocess.run(
        [sys.executable, "-c", _BOMB_IN_A_FRESH_PROCESS.format(root=root)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=root,
    ).stdout.split()
    assert out[0] == "RESULT_BODY_SIZE_LIMIT_EXCEEDED"
    assert int(out[1]) * KiB < 50 * MiB, f"peak RSS grew by {int(out[1]) / 1024:.1f} MiB"
