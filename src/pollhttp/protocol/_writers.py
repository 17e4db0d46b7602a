"""Serialise a request head (RFC 9112 §3): request line, validated fields, framing."""

from __future__ import annotations

import functools
import re

from .._errors import InvalidParameterError
from ._headers import TOKEN, check_request_field, comma_list, get_all

# Request targets (RFC 9112 §3.2): only visible US-ASCII may reach the wire, so a target
# can never carry whitespace, CR, LF or NUL into the request line.
_ORIGIN_FORM = re.compile(rb"/[\x21-\x7e]*")
_ABSOLUTE_FORM = re.compile(rb"[hH][tT][tT][pP][sS]?://[\x21-\x7e]+")
# authority-form: host ":" port, the host an IP-literal or a reg-name (RFC 3986 §3.2.2).
_AUTHORITY_FORM = re.compile(rb"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+):([0-9]{1,5})")
# Methods whose meaning includes enclosed content: RFC 9110 §8.6 says a user agent SHOULD
# send Content-Length for them even when the content is empty (nginx answers 411 without).
_CONTENT_METHODS = frozenset((b"POST", b"PUT", b"PATCH"))


def check_target(method: bytes, target: bytes) -> None:
    """Validate the request-target form for ``method`` (RFC 9112 §3.2)."""
    if method == b"CONNECT":
        m = _AUTHORITY_FORM.fullmatch(target)
        if m is None or not 1 <= int(m[1]) <= 65535:
            raise InvalidParameterError(f"CONNECT needs a 'host:port' target, got {target!r}")
    elif method == b"OPTIONS" and target == b"*":
        return
    elif _ORIGIN_FORM.fullmatch(target) is None and _ABSOLUTE_FORM.fullmatch(target) is None:
        raise InvalidParameterError(
            f"request target must be '/path', an absolute http(s) URL, '*' (OPTIONS) or "
            f"'host:port' (CONNECT), with no spaces or control characters; got {target!r}"
        )


@functools.lru_cache(maxsize=256)
def request_head(
    method: bytes,
    target: bytes,
    headers: tuple[tuple[bytes, bytes], ...],
    body_length: int,
    defaults: tuple[tuple[bytes, bytes], ...] = (),
) -> tuple[bytes, bool, bool]:
    """Return the request head, and whether it asks to close and to upgrade.

    ``headers`` are sent in order after ``Host``; each of ``defaults`` is added unless the
    caller sent a field of that name (compared case-insensitively). ``Content-Length`` is
    added when content is sent, or when the method implies content (RFC 9110 §8.6).
    Cached: a client sending the same request again skips validation and assembly.
    """
    if TOKEN.fullmatch(method) is None:
        raise InvalidParameterError(f"method is not a token: {method!r}")
    check_target(method, target)
    for name, value in headers:
        check_request_field(name, value)
    present = {name.lower() for name, _ in headers}
    if b"content-length" in present:
        if b"transfer-encoding" in present:
            # RFC 9112 §6.2: a sender MUST NOT send both.
            raise InvalidParameterError("both Content-Length and Transfer-Encoding were given")
        lengths = set(get_all(headers, b"content-length"))
        if lengths != {str(body_length).encode()}:
            raise InvalidParameterError(
                f"Content-Length {b', '.join(sorted(lengths)).decode('latin-1')} does not match "
                f"the body of {body_length} bytes"
            )
    if len(get_all(headers, b"host")) > 1:
        raise InvalidParameterError("more than one Host header")
    missing = [(name, value) for name, value in defaults if name.lower() not in present]
    # RFC 9110 §7.2: a user agent SHOULD send Host as the first field line.
    fields = [field for field in missing if field[0].lower() == b"host"]
    fields += headers
    if (
        b"content-length" not in present
        and b"transfer-encoding" not in present
        and (body_length or method in _CONTENT_METHODS)
    ):
        fields.append((b"Content-Length", str(body_length).encode()))
    fields += (field for field in missing if field[0].lower() != b"host")
    lines = [method, b" ", target, b" HTTP/1.1\r\n"]
    for name, value in fields:
        # An empty value is written "Name:", as curl does (RFC 9112 §5: OWS is optional).
        lines += (name, b": ", value, b"\r\n") if value else (name, b":\r\n")
    lines.append(b"\r\n")
    close = b"close" in comma_list(get_all(headers, b"connection"))
    return b"".join(lines), close, bool(get_all(headers, b"upgrade"))
