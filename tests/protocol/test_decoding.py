"""ContentDecoder (protocol/_decoding.py): content codings with bounded output; no sockets."""

from __future__ import annotations

import functools
import gzip
import importlib
import random
import tracemalloc
import zlib
from collections.abc import Callable, Iterable

import pytest

from pollhttp import ContentDecodingError
from pollhttp.protocol import _decoding
from pollhttp.protocol._decoding import (
    MAX_CODINGS,
    ContentDecoder,
    accept_encoding,
    parse_codings,
)

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30


def _optional(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


brotli = _optional("brotli")
zstandard = _optional("zstandard")

needs_brotli = pytest.mark.skipif(brotli is None, reason="brotli is not installed")
needs_zstd = pytest.mark.skipif(zstandard is None, reason="zstandard is not installed")


# -- encoders (independent of the code under test) -------------------------------------------


def raw_deflate(data: bytes) -> bytes:
    """Deflate without the zlib wrapper, as some servers send for ``deflate``."""
    obj = zlib.compressobj(9, zlib.DEFLATED, -15)
    return obj.compress(data) + obj.flush()


def _brotli(data: bytes) -> bytes:
    assert brotli is not None
    return brotli.compress(data, quality=6)


def _zstd(data: bytes) -> bytes:
    assert zstandard is not None
    return zstandard.ZstdCompressor().compress(data)


ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": lambda data: gzip.compress(data, mtime=0),
    "x-gzip": lambda data: gzip.compress(data, mtime=0),
    "deflate": zlib.compress,
    "br": _brotli,
    "zstd": _zstd,
}


def encode(data: bytes, codings: Iterable[str]) -> bytes:
    """Apply ``codings`` in order, as ``Content-Encoding`` lists them."""
    for coding in codings:
        data = ENCODERS[coding](data)
    return data


def _marks(codings: Iterable[str]) -> list[pytest.MarkDecorator]:
    marks = []
    if "br" in codings:
        marks.append(needs_brotli)
    if "zstd" in codings:
        marks.append(needs_zstd)
    return marks


def case(codings: list[str], *, raw: bool = False, name: str | None = None):
    """A parametrize case: (codings, encoder), skipped when a module is missing."""

    def encoder(data: bytes) -> bytes:
        return raw_deflate(data) if raw else encode(data, codings)

    return pytest.param(codings, encoder, marks=_marks(codings), id=name or "+".join(codings))


SINGLE = [
    case(["gzip"]),
    case(["x-gzip"]),
    case(["deflate"], name="deflate-zlib"),
    case(["deflate"], raw=True, name="deflate-raw"),
    case(["br"]),
    case(["zstd"]),
]
CHAINS = [
    case(["gzip", "br"]),
    case(["br", "gzip"]),
    case(["deflate", "zstd"]),
    case(["gzip", "deflate", "br", "zstd", "gzip"]),
]


def decode(codings: list[str], pieces: Iterable[bytes], max_piece: int) -> bytes:
    """Feed ``pieces`` and finish; every piece out must respect ``max_piece``."""
    decoder = ContentDecoder(codings, max_piece)
    out = []
    for piece in pieces:
        for chunk in decoder.feed(piece):
            assert 0 < len(chunk) <= max_piece, (len(chunk), max_piece)
            out.append(chunk)
    for chunk in decoder.finish():
        assert 0 < len(chunk) <= max_piece, (len(chunk), max_piece)
        out.append(chunk)
    return b"".join(out)


def small_body() -> bytes:
    rng = random.Random(7)
    return b"hello, content coding! " * 12 + rng.randbytes(90) + bytes(120) + b"end\n"


def large_body() -> bytes:
    """About 600 KiB, part text, part incompressible, part zeros."""
    rng = random.Random(11)
    text = b"".join(f"{i:05d} line of text for the decoder\n".encode() for i in range(8000))
    return text + rng.randbytes(200 * KiB) + bytes(100 * KiB) + text[:5000]


# -- Accept-Encoding and Content-Encoding parsing ---------------------------------------------


