"""Argument checks shared by the public API: one place that turns a wrong value into a clear error.

Every check names the parameter and what it accepts, and raises at the call or assignment
that took the value, never later in the middle of a transfer. Wrong types raise
`InvalidTypeError` (a `TypeError` and an `InvalidParameterError` at once); wrong values
raise `InvalidParameterError` (a `ValueError`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from ._errors import InvalidParameterError, InvalidTypeError

__all__ = [
    "NO_LIMIT",
    "check_body",
    "check_bool",
    "check_headers",
    "check_int",
    "check_seconds",
    "check_text",
]

#: Seconds from which a wait or a timeout is "no limit" (about 11.5 days): epoll and
#: ``poll(2)`` take milliseconds in a C int (about 24.8 days), and Python raises
#: OverflowError past that, so every finite value below this is safe to sleep on.
NO_LIMIT = 1e6


def _type_name(value: object) -> str:
    return type(value).__name__


def check_seconds(name: str, value: object, *, none_ok: bool = True) -> float | None:
    """A duration in seconds: None, infinite or huge is no limit (None); negative or NaN fails."""
    if value is None:
        if none_ok:
            return None
        raise InvalidTypeError(f"{name} must be a number of seconds, not None")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidTypeError(f"{name} must be a number of seconds, not {_type_name(value)}")
    seconds = float(value)
    if math.isnan(seconds) or seconds < 0:
        raise InvalidParameterError(f"{name} must be 0 or more seconds, got {value!r}")
    return None if seconds >= NO_LIMIT else seconds


def check_int(name: str, value: object, low: int, high: int) -> int:
    """A whole number in ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(f"{name} must be an int, not {_type_name(value)}")
    if not low <= value <= high:
        raise InvalidParameterError(f"{name} must be {low}..{high}, got {value}")
    return int(value)


def check_text(name: str, value: object) -> str:
    """A ``str`` argument (bytes are refused: the text's encoding is not guessed)."""
    if not isinstance(value, str):
        raise InvalidTypeError(f"{name} must be a str, not {_type_name(value)}")
    return value


def check_body(name: str, value: object) -> bytes:
    """A request body held in memory: bytes, bytearray, memoryview, or str (sent as UTF-8).

    ``bytes(5)`` would be five NUL bytes; an int, a bool or None is refused rather than
    turned into data nobody wrote.
    """
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidParameterError(f"{name} is text that is not valid Unicode: {exc}") from exc
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise InvalidTypeError(
        f"{name} must be bytes, bytearray, memoryview or str, not {_type_name(value)}"
    )


def check_headers(name: str, value: object) -> tuple[list[str], frozenset[str]]:
    """Request headers from any of the forms callers use: ``(lines, left_out)``.

    Accepted: a sequence of ``"Name: value"`` strings, a sequence of ``(name, value)``
    pairs, a mix of both, or a mapping of names to values; a value is shown with
    ``str()``. A value of None leaves that header out, the client's default for it
    (``User-Agent``, ``Accept``, ...) included, as requests does: ``left_out`` holds those
    names in lower case. A single string is refused: iterating it would send one header
    per character.
    """
    if value is None:
        return [], frozenset()
    accepted = '"Name: value" strings, (name, value) pairs or a mapping'
    if isinstance(value, (str, bytes, bytearray)):
        raise InvalidTypeError(
            f"{name} must be a list of {accepted}, not a single {_type_name(value)}"
        )
    items: Iterable[Any]
    if isinstance(value, Mapping):
        items = value.items()
    elif isinstance(value, Iterable):
        items = value
    else:
        raise InvalidTypeError(f"{name} must be a list of {accepted}, not {_type_name(value)}")
    lines: list[str] = []
    left_out: set[str] = set()
    for item in items:
        if isinstance(item, str):
            lines.append(item)
            continue
        if not (isinstance(item, tuple | list) and len(item) == 2):
            raise InvalidTypeError(
                f'{name}: each header must be a "Name: value" string or a (name, value) '
                f"pair, not {item!r:.60}"
            )
        header, field_value = item
        if not isinstance(header, str):
            raise InvalidTypeError(f"{name}: a header name must be a str, not {header!r:.60}")
        if field_value is None:
            left_out.add(header.strip().lower())
        elif isinstance(field_value, (bytes, bytearray, memoryview)):
            raise InvalidTypeError(
                f"{name}: the value of {header!r} must be a str, not {_type_name(field_value)}"
            )
        else:
            lines.append(f"{header}: {field_value}")
    return lines, frozenset(left_out)


def check_bool(name: str, value: object) -> bool:
    """A flag: True or False only (a string such as ``"false"`` would count as true)."""
    if not isinstance(value, bool):
        raise InvalidTypeError(f"{name} must be True or False, not {_type_name(value)}")
    return value
