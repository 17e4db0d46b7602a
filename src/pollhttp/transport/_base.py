"""The StreamPeer contract, and the one place where OS errors become pollhttp exceptions."""

from __future__ import annotations

import selectors
import sys
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import NamedTuple

from .._checks import check_buffer, check_bytes, check_int, check_seconds
from .._enums import Error
from .._errors import InvalidParameterError, NetworkError, PollHTTPError

__all__ = [
    "READY_NOW",
    "Interest",
    "PrefixedStreamPeer",
    "StreamPeer",
    "network_error",
    "read_size",
    "wait_for_fd",
    "wait_for_fds",
]


class Interest(NamedTuple):
    """What a client waits for: a descriptor and the readiness that lets it progress.

    ``fd == -1`` means it can progress now: call ``poll()`` (or read the body) at once.
    ``others`` are more descriptors waited on for the same readiness (connection
    attempts raced by Happy Eyeballs); the client can progress when any one is ready.
    """

    fd: int
    read: bool
    write: bool
    others: tuple[int, ...] = ()

    def descriptors(self) -> tuple[int, ...]:
        """Every descriptor of the interest: ``fd`` first, then ``others``."""
        return (self.fd, *self.others) if self.fd >= 0 else ()


READY_NOW = Interest(-1, False, False)

#: The most bytes one read asks the stream below for: a read returns "up to nbytes", and
#: a socket read allocates all it is asked for before it knows how much has arrived.
MAX_READ = 16 * 1024 * 1024


def read_size(nbytes: object) -> int:
    """``nbytes`` of a read, checked: an int of 0 or more, and at most `MAX_READ`."""
    return min(check_int("nbytes", nbytes, 0, sys.maxsize), MAX_READ)


def network_error(exc: OSError, doing: str) -> NetworkError:
    """Wrap an OS error raised while ``doing`` something on an open connection."""
    error = NetworkError(f"{doing}: {exc.strerror or exc}")
    error.__cause__ = exc
    return error


def wait_for_fd(fd: int, *, readable: bool, writable: bool, timeout: float | None) -> bool:
    """Sleep in the kernel until ``fd`` is ready or ``timeout`` passes; never spins.

    Returns False when there is nothing to wait on (no descriptor) or the time ran out.
    """
    return wait_for_fds((fd,), readable=readable, writable=writable, timeout=timeout)


def wait_for_fds(
    fds: Sequence[int], *, readable: bool, writable: bool, timeout: float | None
) -> bool:
    """Sleep until any of ``fds`` is ready or ``timeout`` passes; False if none is usable."""
    fds = [fd for fd in fds if fd >= 0]
    if not fds or not (readable or writable):
        return False
    events = (selectors.EVENT_READ if readable else 0) | (selectors.EVENT_WRITE if writable else 0)
    with selectors.DefaultSelector() as selector:
        for fd in fds:
            selector.register(fd, events)
        return bool(selector.select(timeout))


