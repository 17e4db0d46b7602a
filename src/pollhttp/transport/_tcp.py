"""StreamPeerTCP: a non-blocking TCP connection driven by ``poll()``."""

from __future__ import annotations

import errno
import ipaddress
import math
import os
import select
import socket
import sys
import time
from enum import IntEnum
from typing import Any

from .._checks import check_bool, check_buffer, check_bytes, check_int, check_seconds, check_text
from .._enums import Error
from .._errors import ConnectError, ConnectTimeoutError, InvalidParameterError, NetworkError
from ._base import StreamPeer, network_error, read_size

try:  # FIONREAD for get_available_bytes(); not on every platform.
    import fcntl
    import termios

    _FIONREAD: int | None = termios.FIONREAD
except ImportError:  # pragma: no cover - Windows
    _FIONREAD = None

__all__ = ["StreamPeerTCP"]

# connect() on a socket whose connection is under way: still going, or done.
_IN_PROGRESS = {errno.EINPROGRESS, errno.EALREADY, errno.EWOULDBLOCK, errno.EAGAIN}
_IN_PROGRESS |= {getattr(errno, n) for n in ("WSAEWOULDBLOCK", "WSAEALREADY") if hasattr(errno, n)}
_CONNECTED = {0, errno.EISCONN} | ({errno.WSAEISCONN} if hasattr(errno, "WSAEISCONN") else set())


