"""Redirects as a pure function: from a request and a 3xx answer to the next request.

RFC 9110 §15.4 decides the method and content; ecosystem.md §3.3 cases 32-33 decide which
credentials may follow. No I/O and no state: the transfer counts the hops and the visits.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urljoin

from ._enums import Method
from ._errors import InvalidParameterError, RedirectError, RedirectSchemeError
from ._url import URL, parse_url

__all__ = ["REDIRECT_CODES", "Hop", "header_name", "next_hop"]

#: RFC 9110 §15.4: the redirects a user agent may follow automatically.
REDIRECT_CODES = frozenset((301, 302, 303, 307, 308))
# Dropped when a redirect turns the request into a GET without content (RFC 9110 §15.4.4).
_CONTENT_HEADERS = frozenset(
    (
        "content-type",
        "content-length",
        "content-encoding",
        "content-language",
        "content-location",
        "transfer-encoding",
        "digest",
        "content-digest",
    )
)
# Dropped when a redirect leaves the origin or downgrades to http (ecosystem.md §3.3 32-33).
_CREDENTIAL_HEADERS = frozenset(("authorization", "cookie", "proxy-authorization"))


def header_name(header: str) -> str:
    """The lower-case name of a ``"Name: value"`` line."""
    return header.partition(":")[0].strip().lower()


@dataclass(frozen=True)
class Hop:
    """One request of a redirect chain: what is sent, and where."""

    method: Method | str
    url: URL
    headers: tuple[str, ...]
    body: bytes


def next_hop(hop: Hop, code: int, location: str) -> Hop:
    """The request that follows ``hop`` answered by ``code`` with ``location``.

    Raises `RedirectError` for a Location that cannot be followed (a control character,
    another scheme, no host).
    """
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in location):
        raise RedirectError(f"control character in Location {location!r}")
    try:
        absolute = urljoin(hop.url.text, location)
    except ValueError as exc:  # e.g. an unclosed "[" in the host
        raise RedirectError(f"cannot follow Location {location!r}: {exc}") from exc
    scheme = absolute.partition(":")[0].lower() if ":" in absolute else ""
    if scheme and scheme not in ("http", "https"):
        raise RedirectSchemeError(
            f"cannot follow Location {location!r}: only http and https",
            location=absolute,
            scheme=scheme,
        )
    try:
        new = parse_url(absolute)
    except (InvalidParameterError, ValueError) as exc:
        raise RedirectError(f"cannot follow Location {location!r}: {exc}") from exc
    method, body, headers = hop.method, hop.body, hop.headers
    # RFC 9110 §15.4.4: 303 turns into GET (HEAD stays HEAD); historically so does POST on
    # 301 and 302 (§15.4.2-3). 307 and 308 keep method and content.
    if (code == 303 and method != Method.METHOD_HEAD) or (
        code in (301, 302) and method == Method.METHOD_POST
    ):
        method, body = Method.METHOD_GET, b""
        headers = tuple(h for h in headers if header_name(h) not in _CONTENT_HEADERS)
    downgrade = hop.url.scheme == "https" and new.scheme == "http"
    if new.origin != hop.url.origin or downgrade:
        headers = tuple(h for h in headers if header_name(h) not in _CREDENTIAL_HEADERS)
    if new.origin == hop.url.origin and not new.credentials:
        # Credentials from the URL go on within the origin, never to another host.
        new = replace(new, credentials=hop.url.credentials)
    return Hop(method, new, headers, body)
