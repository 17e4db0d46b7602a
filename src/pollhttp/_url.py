"""URLs as HTTPRequest uses them: an http(s) origin and a request target."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from ._errors import InvalidParameterError

__all__ = ["URL", "parse_url"]


@dataclass(frozen=True)
class URL:
    """An http or https URL, split as a request needs it."""

    scheme: str
    host: str
    port: int
    target: str  # path and query
    credentials: str = ""  # "user:password" from the URL, percent-decoded, or ""

    @property
    def origin(self) -> tuple[str, str, int]:
        """(scheme, host, port): what a kept-alive connection is shared by."""
        return self.scheme, self.host, self.port

    @property
    def text(self) -> str:
        """The URL without credentials, the port only when it is not the default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        port = "" if self.port == default else f":{self.port}"
        return f"{self.scheme}://{host}{port}{self.target}"


def parse_url(url: str) -> URL:
    """Split an http(s) URL; anything else is `InvalidParameterError` (Godot's ``parse_url``)."""
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in url):
        raise InvalidParameterError(f"whitespace or control character in URL {url!r}")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed "[" in the host
        raise InvalidParameterError(f"invalid URL {url!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidParameterError(f"invalid URL scheme in {url!r}: only http and https")
    try:
        port = parts.port
        if port is None:
            port = 443 if scheme == "https" else 80
    except ValueError as exc:
        raise InvalidParameterError(f"invalid port in URL {url!r}") from exc
    host = parts.hostname or ""
    if not host or not 1 <= port <= 65535:
        raise InvalidParameterError(f"invalid host or port in URL {url!r}")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    credentials = ""
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return URL(scheme, host, port, target, credentials)
