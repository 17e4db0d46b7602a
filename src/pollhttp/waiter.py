"""Waiting on many clients at once, in one thread, without spinning."""

from __future__ import annotations

import selectors
import time
from collections.abc import Iterable
from typing import Protocol, TypeVar

from ._checks import check_seconds
from ._errors import InvalidTypeError
from .transport import Interest, drain, wakeup_fd

__all__ = ["LONGEST_SLEEP", "Waitable", "wait"]

#: The longest single sleep in a selector, in seconds: epoll and poll take milliseconds
#: in a C int (about 24.8 days), and Python raises OverflowError past that. Longer waits
#: are slept in pieces of this size.
LONGEST_SLEEP = 86400.0


class Waitable(Protocol):
    """Anything that says what it waits for: `HTTPClient` and `HTTPRequest`."""

    def get_wait_interest(self) -> Interest | None: ...

    def get_wait_timeout(self) -> float | None: ...


W = TypeVar("W", bound=Waitable)


def check_waitable(name: str, obj: object) -> None:
    """``obj`` says what it waits for (an `HTTPClient` or an `HTTPRequest`), or it is refused."""
    if isinstance(obj, type) or not (
        callable(getattr(obj, "get_wait_interest", None))
        and callable(getattr(obj, "get_wait_timeout", None))
    ):
        raise InvalidTypeError(
            f"{name} must be an HTTPClient or HTTPRequest (anything with get_wait_interest() "
            f"and get_wait_timeout()), not {type(obj).__name__}"
        )


def wait(objects: Iterable[W], timeout: float | None = None) -> list[W]:
    """Sleep until any of ``objects`` can make progress, or ``timeout`` seconds pass.

    Returns the objects to ``poll()`` (or read) now: at once if some can progress already,
    an empty list when the time ran out or none of them waits for anything. The sleep is
    one ``selectors`` call over all their descriptors (and the wake-up descriptor of name
    lookups and worker threads); an object whose timeout is due is returned too.
    ``timeout`` None, ``math.inf`` or 1e9 (31 years) or more is no limit; negative or
    NaN raises `InvalidParameterError`.
    """
    limit = check_seconds("timeout", timeout)
    if isinstance(objects, (str, bytes)) or not isinstance(objects, Iterable):
        raise InvalidTypeError(
            "objects must be an iterable of HTTPClient or HTTPRequest, "
            f"not {type(objects).__name__}"
        )
    objects = list(objects)
    for obj in objects:
        check_waitable("each of objects", obj)
    waiting: list[tuple[W, Interest]] = []
    ready: list[W] = []
    for obj in objects:
        interest = obj.get_wait_interest()
        if interest is None:
            continue
        if interest.fd < 0:
            ready.append(obj)
            continue
        waiting.append((obj, interest))
        due = obj.get_wait_timeout()
        if due is not None:
            limit = due if limit is None else min(limit, due)
    if ready or not waiting:
        return ready
    masks: dict[int, int] = {}
    for _, interest in waiting:
        mask = (selectors.EVENT_READ if interest.read else 0) | (
            selectors.EVENT_WRITE if interest.write else 0
        )
        for fd in interest.descriptors():  # several while connects are raced
            masks[fd] = masks.get(fd, 0) | (mask or selectors.EVENT_READ)
    deadline = None if limit is None else time.monotonic() + limit
    with selectors.DefaultSelector() as selector:
        for fd, mask in masks.items():
            selector.register(fd, mask)
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            piece = None if left is None else min(left, LONGEST_SLEEP)
            fired = {key.fd for key, _ in selector.select(piece)}
            if fired or left is None or left <= LONGEST_SLEEP:
                break
    if wakeup_fd() in fired:
        drain()
    woken = [obj for obj, interest in waiting if fired.intersection(interest.descriptors())]
    if woken:
        return woken
    # Nothing fired: return the requests whose timeout is now due, so poll() reports it.
    return [obj for obj, _ in waiting if obj.get_wait_timeout() == 0]
