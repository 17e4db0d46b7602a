"""A StreamPeer that plays a script: for status-machine unit tests without sockets."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from pollhttp import Error, NetworkError, StreamPeer

WOULD_BLOCK = None


class ScriptedStreamPeer(StreamPeer):
    """Each ``get_partial_data`` call takes the next read item.

    A read item is bytes (returned, at most ``nbytes`` at a time), ``WOULD_BLOCK`` (nothing
    yet), ``Error.ERR_FILE_EOF`` (end of stream, repeated from then on) or another `Error`.
    Each ``put_partial_data`` call takes the next write size (0 means "would block"); once
    the sizes run out every write is taken whole. Written bytes are kept in ``written``.
    """

    def __init__(
        self, reads: Iterable[bytes | Error | None], write_sizes: Iterable[int] = ()
    ) -> None:
        self.reads: deque[bytes | Error | None] = deque(reads)
        self.write_sizes = deque(write_sizes)
        self.written = bytearray()
        self.closed = False
        self.eof = False

    def get_partial_data(self, nbytes: int) -> tuple[Error, bytes]:
        if self.eof:
            return Error.ERR_FILE_EOF, b""
        if not self.reads:
            return Error.OK, b""
        item = self.reads.popleft()
        if item is WOULD_BLOCK:
            return Error.OK, b""
        if isinstance(item, Error):
            if item == Error.ERR_FILE_EOF:
                self.eof = True
            else:
                self._last_error = NetworkError(f"scripted {item.name}")
            return item, b""
        if len(item) > nbytes:
            self.reads.appendleft(item[nbytes:])
        return Error.OK, item[:nbytes]

    def put_partial_data(self, data: bytes | memoryview) -> tuple[Error, int]:
        size = self.write_sizes.popleft() if self.write_sizes else len(data)
        if size < 0:
            self._last_error = NetworkError("scripted write error")
            return Error.ERR_CONNECTION_ERROR, 0
        taken = bytes(data[:size])
        self.written += taken
        return Error.OK, len(taken)

    def close(self) -> None:
        self.closed = True
