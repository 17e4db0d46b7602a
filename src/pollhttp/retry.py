"""Retry: a policy that says whether a failed attempt is tried again, and after how long.

A value object, as urllib3's ``Retry`` is: `increment` returns the policy for the next
attempt (counters spent) or None when the attempt must not be retried. Nothing here
sleeps: the caller turns `delay` into a deadline (HTTPRequest reports it through
``get_wait_timeout()``). Godot has no retries.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from ._checks import check_int, check_seconds, check_text
from ._errors import InvalidTypeError

__all__ = ["IDEMPOTENT_METHODS", "Failure", "Retry", "parse_retry_after"]

#: RFC 9110 §9.2.2: methods whose repetition has the same effect as one request.
IDEMPOTENT_METHODS = frozenset(("GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"))


class Failure(Enum):
    """What went wrong with an attempt."""

    CONNECT = "connect"  # no connection: nothing reached the server
    READ = "read"  # the connection failed after the request may have reached the server
    STATUS = "status"  # a response whose status is in ``status_forcelist``


def _count(name: str, value: int | None) -> int | None:
    return None if value is None else check_int(name, value, 0, 1 << 30)


@dataclass(frozen=True)
class Retry:
    """How often to retry, which failures, and how long to wait in between.

    ``total`` caps every kind together; ``connect``, ``read`` and ``status`` cap one kind
    (None: only ``total`` applies). A READ failure is retried only for
    ``allowed_methods``: a request that may have reached the server is never resent
    unless the method is in that set. The wait is ``backoff_factor * 2 ** (retries - 1)``
    (none before the first retry), at most ``backoff_max``; with
    ``respect_retry_after`` a ``Retry-After`` answer (seconds or an HTTP-date, RFC 9110
    §10.2.3) is waited for instead, capped by ``backoff_max`` too.
    """

    total: int | None = 3
    connect: int | None = None
    read: int | None = None
    status: int | None = None
    backoff_factor: float = 0.0
    backoff_max: float = 120.0
    status_forcelist: frozenset[int] = frozenset((429, 502, 503, 504))
    allowed_methods: frozenset[str] = IDEMPOTENT_METHODS
    respect_retry_after: bool = True
    #: No retry starts later than this many seconds after the first attempt (curl's
    #: ``--retry-max-time``); None: no such limit.
    max_time: float | None = None
    #: How many retries this policy has already allowed.
    retries: int = 0

    def __post_init__(self) -> None:
        _count("total", self.total)
        _count("connect", self.connect)
        _count("read", self.read)
        _count("status", self.status)
        check_seconds("backoff_factor", self.backoff_factor, none_ok=False)
        check_seconds("backoff_max", self.backoff_max, none_ok=False)
        check_seconds("max_time", self.max_time)
        codes = _members("status_forcelist", self.status_forcelist, int, "status codes")
        methods = _members("allowed_methods", self.allowed_methods, str, "method names")
        object.__setattr__(self, "status_forcelist", codes)
        object.__setattr__(self, "allowed_methods", frozenset(m.upper() for m in methods))

    @classmethod
    def from_value(cls, value: Retry | int | bool | None) -> Retry:
        """A policy from what users pass: a `Retry`, a number of retries, or False/None."""
        if isinstance(value, Retry):
            return value
        if value is None or value is False:
            return cls(total=0)
        if value is True:
            return cls()
        if isinstance(value, int):
            return cls(total=check_int("retries", value, 0, 1 << 30))
        raise InvalidTypeError(f"retries must be a Retry, an int or None, not {type(value)}")

    def is_retry_status(self, method: str, status_code: int) -> bool:
        """Whether a response with ``status_code`` to ``method`` should be tried again."""
        check_int("status_code", status_code, 100, 999)
        return (
            status_code in self.status_forcelist
            and check_text("method", method).upper() in self.allowed_methods
        )

    def increment(self, method: str, failure: Failure) -> Retry | None:
        """The policy for the next attempt, or None when this failure is not retried."""
        method = check_text("method", method)
        if not isinstance(failure, Failure):
            raise InvalidTypeError(f"failure must be a Failure, not {type(failure).__name__}")
        if failure is Failure.READ and method.upper() not in self.allowed_methods:
            return None
        if failure is Failure.STATUS and method.upper() not in self.allowed_methods:
            return None
        total = None if self.total is None else self.total - 1
        changes: dict[str, int | None] = {"total": total, "retries": self.retries + 1}
        own = getattr(self, failure.value)
        if own is not None:
            changes[failure.value] = own - 1
        if any(value is not None and value < 0 for value in changes.values()):
            return None
        return replace(self, **changes)  # type: ignore[arg-type]

    def backoff(self) -> float:
        """Seconds to wait before the next attempt, by the backoff rule alone."""
        if self.retries <= 1 or not self.backoff_factor:
            return 0.0
        exponent = min(self.retries - 1, 64)  # 2 ** 64 s is past any backoff_max
        return min(self.backoff_max, self.backoff_factor * 2.0**exponent)

    def delay(self, retry_after: str | None = None, now: float | None = None) -> float:
        """Seconds to wait: the server's ``Retry-After`` if it gave one and it counts.

        ``now`` is the wall-clock time (``time.time()``) an HTTP-date is measured from.
        A malformed ``Retry-After`` is ignored.
        """
        if retry_after is not None:
            check_text("retry_after", retry_after)
        if now is not None:
            check_seconds("now", now)
        if self.respect_retry_after and retry_after:
            wait = parse_retry_after(retry_after, time.time() if now is None else now)
            if wait is not None:
                return min(wait, self.backoff_max)
        return self.backoff()


def _members(name: str, value: object, kind: type, what: str) -> frozenset[Any]:
    """A set argument: an iterable (not a string) of ``kind`` values."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidTypeError(f"{name} must be a set of {what}, not {type(value).__name__}")
    items = list(value)
    if not all(isinstance(item, kind) and not isinstance(item, bool) for item in items):
        raise InvalidTypeError(f"{name} must hold {what} ({kind.__name__})")
    return frozenset(items)


def parse_retry_after(value: str, now: float) -> float | None:
    """``Retry-After`` in seconds from ``now``: delay-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None  # RFC 9110 §5.6.7: an HTTP-date is always GMT
    seconds = when.timestamp() - now
    return max(0.0, seconds) if math.isfinite(seconds) else None
