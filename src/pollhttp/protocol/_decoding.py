"""Content codings (RFC 9110 §8.4): gzip, deflate, br and zstd, with bounded output.

Every decoder yields pieces of at most ``max_piece`` bytes, so a compression bomb never
makes the client hold more than about one piece per coding at a time. No I/O here.
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from .._errors import ContentDecodingError


def _optional(name: str) -> Any:
    """An optional extra (``brotli``, ``zstandard``), or None when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:  # pragma: no cover - depends on the environment
        return None


_brotli = _optional("brotli")
_zstandard = _optional("zstandard")

__all__ = [
    "MAX_CODINGS",
    "ContentDecoder",
    "accept_encoding",
    "parse_codings",
    "unsupported_codings",
]

#: Longest chain of codings accepted by default (urllib3 CVE-2025-66418, curl CVE-2023-23916).
MAX_CODINGS = 5
_GZIP_MAGIC = b"\x1f\x8b"
# zstandard's streaming decoder has no output limit: input goes in slices this small, so
# one slice yields at most 32 blocks of 128 KiB even for the most compressible data.
_ZSTD_SLICE = 128


class _Stage(Protocol):
    def decode(self, data: bytes) -> Iterator[bytes]: ...

    def finish(self) -> Iterator[bytes]: ...


class _Zlib:
    """gzip (possibly several members) or deflate (zlib-wrapped, or raw as some servers send)."""

    def __init__(self, coding: str, max_piece: int) -> None:
        self._gzip = coding in ("gzip", "x-gzip")
        self._max = max_piece
        self._obj: Any = zlib.decompressobj(31) if self._gzip else None
        # Bytes held until there are enough to decide: the start of a deflate stream (is it
        # zlib-wrapped?) or what follows a gzip member.
        self._head = b""

    def decode(self, data: bytes) -> Iterator[bytes]:
        if self._obj is None:
            self._head += data
            if len(self._head) < 2:
                return
            data, self._head = self._head, b""
            # RFC 9110 §8.4.1.2 says zlib-wrapped; raw deflate is common in the wild.
            wrapped = data[0] & 0x0F == 8 and int.from_bytes(data[:2], "big") % 31 == 0
            self._obj = zlib.decompressobj(15 if wrapped else -15)
        while data:
            if self._obj.eof:
                # What follows a gzip member may be another member (RFC 1952 §2.2) or zero
                # padding; wait for two bytes to tell. Anything else is an error.
                data = (self._head + data).lstrip(b"\0")
                self._head = b""
                if self._gzip and len(data) < 2 and _GZIP_MAGIC.startswith(data):
                    self._head = data
                    return
                if not (self._gzip and data[:2] == _GZIP_MAGIC):
                    raise ContentDecodingError("data after the end of the compressed stream")
                self._obj = zlib.decompressobj(31)
            try:
                piece = self._obj.decompress(data, self._max)
            except zlib.error as exc:
                raise ContentDecodingError(
                    f"invalid {'gzip' if self._gzip else 'deflate'} data: {exc}"
                ) from exc
            data = self._obj.unconsumed_tail or self._obj.unused_data
            if piece:
                yield piece

    def finish(self) -> Iterator[bytes]:
        if self._obj is None or not self._obj.eof or self._head:
            raise ContentDecodingError("compressed body ended before the end of its stream")
        return iter(())


class _Brotli:
    def __init__(self, max_piece: int) -> None:
        assert _brotli is not None
        self._obj = _brotli.Decompressor()
        self._max = max_piece

    def decode(self, data: bytes) -> Iterator[bytes]:
        try:
            if data and self._obj.is_finished():
                raise ContentDecodingError("data after the end of the brotli stream")
            piece = self._obj.process(data, output_buffer_limit=self._max)
            # Output held back by the limit comes out of further calls with empty input.
            while piece:
                yield piece
                piece = self._obj.process(b"", output_buffer_limit=self._max)
        except _brotli.error as exc:
            raise ContentDecodingError(f"invalid brotli data: {exc}") from exc

    def finish(self) -> Iterator[bytes]:
        if not self._obj.is_finished():
            raise ContentDecodingError("brotli body ended before the end of its stream")
        return iter(())


class _Zstd:
    def __init__(self) -> None:
        assert _zstandard is not None
        self._obj = _zstandard.ZstdDecompressor().decompressobj()

    def decode(self, data: bytes) -> Iterator[bytes]:
        for start in range(0, len(data), _ZSTD_SLICE):
            if self._obj.eof:
                raise ContentDecodingError("data after the end of the zstd frame")
            try:
                piece = self._obj.decompress(data[start : start + _ZSTD_SLICE])
            except _zstandard.ZstdError as exc:
                raise ContentDecodingError(f"invalid zstd data: {exc}") from exc
            if self._obj.eof and self._obj.unused_data:
                raise ContentDecodingError("data after the end of the zstd frame")
            if piece:
                yield piece

    def finish(self) -> Iterator[bytes]:
        if not self._obj.eof:
            raise ContentDecodingError("zstd body ended before the end of its frame")
        return iter(())


def _supported() -> tuple[str, ...]:
    codings = ["gzip", "deflate"]
    if _brotli is not None and hasattr(_brotli.Decompressor, "can_accept_more_data"):
        codings.append("br")
    if _zstandard is not None:
        codings.append("zstd")
    return tuple(codings)


SUPPORTED = _supported()


def accept_encoding() -> str:
    """The ``Accept-Encoding`` value that names exactly the codings this install decodes."""
    return ", ".join(SUPPORTED)


def parse_codings(values: Sequence[str]) -> list[str]:
    """The content codings of ``Content-Encoding`` field values, in the order applied."""
    codings = [c.strip().lower() for value in values for c in value.split(",")]
    return [c for c in codings if c and c != "identity"]


def unsupported_codings(codings: Sequence[str]) -> list[str]:
    """The codings in ``codings`` that this install cannot decode."""
    return [c for c in codings if c not in SUPPORTED and c != "x-gzip"]


def _split(piece: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(piece), size):
        yield piece[start : start + size]


class ContentDecoder:
    """Undo a chain of content codings; every piece out is at most ``max_piece`` bytes."""

    def __init__(
        self, codings: Sequence[str], max_piece: int, max_codings: int = MAX_CODINGS
    ) -> None:
        if len(codings) > max_codings:
            raise ContentDecodingError(f"more than {max_codings} content codings")
        unknown = unsupported_codings(codings)
        if unknown:
            raise ContentDecodingError(f"unsupported content coding {unknown[0]!r}")
        self._max = max_piece
        # Codings are listed in the order they were applied, so they are undone backwards.
        self._stages: list[_Stage] = [self._stage(c) for c in reversed(codings)]

    def _stage(self, coding: str) -> _Stage:
        if coding == "br":
            return _Brotli(self._max)
        if coding == "zstd":
            return _Zstd()
        return _Zlib(coding, self._max)

    def _through(self, pieces: Iterator[bytes], index: int) -> Iterator[bytes]:
        if index == len(self._stages):
            for piece in pieces:
                yield from _split(piece, self._max)
            return
        stage = self._stages[index]
        for piece in pieces:
            yield from self._through(stage.decode(piece), index + 1)

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Decode ``data``; iterate the result at once, piece by piece."""
        return self._through(iter((data,)), 0)

    def finish(self) -> Iterator[bytes]:
        """Check that every stream ended; raises `ContentDecodingError` on a truncated one."""
        for index, stage in enumerate(self._stages):
            yield from self._through(stage.finish(), index + 1)
