"""Field syntax shared by requests and responses (RFC 9110 §5, RFC 9112 §5).

Header fields stay as ``(name, value)`` byte pairs with the name's case kept; lookups are
case-insensitive. Nothing here does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from .._errors import InvalidParameterError, LimitExceededError, RemoteProtocolError

Headers = list[tuple[bytes, bytes]]

# token = 1*tchar (RFC 9110 §5.6.2).
TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# field-line = field-name ":" OWS field-value OWS (RFC 9112 §5). The value may hold VCHAR,
# obs-text, SP and HTAB (RFC 9110 §5.5); every other control character is rejected, and
# no whitespace may stand between the name and the colon (RFC 9112 §5.1).
_FIELD_LINE = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([\t\x20-\x7e\x80-\xff]*)")
_FIELD_VALUE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")
_OWS = b" \t"


def _snippet(data: bytes, limit: int = 60) -> str:
    text = repr(data[:limit])
    return text + ("..." if len(data) > limit else "")


def check_field_block(block: bytes) -> None:
    """Reject NUL and any CR not followed by LF in a head or trailer block (RFC 9112 §2.2)."""
    if b"\0" in block:
        raise RemoteProtocolError("NUL byte in the response head")
    if block.count(b"\r") != block.count(b"\r\n"):
        raise RemoteProtocolError("bare CR in the response head (RFC 9112 §2.2)")


def parse_field_lines(lines: Sequence[bytes], max_fields: int) -> Headers:
    """Parse field lines (without their line ends) into ``(name, value)`` pairs."""
    if len(lines) > max_fields:
        raise LimitExceededError(f"more than {max_fields} header fields")
    fields: Headers = []
    match = _FIELD_LINE.fullmatch
    for line in lines:
        m = match(line)
        if m is None:
            if line[:1] in (b" ", b"\t"):
                # RFC 9112 §5.2: obs-fold is deprecated; a user agent may reject it.
                raise RemoteProtocolError(f"obsolete line folding in header: {_snippet(line)}")
            raise RemoteProtocolError(f"invalid header line: {_snippet(line)}")
        fields.append((m[1], m[2].rstrip(_OWS)))
    return fields


def get_all(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    """Every value of the field ``name`` (lower-case), in order."""
    return [value for key, value in headers if key.lower() == name]


def comma_list(values: Iterable[bytes]) -> list[bytes]:
    """Split list-valued fields into lower-case elements, dropping empty ones (RFC 9110 §5.6.1)."""
    if isinstance(values, list) and len(values) == 1 and b"," not in values[0]:
        item = values[0].strip(_OWS).lower()  # the usual case: one field, one element
        return [item] if item else []
    items: list[bytes] = []
    for value in values:
        items.extend(item.strip(_OWS).lower() for item in value.split(b","))
    return [item for item in items if item]


def split_request_header(header: str) -> tuple[bytes, bytes]:
    """Split one Godot-style ``"Name: value"`` string into a field (validated on sending)."""
    text = header.strip(" \t")
    colon = text.find(":")
    if colon < 1:
        raise InvalidParameterError(f"header must be 'Name: value', got {header!r}")
    return text[:colon].encode("utf-8"), text[colon + 1 :].strip(" \t").encode("utf-8")


def check_request_field(name: bytes, value: bytes) -> None:
    """Reject a field whose name is not a token or whose value holds CR, LF, NUL or a CTL.

    Godot's ``verify_headers`` only checks for a colon after the first character.
    """
    if TOKEN.fullmatch(name) is None:
        raise InvalidParameterError(f"header name is not a token: {name!r}")
    if _FIELD_VALUE.fullmatch(value) is None:
        raise InvalidParameterError(f"CR, LF, NUL or a control character in header {name!r}")