def test_accept_encoding_lists_exactly_the_supported_codings():
    expected = ["gzip", "deflate"]
    if brotli is not None:
        expected.append("br")
    if zstandard is not None:
        expected.append("zstd")
    assert accept_encoding() == ", ".join(expected)
    for coding in expected:  # everything advertised can be built
        ContentDecoder([coding], 1024)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["gzip"], ["gzip"]),
        (["identity"], []),
        (["gzip, identity"], ["gzip"]),
        (["Identity, GZIP", " br "], ["gzip", "br"]),
        (["gzip", "br"], ["gzip", "br"]),
        (["gzip,,br", ""], ["gzip", "br"]),
        ([], []),
    ],
)
def test_parse_codings(values, expected):
    assert parse_codings(values) == expected


def test_more_than_five_codings_are_refused():
    assert MAX_CODINGS == 5
    ContentDecoder(["gzip"] * 5, 1024)  # five are fine
    with pytest.raises(ContentDecodingError):
        ContentDecoder(["gzip"] * 6, 1024)


def test_five_gzip_layers_decode():
    data = small_body()
    assert decode(["gzip"] * 5, [encode(data, ["gzip"] * 5)], 64) == data


@pytest.mark.parametrize("coding", ["compress", "x-foo", "identity-ish", "gzip;q=1"])
def test_unknown_coding_is_unsupported(coding):
    with pytest.raises(ContentDecodingError, match="unsupported"):
        ContentDecoder(["gzip", coding], 1024)


# -- round trips --------------------------------------------------------------------------------


@pytest.mark.parametrize(("codings", "encoder"), SINGLE + CHAINS)
def test_one_piece(codings, encoder):
    data = small_body()
    assert decode(codings, [encoder(data)], 64 * KiB) == data


@pytest.mark.parametrize(("codings", "encoder"), SINGLE + CHAINS)
def test_every_split_point(codings, encoder):
    data = small_body()
    blob = encoder(data)
    for cut in range(len(blob) + 1):
        assert decode(codings, [blob[:cut], blob[cut:]], 16) == data, f"split at {cut}"


@pytest.mark.parametrize(("codings", "encoder"), SINGLE + CHAINS)
def test_byte_at_a_time_and_tiny_pieces(codings, encoder):
    data = small_body()
    blob = encoder(data)
    assert decode(codings, [blob[i : i + 1] for i in range(len(blob))], 1) == data
    assert decode(codings, [blob[i : i + 3] for i in range(0, len(blob), 3)], 5) == data


@pytest.mark.parametrize(("codings", "encoder"), SINGLE + CHAINS)
def test_large_body_in_1000_byte_pieces(codings, encoder):
    data = large_body()
    blob = encoder(data)
    pieces = [blob[i : i + 1000] for i in range(0, len(blob), 1000)]
    assert decode(codings, pieces, 4096) == data


@pytest.mark.parametrize(("codings", "encoder"), SINGLE)
def test_empty_content_round_trip(codings, encoder):
    assert decode(codings, [encoder(b"")], 64) == b""


def test_chain_is_undone_backwards():
    """``gzip, br`` means gzip first, then br: the outer layer on the wire is brotli."""
    pytest.importorskip("brotli")
    data = small_body()
    blob = encode(data, ["gzip", "br"])
    assert decode(["gzip", "br"], [blob], 1024) == data
    with pytest.raises(ContentDecodingError):
        decode(["br", "gzip"], [blob], 1024)


# -- gzip members ---------------------------------------------------------------------------


def members(data: bytes, padding: bytes = b"") -> bytes:
    return (
        gzip.compress(data[:100], mtime=0)
        + padding
        + gzip.compress(data[100:200], mtime=0)
        + gzip.compress(data[200:], mtime=0)
    )


def test_multi_member_gzip_in_one_piece():
    data = small_body()
    assert decode(["gzip"], [members(data)], 64) == data


def test_multi_member_gzip_at_every_split_point():
    data = small_body()
    blob = members(data)
    failures = []
    for cut in range(len(blob) + 1):
        try:
            if decode(["gzip"], [blob[:cut], blob[cut:]], 64) != data:
                failures.append((cut, "wrong bytes"))
        except ContentDecodingError as exc:
            failures.append((cut, str(exc)))
    assert not failures, f"member boundaries at {len(gzip.compress(data[:100], mtime=0))}"


