"""asyncio on top of the same objects: their descriptors go to the running loop.

No threads and no busy loop: ``await wait(obj)`` registers the descriptor that
``obj.get_wait_interest()`` names with ``loop.add_reader``/``add_writer`` and sleeps until
it is ready. Cancelling a task that awaits ``request()`` closes its transfer.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ._checks import check_seconds
from .api import BaseSession, Call, Response, start
from .transport import drain, wakeup_fd
from .waiter import Waitable, check_waitable

__all__ = ["Session", "get", "post", "request", "wait"]

# The wake-up descriptor is shared by every lookup and worker thread, but a loop takes one
# reader per descriptor: one dispatcher per loop wakes every coroutine waiting on it.
_wakeup_waiters: dict[asyncio.AbstractEventLoop, set[asyncio.Future[None]]] = {}


def _ring(loop: asyncio.AbstractEventLoop) -> None:
    drain()
    for future in _wakeup_waiters.pop(loop, set()):
        if not future.done():
            future.set_result(None)
    loop.remove_reader(wakeup_fd())


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def wait(obj: Waitable, timeout: float | None = None) -> bool:
    """Sleep until ``obj`` can make progress; False when ``timeout`` seconds passed first.

    The object's own deadline (``get_wait_timeout()``) also ends the wait, so that its
    ``poll()`` can report a timeout. ``timeout`` None, ``math.inf`` or 1e9 (31
    years) or more is no limit; negative or NaN raises `InvalidParameterError`.
    """
    check_waitable("obj", obj)
    timeout = check_seconds("timeout", timeout)
    interest = obj.get_wait_interest()
    if interest is None or interest.fd < 0:
        await asyncio.sleep(0)  # still yield, so other tasks (and cancellation) can run
        return True
    due = obj.get_wait_timeout()
    limit = due if timeout is None else (timeout if due is None else min(timeout, due))
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()
    fd, read, write, _ = interest
    fds = interest.descriptors()  # several while connects are raced
    if fd == wakeup_fd():
        waiters = _wakeup_waiters.setdefault(loop, set())
        if not waiters:
            loop.add_reader(fd, _ring, loop)
        waiters.add(future)
    else:
        for each in fds:
            if read or not write:
                loop.add_reader(each, _resolve, future)
            if write:
                loop.add_writer(each, _resolve, future)
    try:
        await asyncio.wait_for(future, limit)
    except asyncio.TimeoutError:
        return False
    finally:
        if fd == wakeup_fd():
            waiters = _wakeup_waiters.get(loop, set())
            waiters.discard(future)
            if not waiters and _wakeup_waiters.pop(loop, None) is not None:
                loop.remove_reader(fd)
        else:
            for each in fds:
                loop.remove_reader(each)
                loop.remove_writer(each)
    return True


async def request(method: str, url: str, **options: Any) -> Response:
    """``pollhttp.request()`` for asyncio: the same arguments, the same `Response`.

    Cancelling the task closes the connection and removes any partial download.
    """
    return await _run(start(method, url, **options))


async def _run(call: Call) -> Response:
    """Drive ``call`` on the running loop to its `Response`."""
    with call.agent as agent:  # close() cancels the transfer, also on CancelledError
        while call.outcome is None:
            agent.poll()
            if call.outcome is None:
                await wait(agent)
        return call.response()


async def get(url: str, **options: Any) -> Response:
    """``await request("GET", url, ...)``."""
    return await request("GET", url, **options)


async def post(url: str, **options: Any) -> Response:
    """``await request("POST", url, ...)``."""
    return await request("POST", url, **options)


class Session(BaseSession):
    """`pollhttp.Session` for asyncio: the same settings, pool and cookies; ``await`` calls.

    Many tasks may use one session at once; their connections come from its pool.
    """

    async def request(self, method: str, url: str, **kwargs: Any) -> Response:
        """Make one request with the session's settings (see `pollhttp.Session.request`)."""
        return await _run(self.prepare(method, url, **kwargs))

    async def get(self, url: str, **kwargs: Any) -> Response:
        """``await request("GET", url, ...)``."""
        return await self.request("GET", url, **kwargs)

    async def head(self, url: str, **kwargs: Any) -> Response:
        """``await request("HEAD", url, ...)``."""
        return await self.request("HEAD", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> Response:
        """``await request("POST", url, ...)``."""
        return await self.request("POST", url, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> Response:
        """``await request("PUT", url, ...)``."""
        return await self.request("PUT", url, **kwargs)

    async def patch(self, url: str, **kwargs: Any) -> Response:
        """``await request("PATCH", url, ...)``."""
        return await self.request("PATCH", url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> Response:
        """``await request("DELETE", url, ...)``."""
        return await self.request("DELETE", url, **kwargs)

    async def options(self, url: str, **kwargs: Any) -> Response:
        """``await request("OPTIONS", url, ...)``."""
        return await self.request("OPTIONS", url, **kwargs)

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()