class StreamPeer(ABC):
    """Godot's ``StreamPeer``: a byte stream that never blocks unless asked to.

    ``get_partial_data`` and ``put_partial_data`` return at once: ``(OK, b"")`` or
    ``(OK, 0)`` means "not now". End of stream is ``ERR_FILE_EOF``. After any other error
    ``get_last_error()`` holds the exception with the reason.
    """

    _last_error: PollHTTPError | None = None

    def _refused(self, error: InvalidParameterError) -> Error:
        """Refuse an argument as Godot does: return the code, keep the reason for later."""
        self._last_error = error
        return error.code

    @abstractmethod
    def get_partial_data(self, nbytes: int) -> tuple[Error, bytes]:
        """Return up to ``nbytes`` bytes that are available now."""

    @abstractmethod
    def put_partial_data(self, data: bytes | memoryview) -> tuple[Error, int]:
        """Send what can be sent now; return how many bytes were taken."""

    def get_available_bytes(self) -> int:
        """Bytes that can be read without waiting (0 when unknown)."""
        return 0

    def get_partial_data_into(self, buffer: memoryview) -> tuple[Error, int]:
        """Like ``get_partial_data``, into ``buffer``; returns how many bytes were read.

        Not in Godot. Lets a reader reuse one buffer instead of allocating one per read.
        ``buffer`` is a bytearray or a writable memoryview.
        """
        try:
            view = check_buffer("buffer", buffer)
        except InvalidParameterError as exc:
            return self._refused(exc), 0
        err, data = self.get_partial_data(len(view))
        view[: len(data)] = data
        return err, len(data)

    def poll(self) -> Error:
        """Advance internal work and report the peer's health.

        ``ERR_FILE_EOF`` means the remote end has closed. Godot's base class has no
        ``poll``; its subclasses each have their own.
        """
        return Error.OK

    def fileno(self) -> int:
        """The OS descriptor to wait on, or -1 when there is none."""
        return -1

    def has_pending_output(self) -> bool:
        """Whether bytes wait to be written below (then waiting means waiting to write)."""
        return False

    def wait(
        self, *, readable: bool = True, writable: bool = False, timeout: float | None = None
    ) -> bool:
        """Block until the peer may make progress; False when it cannot wait at all.

        ``timeout`` None, ``math.inf`` or huge is no limit; negative or NaN raises
        `InvalidParameterError`.
        """
        seconds = check_seconds("timeout", timeout)
        return wait_for_fd(self.fileno(), readable=readable, writable=writable, timeout=seconds)

    def close(self) -> None:  # noqa: B027 - optional for peers with nothing to release
        """Release the connection; a closed peer reports ``ERR_FILE_EOF`` or an error."""

    def get_last_error(self) -> PollHTTPError | None:
        """The exception behind the most recent error code this peer returned."""
        return self._last_error

    def put_data(self, data: bytes | memoryview) -> Error:
        """Send all of ``data``, sleeping on the descriptor while the peer is full.

        Godot's ``put_data`` blocks the same way; without a descriptor to wait on this
        returns ``ERR_BUSY`` with the unsent rest dropped.
        """
        try:
            view = memoryview(check_bytes("data", data))
        except InvalidParameterError as exc:
            return self._refused(exc)
        while view:
            err, sent = self.put_partial_data(view)
            if err != Error.OK:
                return err
            if sent:
                view = view[sent:]
            elif not self.wait(readable=False, writable=True):
                return Error.ERR_BUSY
        return Error.OK

    def get_data(self, nbytes: int) -> tuple[Error, bytes]:
        """Read exactly ``nbytes`` bytes, sleeping on the descriptor until they arrive.

        On end of stream or error it returns that code with the bytes read so far.
        """
        try:
            missing = check_int("nbytes", nbytes, 0, sys.maxsize)
        except InvalidParameterError as exc:
            return self._refused(exc), b""
        parts: list[bytes] = []
        while missing > 0:
            err, data = self.get_partial_data(min(missing, MAX_READ))
            if data:
                parts.append(data)
                missing -= len(data)
            elif err != Error.OK:
                return err, b"".join(parts)
            elif not self.wait():
                return Error.ERR_BUSY, b"".join(parts)
        return Error.OK, b"".join(parts)


class PrefixedStreamPeer(StreamPeer):
    """A stream whose first bytes were already read: they are returned before the rest.

    After a CONNECT reply, bytes that came with the reply's head belong to the tunnel.
    """

    def __init__(self, stream: StreamPeer, prefix: bytes) -> None:
        self._stream = stream
        self._prefix = prefix

    def _refused(self, error: InvalidParameterError) -> Error:
        # Kept by the stream below, where get_last_error() looks.
        return self._stream._refused(error)

    def get_partial_data(self, nbytes: int) -> tuple[Error, bytes]:
        if not self._prefix:
            return self._stream.get_partial_data(nbytes)
        try:
            size = read_size(nbytes)
        except InvalidParameterError as exc:
            return self._refused(exc), b""
        data, self._prefix = self._prefix[:size], self._prefix[size:]
        return Error.OK, data

    def put_partial_data(self, data: bytes | memoryview) -> tuple[Error, int]:
        return self._stream.put_partial_data(data)

    def get_available_bytes(self) -> int:
        return len(self._prefix) + self._stream.get_available_bytes()

    def poll(self) -> Error:
        return Error.OK if self._prefix else self._stream.poll()

    def fileno(self) -> int:
        return self._stream.fileno()

    def has_pending_output(self) -> bool:
        return self._stream.has_pending_output()

    def wait(
        self, *, readable: bool = True, writable: bool = False, timeout: float | None = None
    ) -> bool:
        seconds = check_seconds("timeout", timeout)
        if readable and self._prefix:
            return True
        return self._stream.wait(readable=readable, writable=writable, timeout=seconds)

    def close(self) -> None:
        self._stream.close()

    def get_last_error(self) -> PollHTTPError | None:
        return self._stream.get_last_error()
