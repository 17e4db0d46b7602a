"""Small helpers shared by the proxy tests: reading raw request heads."""

from __future__ import annotations

import base64

from .conftest import PASSWORD, USER

#: The Proxy-Authorization value for USER and PASSWORD.
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode("ascii")


def request_line(raw: bytes) -> str:
    return raw.split(b"\r\n", 1)[0].decode("latin-1")


def header_lines(raw: bytes) -> list[str]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return head.split("\r\n")[1:]


def headers_of(raw: bytes) -> dict[str, list[str]]:
    """Lower-case header name -> every value it had, in order."""
    result: dict[str, list[str]] = {}
    for line in header_lines(raw):
        name, _, value = line.partition(":")
        result.setdefault(name.strip().lower(), []).append(value.strip())
    return result
