"""Argument checks shared by the public API: one place that turns a wrong value into a clear error.

Every check names the parameter and what it accepts, and raises at the call or assignment
that took the value, never later in the middle of a transfer. Wrong types raise
`InvalidTypeError` (a `TypeError` and an `InvalidParameterError` at once); wrong values
raise `InvalidParameterError` (a `ValueError`).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

from ._errors import InvalidParameterError, InvalidTypeError

__all__ = [
    "NO_LIMIT",
    "check_body",
    "check_bool",
    "check_buffer",
    "check_bytes",
    "check_callable",
    "check_clock",
    "check_hashable",
    "check_headers",
    "check_instance",
    "check_int",
    "check_items",
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


def check_items(name: str, value: object, what: str) -> list[Any]:
    """The items of a collection (list, tuple, set, generator), read into a list.

    ``what`` says what is accepted ("a list of ..."). Refused by type, because iterating
    them would yield something else than items: a single str or bytes (characters), a
    mapping (its keys only), a file object (its lines, or an error once it is closed).
    """
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        raise InvalidTypeError(f"{name} must be {what}, not a single {_type_name(value)}")
    if (
        isinstance(value, (Mapping, io.IOBase))
        or callable(getattr(value, "read", None))
        or not isinstance(value, Iterable)
    ):
        raise InvalidTypeError(f"{name} must be {what}, not {_type_name(value)}")
    return list(value)


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
    items: Iterable[Any]
    if isinstance(value, Mapping):
        items = value.items()
    else:
        accepted = 'a list of "Name: value" strings, (name, value) pairs or a mapping'
        items = check_items(name, value, accepted)
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


def check_instance(name: str, value: object, cls: type[Any], what: str = "") -> None:
    """An instance of ``cls``; ``what`` names what is accepted, if not just ``cls``."""
    if not isinstance(value, cls):
        raise InvalidTypeError(f"{name} must be {what or cls.__name__}, not {_type_name(value)}")


def check_callable(name: str, value: object, what: str) -> Callable[..., Any]:
    """A function or other callable; ``what`` shows how it is called, e.g. ``"(host, port)"``."""
    if not callable(value):
        raise InvalidTypeError(f"{name} must be callable {what}, not {_type_name(value)}")
    return value


def check_hashable(name: str, value: object) -> Hashable:
    """A value usable as a dictionary key (a tuple of lists, for one, is not)."""
    try:
        hash(value)
    except TypeError:
        raise InvalidTypeError(
            f"{name} must be hashable (a str, or a tuple of str and int); "
            f"this {_type_name(value)} is not"
        ) from None
    return value


def check_bytes(name: str, value: object) -> bytes | bytearray | memoryview:
    """Bytes to send, as they are: never copied, so a large body is not copied per write.

    Text is refused: a byte stream does not choose an encoding.
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        return value
    raise InvalidTypeError(
        f"{name} must be bytes, bytearray or memoryview, not {_type_name(value)}"
    )


def check_buffer(name: str, value: object) -> memoryview:
    """A buffer to read bytes into: a bytearray or a writable memoryview, seen as bytes."""
    if not isinstance(value, (bytearray, memoryview)):
        raise InvalidTypeError(
            f"{name} must be a bytearray or a writable memoryview, not {_type_name(value)}"
        )
    try:
        view = memoryview(value)
        # Reads count bytes: a view of wider items (array('i'), ...) is taken as its bytes.
        view = view if view.format == "B" and view.ndim == 1 else view.cast("B")
    except (TypeError, ValueError) as exc:  # released, or not contiguous
        raise InvalidParameterError(f"{name} cannot be read into: {exc}") from exc
    if view.readonly:
        raise InvalidParameterError(f"{name} is read-only: give a bytearray or a view of one")
    return view


def check_clock(name: str, value: object) -> Callable[[], float]:
    """A clock such as ``time.monotonic``: called once here, it must return seconds.

    Called now so that a wrong callable (one that needs arguments, or returns something
    other than a number) is refused here, not at its first use much later.
    """
    clock = check_callable(name, value, "() -> seconds, like time.monotonic")
    try:
        now = clock()
    except Exception as exc:  # the caller's code: any failure means it is no clock
        raise InvalidTypeError(
            f"{name} must be callable () -> seconds, like time.monotonic; it raised {exc!r:.100}"
        ) from exc
    if isinstance(now, bool) or not isinstance(now, (int, float)):
        raise InvalidTypeError(f"{name} must return seconds as a number, not {_type_name(now)}")
    if math.isnan(now):
        raise InvalidParameterError(f"{name} returned NaN, not seconds")
    return clock