def test_multi_member_gzip_byte_at_a_time():
    data = small_body()
    blob = members(data)
    assert decode(["gzip"], [blob[i : i + 1] for i in range(len(blob))], 64) == data


def test_zero_padding_between_gzip_members_at_every_split_point():
    """The decoder skips NUL padding between members (as gzip(1) does); split anywhere."""
    data = small_body()
    blob = members(data, padding=bytes(4))
    assert decode(["gzip"], [blob], 64) == data
    failures = []
    for cut in range(len(blob) + 1):
        try:
            if decode(["gzip"], [blob[:cut], blob[cut:]], 64) != data:
                failures.append((cut, "wrong bytes"))
        except ContentDecodingError as exc:
            failures.append((cut, str(exc)))
    assert not failures


def test_trailing_zero_padding_after_gzip_is_accepted():
    data = small_body()
    blob = members(data) + bytes(5)
    for cut in range(len(blob) - 10, len(blob) + 1):
        assert decode(["gzip"], [blob[:cut], blob[cut:]], 64) == data, f"split at {cut}"


def test_a_lone_magic_byte_after_a_gzip_member_is_truncation():
    """b"\\x1f" could start another member; if the body ends there, the member is missing."""
    data = small_body()
    decoder = ContentDecoder(["gzip"], 64)
    assert b"".join(decoder.feed(gzip.compress(data) + b"\x1f")) == data
    with pytest.raises(ContentDecodingError):
        list(decoder.finish())


def test_deflate_is_a_single_stream():
    """Only gzip has members: a second zlib stream after deflate's end is an error."""
    data = small_body()
    with pytest.raises(ContentDecodingError):
        decode(["deflate"], [zlib.compress(data) + zlib.compress(data)], 64)


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("codings", "encoder"), SINGLE + CHAINS)
def test_trailing_garbage_is_an_error_at_every_split_point(codings, encoder):
    data = small_body()
    blob = encoder(data) + b"garbage!"
    passed = []
    for cut in range(len(blob) + 1):
        try:
            decode(codings, [blob[:cut], blob[cut:]], 64)
        except ContentDecodingError:
            continue
        passed.append(cut)
    assert not passed, f"trailing garbage accepted for splits {passed[:5]}... of {len(blob)}"