class StreamPeerTCP(StreamPeer):
    """Godot's ``StreamPeerTCP``: connect to an IP address and port without blocking."""

    class Status(IntEnum):
        """``StreamPeerTCP.Status``."""

        STATUS_NONE = 0
        STATUS_CONNECTING = 1
        STATUS_CONNECTED = 2
        STATUS_ERROR = 3

    STATUS_NONE = Status.STATUS_NONE
    STATUS_CONNECTING = Status.STATUS_CONNECTING
    STATUS_CONNECTED = Status.STATUS_CONNECTED
    STATUS_ERROR = Status.STATUS_ERROR

    def __init__(self, connect_timeout: float = 30.0) -> None:
        self._connect_timeout = math.inf
        self.connect_timeout = connect_timeout
        self._sock: socket.socket | None = None
        self._status = self.STATUS_NONE
        self._address: tuple[str, int] = ("", 0)
        self._sockaddr: tuple[object, ...] = ()
        self._deadline = 0.0
        self._poller: Any = None  # a select.poll object (its type has no public name)

    @property
    def connect_timeout(self) -> float:
        """Seconds a connect may take (Godot's ``network/limits/tcp/connect_timeout_seconds``).

        ``inf`` (or huge) is no limit; a new value applies from the next connect.
        """
        return self._connect_timeout

    @connect_timeout.setter
    def connect_timeout(self, seconds: float) -> None:
        checked = check_seconds("connect_timeout", seconds, none_ok=False)
        self._connect_timeout = math.inf if checked is None else checked

    def connect_to_host(self, host: str, port: int) -> Error:
        """Start connecting to an IP address (no name lookup); completes in ``poll()``."""
        if self._status != self.STATUS_NONE:
            return Error.ERR_ALREADY_IN_USE
        try:
            check_text("host", host)
            check_int("port", port, 1, 65535)
        except InvalidParameterError as exc:
            return self._refused(exc)
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
            family, _, _, _, sockaddr = socket.getaddrinfo(
                host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
            )[0]
        except (ValueError, OSError) as exc:
            self._last_error = InvalidParameterError(f"not an IP address and port: {host!r} {port}")
            self._last_error.__cause__ = exc
            return Error.ERR_INVALID_PARAMETER
        self._address = (host, port)
        self._sockaddr = sockaddr
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as exc:
            return self._connect_failed(exc.errno or 0, exc)
        sock.setblocking(False)
        self._sock = sock
        self._deadline = time.monotonic() + self._connect_timeout
        self._status = self.STATUS_CONNECTING
        code = sock.connect_ex(sockaddr)
        if code in _CONNECTED:
            self._status = self.STATUS_CONNECTED
        elif code not in _IN_PROGRESS:
            return self._connect_failed(code)
        return Error.OK

    def _connect_failed(self, code: int, cause: OSError | None = None) -> Error:
        host, port = self._address
        reason = os.strerror(code) if code else str(cause)
        message = f"cannot connect to {host} port {port}: {reason}"
        self._last_error = (
            ConnectTimeoutError(message, timeout=self.connect_timeout)
            if code == errno.ETIMEDOUT
            else ConnectError(message)
        )
        self._last_error.__cause__ = cause
        self._drop(self.STATUS_ERROR)
        return Error.ERR_CANT_CONNECT

    def _drop(self, status: StreamPeerTCP.Status) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._poller = None
        self._status = status

    def poll(self) -> Error:
        """Finish a pending connect, or notice that the remote end closed.

        CONNECTING asks the kernel again (one ``connect`` call, no waiting) and fails after
        ``connect_timeout``. CONNECTED peeks one byte: the remote end's close turns the
        status to NONE and returns ``ERR_FILE_EOF``, but unread data is never lost.
        """
        sock = self._sock
        if sock is None:
            return Error.OK
        if self._status == self.STATUS_CONNECTING:
            code = sock.connect_ex(self._sockaddr)
            if code in _CONNECTED:
                self._status = self.STATUS_CONNECTED
            elif code not in _IN_PROGRESS:
                return self._connect_failed(code)
            elif time.monotonic() >= self._deadline:
                return self._connect_failed(errno.ETIMEDOUT)
            return Error.OK
        try:
            if sock.recv(1, socket.MSG_PEEK):
                return Error.OK
        except (BlockingIOError, InterruptedError):
            return Error.OK
        except OSError as exc:
            return self._broken(network_error(exc, "connection failed"))
        self._last_error = NetworkError("connection closed by the peer")
        self._drop(self.STATUS_NONE)
        return Error.ERR_FILE_EOF

    def _broken(self, error: NetworkError) -> Error:
        self._last_error = error
        self._drop(self.STATUS_ERROR)
        return Error.ERR_CONNECTION_ERROR

    def get_connect_deadline(self) -> float:
        """When a pending connect gives up, in ``time.monotonic()`` seconds."""
        return self._deadline

    def get_status(self) -> StreamPeerTCP.Status:
        """The connection's status, as of the last ``poll()`` or I/O call."""
        return self._status

    def get_connected_host(self) -> str:
        """The IP address this peer connects or connected to."""
        return self._address[0]

    def get_connected_port(self) -> int:
        """The port this peer connects or connected to."""
        return self._address[1]

    def get_local_port(self) -> int:
        """The local port of the socket, or 0 when there is none."""
        return int(self._sock.getsockname()[1]) if self._sock is not None else 0

    def set_no_delay(self, enabled: bool) -> None:
        """Turn Nagle's algorithm off (True) or on; HTTPClient turns it off."""
        flag = check_bool("enabled", enabled)
        if self._sock is not None:
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, int(flag))

    def fileno(self) -> int:
        """The socket's descriptor, or -1 when there is no socket."""
        return self._sock.fileno() if self._sock is not None else -1

    def wait(
        self, *, readable: bool = True, writable: bool = False, timeout: float | None = None
    ) -> bool:
        """Sleep until the socket is ready; one ``poll(2)`` call on a poller kept per socket.

        A blocking-mode client waits once per response, so the selector set-up that the
        generic wait does each time is worth saving here. ``timeout`` None, ``math.inf``
        or huge is no limit; negative or NaN raises `InvalidParameterError`.
        """
        timeout = check_seconds("timeout", timeout)
        sock = self._sock
        if sock is None or not hasattr(select, "poll"):
            return super().wait(readable=readable, writable=writable, timeout=timeout)
        if self._poller is None:
            self._poller = select.poll()
            self._poller.register(sock.fileno(), 0)
        mask = (select.POLLIN if readable else 0) | (select.POLLOUT if writable else 0)
        self._poller.modify(sock.fileno(), mask)
        millis = None if timeout is None else max(0, math.ceil(timeout * 1000))
        return bool(self._poller.poll(millis))

    def disconnect_from_host(self) -> None:
        """Close the socket; the status becomes NONE."""
        self._drop(self.STATUS_NONE)

    close = disconnect_from_host

    def get_available_bytes(self) -> int:
        """Bytes waiting in the kernel's receive buffer."""
        if self._sock is None or _FIONREAD is None:
            return 0
        buf = fcntl.ioctl(self._sock.fileno(), _FIONREAD, b"\0\0\0\0")
        return int.from_bytes(buf, sys.byteorder)

    def get_partial_data(self, nbytes: int) -> tuple[Error, bytes]:
        """Read up to ``nbytes`` available bytes; ``ERR_FILE_EOF`` once the peer closed."""
        try:
            nbytes = read_size(nbytes)
        except InvalidParameterError as exc:
            return self._refused(exc), b""
        sock = self._sock
        if sock is None or self._status != self.STATUS_CONNECTED:
            return (Error.ERR_FILE_EOF if self._status == self.STATUS_NONE else Error.FAILED), b""
        if not nbytes:
            return Error.OK, b""
        try:
            data = sock.recv(nbytes)
        except (BlockingIOError, InterruptedError):
            return Error.OK, b""
        except OSError as exc:
            return self._broken(network_error(exc, "receive failed")), b""
        if data:
            return Error.OK, data
        self._last_error = NetworkError("connection closed by the peer")
        self._drop(self.STATUS_NONE)
        return Error.ERR_FILE_EOF, b""

    def get_partial_data_into(self, buffer: memoryview) -> tuple[Error, int]:
        """``recv_into`` a caller's buffer: no allocation per read."""
        try:
            buffer = check_buffer("buffer", buffer)
        except InvalidParameterError as exc:
            return self._refused(exc), 0
        sock = self._sock
        if sock is None or self._status != self.STATUS_CONNECTED:
            return (Error.ERR_FILE_EOF if self._status == self.STATUS_NONE else Error.FAILED), 0
        if not buffer:
            return Error.OK, 0
        try:
            count = sock.recv_into(buffer)
        except (BlockingIOError, InterruptedError):
            return Error.OK, 0
        except OSError as exc:
            return self._broken(network_error(exc, "receive failed")), 0
        if count:
            return Error.OK, count
        self._last_error = NetworkError("connection closed by the peer")
        self._drop(self.STATUS_NONE)
        return Error.ERR_FILE_EOF, 0

    def put_partial_data(self, data: bytes | memoryview) -> tuple[Error, int]:
        """Send what the kernel takes now; ``(OK, 0)`` when its buffer is full."""
        try:
            check_bytes("data", data)
        except InvalidParameterError as exc:
            return self._refused(exc), 0
        sock = self._sock
        if sock is None or self._status != self.STATUS_CONNECTED:
            return Error.FAILED, 0
        try:
            return Error.OK, sock.send(data)
        except (BlockingIOError, InterruptedError):
            return Error.OK, 0
        except OSError as exc:
            return self._broken(network_error(exc, "send failed")), 0
