"""A process-wide wake-up descriptor for work that finishes off the caller's thread.

Name lookups and HTTPRequest worker threads have no socket of their own to wait on; when
they finish something they write a byte here, so a selector (or an asyncio loop) waiting on
this descriptor wakes up instead of polling on a timer.
"""

from __future__ import annotations

import atexit
import contextlib
import socket
import threading

__all__ = ["drain", "notify", "wakeup_fd"]

_lock = threading.Lock()
_pair: tuple[socket.socket, socket.socket] | None = None


def _sockets() -> tuple[socket.socket, socket.socket]:
    global _pair
    with _lock:
        if _pair is None:
            reader, writer = socket.socketpair()
            reader.setblocking(False)
            writer.setblocking(False)
            _pair = (reader, writer)
            atexit.register(_close)
        return _pair


def _close() -> None:
    global _pair
    with _lock:
        if _pair is not None:
            for sock in _pair:
                sock.close()
            _pair = None


def wakeup_fd() -> int:
    """The descriptor that becomes readable when background work finishes."""
    return _sockets()[0].fileno()


def notify() -> None:
    """Wake whoever waits on `wakeup_fd` (a full buffer already means "awake")."""
    with contextlib.suppress(BlockingIOError, InterruptedError):
        _sockets()[1].send(b"\0")


def drain() -> None:
    """Empty the wake-up descriptor before waiting on it again."""
    reader = _sockets()[0]
    with contextlib.suppress(BlockingIOError, InterruptedError):
        while reader.recv(4096):
            pass