@pytest.mark.parametrize(("codings", "encoder"), SINGLE + CHAINS)
def test_truncated_stream_fails_in_finish(codings, encoder):
    data = small_body()
    blob = encoder(data)
    for cut in (0, 1, 2, len(blob) // 2, len(blob) - 1):
        decoder = ContentDecoder(codings, 64)
        out = b"".join(decoder.feed(blob[:cut]))  # a prefix decodes without complaint...
        assert data.startswith(out)
        with pytest.raises(ContentDecodingError):  # ...but the stream never ended
            list(decoder.finish())


@pytest.mark.parametrize(("codings", "encoder"), SINGLE)
def test_corrupt_data_is_an_error(codings, encoder):
    data = small_body()
    blob = bytearray(encoder(data))
    # Flip bits all through the compressed data (past any header).
    for i in range(len(blob) // 3, len(blob) - 4, 7):
        blob[i] ^= 0x5A
    with pytest.raises(ContentDecodingError):
        decode(codings, [bytes(blob)], 64)


@pytest.mark.parametrize(
    "coding", [pytest.param(c, marks=_marks([c])) for c in ("gzip", "deflate", "br", "zstd")]
)
def test_plain_text_is_not_a_compressed_stream(coding):
    with pytest.raises(ContentDecodingError):
        decode([coding], [b"this is plain text, not compressed at all\n" * 4], 64)


def test_gzip_crc_mismatch_is_an_error():
    data = small_body()
    blob = bytearray(gzip.compress(data, mtime=0))
    blob[-8] ^= 0xFF  # CRC32 in the trailer
    with pytest.raises(ContentDecodingError):
        decode(["gzip"], [bytes(blob)], 64)


def test_gzip_length_mismatch_is_an_error():
    data = small_body()
    blob = bytearray(gzip.compress(data, mtime=0))
    blob[-1] ^= 0x01  # ISIZE in the trailer
    with pytest.raises(ContentDecodingError):
        decode(["gzip"], [bytes(blob)], 64)


def test_deflate_fed_under_two_bytes_then_finished_is_truncated():
    decoder = ContentDecoder(["deflate"], 64)
    assert list(decoder.feed(b"\x78")) == []
    with pytest.raises(ContentDecodingError):
        list(decoder.finish())


# -- bombs: output stays bounded ---------------------------------------------------------------


@functools.cache
def gzip_bomb() -> bytes:
    """1 GiB of zeros, gzip level 9 (about 1 MB); built once per test session."""
    obj = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(MiB)
    parts = [obj.compress(block) for _ in range(GiB // MiB)]
    parts.append(obj.flush())
    return b"".join(parts)


def _pieces(blob: bytes, size: int) -> Iterable[bytes]:
    for start in range(0, len(blob), size):
        yield blob[start : start + size]


def _traced_decode(codings: list[str], blob: bytes, max_piece: int, stop_after: int) -> int:
    """Decode under tracemalloc, up to ``stop_after`` bytes out; returns the peak."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        decoder = ContentDecoder(codings, max_piece)
        produced = 0
        for piece in _pieces(blob, 64 * KiB):
            for chunk in decoder.feed(piece):
                assert len(chunk) <= max_piece
                assert not chunk.strip(b"\0")
                produced += len(chunk)
                if produced >= stop_after:
                    break
            if produced >= stop_after:
                break
        assert produced >= min(stop_after, 1)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_gzip_bomb_decodes_in_bounded_memory():
    bomb = gzip_bomb()
    assert 900_000 < len(bomb) < 1_200_000
    peak = _traced_decode(["gzip"], bomb, 64 * KiB, 50 * MiB)
    assert peak < 3 * MiB, f"tracemalloc peak {peak} bytes"


@needs_brotli
def test_brotli_bomb_decodes_in_bounded_memory():
    bomb = brotli.compress(bytes(64 * MiB), quality=5)
    assert len(bomb) < 10_000
    peak = _traced_decode(["br"], bomb, 64 * KiB, 64 * MiB)
    assert peak < 3 * MiB, f"tracemalloc peak {peak} bytes"


@needs_zstd
def test_zstd_bomb_decodes_in_bounded_memory():
    obj = zstandard.ZstdCompressor(level=3).compressobj()
    bomb = b"".join(obj.compress(bytes(MiB)) for _ in range(256)) + obj.flush()
    assert len(bomb) < 64 * KiB  # one input piece holds 256 MiB of output
    # One 128-byte slice may give 32 blocks of 128 KiB (4 MiB) inside the decoder.
    peak = _traced_decode(["zstd"], bomb, 64 * KiB, 256 * MiB)
    assert peak < 12 * MiB, f"tracemalloc peak {peak} bytes"


@needs_zstd
def test_zstd_stage_pieces_stay_within_32_blocks():
    """The zstd stage has no output limit of its own; slicing the input bounds it."""
    obj = zstandard.ZstdCompressor(level=3).compressobj()
    bomb = b"".join(obj.compress(bytes(MiB)) for _ in range(64)) + obj.flush()
    stage = _decoding._Zstd()
    sizes = [len(piece) for piece in stage.decode(bomb)]
    assert sum(sizes) == 64 * MiB
    assert max(sizes) <= 32 * 128 * KiB
    list(stage.finish())


def test_chain_over_a_bomb_stays_bounded():
    """gzip inside gzip: the inner layer's pieces are bounded too."""
    inner = zlib.compressobj(9, zlib.DEFLATED, 31)
    layer = b"".join(inner.compress(bytes(MiB)) for _ in range(64)) + inner.flush()
    blob = gzip.compress(layer, compresslevel=9, mtime=0)
    peak = _traced_decode(["gzip", "gzip"], blob, 32 * KiB, 64 * MiB)
    assert peak < 3 * MiB, f"tracemalloc peak {peak} bytes"
