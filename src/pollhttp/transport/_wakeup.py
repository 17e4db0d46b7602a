"""Wake-up descriptors for work that finishes off the caller's thread.

Name lookups and HTTPRequest worker threads have no socket of their own to wait on; when
they finish something they ring every waiting thread's doorbell, so a selector (or an
asyncio loop) sleeping on its thread's `wakeup_fd()` wakes instead of polling on a timer.
Each thread has its own doorbell, so one thread emptying its doorbell never takes the
ring away from another.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import weakref

__all__ = ["drain", "notify", "wakeup_fd"]


def _close(*socks: socket.socket) -> None:
    for sock in socks:
        sock.close()


class _Doorbell:
    def __init__(self) -> None:
        self.reader, self.writer = socket.socketpair()
        self.reader.setblocking(False)
        self.writer.setblocking(False)
        # Closed when the owning thread ends (its thread-local goes), or at exit.
        weakref.finalize(self, _close, self.reader, self.writer)

    def ring(self) -> None:
        with contextlib.suppress(OSError):  # full: already rung; closed: its thread is gone
            self.writer.send(b"\0")


_local = threading.local()
_lock = threading.Lock()
_doorbells: weakref.WeakSet[_Doorbell] = weakref.WeakSet()


def _doorbell() -> _Doorbell:
    bell: _Doorbell | None = getattr(_local, "bell", None)
    if bell is None:
        bell = _local.bell = _Doorbell()
        with _lock:
            _doorbells.add(bell)
    return bell


def wakeup_fd() -> int:
    """The calling thread's descriptor that becomes readable when background work finishes."""
    return _doorbell().reader.fileno()


def notify() -> None:
    """Ring every thread's doorbell."""
    with _lock:
        bells = list(_doorbells)
    for bell in bells:
        bell.ring()


def drain() -> None:
    """Empty the calling thread's doorbell before waiting on it again."""
    reader = _doorbell().reader
    with contextlib.suppress(BlockingIOError, InterruptedError):
        while reader.recv(4096):
            pass
