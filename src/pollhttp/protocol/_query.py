"""``HTTPClient.query_string_from_dict``, with Godot's value formatting."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from .._checks import check_instance
from .._errors import InvalidParameterError

# Godot's String.uri_encode keeps only A-Z a-z 0-9 _ . - ~ and writes %XX in upper case;
# urllib's quote does exactly that with safe="".


def _uri_encode(text: str) -> str:
    return quote(text, safe="", encoding="utf-8", errors="strict")


def _godot_float(value: float) -> str:
    """Format a float as Godot 4's ``String::num_real`` does."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == int(value) and abs(value) < 2**63:
        return f"{int(value)}.0"
    magnitude = abs(value)
    digits = 14 - math.floor(math.log10(magnitude)) if magnitude > 10 else 14
    text = f"{value:.{max(digits, 0)}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def godot_str(value: Any) -> str:
    """Render a value as Godot's ``String(Variant)`` would."""
    if value is None:
        return "<null>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _godot_float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_godot_repr(item) for item in value) + "]"
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        items = ", ".join(f"{_godot_repr(k)}: {_godot_repr(v)}" for k, v in value.items())
        return "{ " + items + " }"
    return str(value)


def _godot_repr(value: Any) -> str:
    # Inside arrays and dictionaries Godot quotes strings.
    return f'"{value}"' if isinstance(value, str) else godot_str(value)


def query_string_from_dict(fields: Mapping[Any, Any]) -> str:
    """Build an ``application/x-www-form-urlencoded`` query string, as Godot does.

    Insertion order is kept; ``None`` gives the key alone; a list or tuple repeats the key
    once per item (an empty one omits the key); other values are formatted like Godot's
    ``String(Variant)`` (``True`` is ``true``, ``2.0`` is ``2.0``) and percent-encoded.
    """
    check_instance("fields", fields, Mapping, "a mapping of names to values")
    parts: list[str] = []
    try:
        for key, value in fields.items():
            name = _uri_encode(godot_str(key))
            if isinstance(value, (list, tuple)):
                parts.extend(f"{name}={_uri_encode(godot_str(item))}" for item in value)
            elif value is None:
                parts.append(name)
            else:
                parts.append(f"{name}={_uri_encode(godot_str(value))}")
    except UnicodeEncodeError as exc:  # a lone surrogate has no UTF-8 to percent-encode
        raise InvalidParameterError(f"fields hold text that is not valid Unicode: {exc}") from exc
    return "&".join(parts)
