"""The one-call API: ``pollhttp.request()``, ``get()``, ``post()`` and the `Response`.

Built on `HTTPRequest`: each call is one request with its redirects, run to the end in
the calling thread, which sleeps on the socket meanwhile. Failures raise pollhttp
exceptions; nothing here is in Godot.
"""

from __future__ import annotations

import json as _json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._checks import check_body, check_headers, check_text
from ._enums import Error, Method
from ._errors import HTTPStatusError, InvalidParameterError, InvalidTypeError, PollHTTPError
from ._redirects import header_name
from .client import BodyArgument, HeaderArgument, HTTPClient
from .http_request import HTTPRequest, Result
from .transport import TLSOptions

if TYPE_CHECKING:
    from http.cookiejar import CookieJar

__all__ = ["Call", "Headers", "Response", "get", "post", "request"]


class Headers(Mapping[str, str]):
    """Response headers: case-insensitive lookup; repeated fields joined with ``", "``."""

    def __init__(self, lines: Sequence[str]) -> None:
        if isinstance(lines, str) or not isinstance(lines, Iterable):
            raise InvalidTypeError(
                f'lines must be a list of "Name: value" strings, not {type(lines).__name__}'
            )
        lines = list(lines)
        if not all(isinstance(line, str) for line in lines):
            raise InvalidTypeError('lines must be a list of "Name: value" strings')
        self._fields = [
            (name.strip(), value.strip())
            for name, _, value in (line.partition(":") for line in lines)
        ]

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name``, in order (``Set-Cookie`` needs this)."""
        wanted = check_text("name", name).lower()
        return [value for key, value in self._fields if key.lower() == wanted]

    def __getitem__(self, name: str) -> str:
        if not isinstance(name, str):
            raise KeyError(name)  # so get() gives its default and ``in`` says False
        values = self.get_all(name)
        if not values:
            raise KeyError(name)
        return ", ".join(values)

    def __iter__(self) -> Iterator[str]:
        seen: dict[str, None] = {}
        for key, _ in self._fields:
            seen.setdefault(key.lower(), None)
        return iter(seen)

    def __len__(self) -> int:
        return len({key.lower() for key, _ in self._fields})

    def __repr__(self) -> str:
        return f"Headers({self._fields!r})"


@dataclass(frozen=True)
class Response:
    """The result of `pollhttp.request()`: status, headers and the decoded body."""

    status_code: int
    headers: Headers
    content: bytes
    url: str

    @property
    def ok(self) -> bool:
        """True for status codes below 400."""
        return self.status_code < 400

    @property
    def text(self) -> str:
        """The body decoded with the charset of Content-Type (UTF-8 when none is named)."""
        charset = "utf-8"
        for param in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = param.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip('"')
        try:
            return self.content.decode(charset, errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return _json.loads(self.content)

    def raise_for_status(self) -> Response:
        """Raise `HTTPStatusError` for a 4xx or 5xx status; return the response otherwise."""
        if self.status_code >= 400:
            raise HTTPStatusError(
                f"HTTP {self.status_code} for {self.url}", status_code=self.status_code
            )
        return self


class Call:
    """A request of the one-call API: an `HTTPRequest` started, and its outcome when done."""

    def __init__(
        self,
        method: str,
        url: str,
        *,
        headers: HeaderArgument = None,
        data: BodyArgument | Mapping[str, Any] | None = None,
        json: Any = None,
        timeout: float | None = None,
        max_redirects: int = 8,
        tls_options: TLSOptions | None = None,
        accept_gzip: bool = True,
        cookie_jar: CookieJar | None = None,
        ip_version: int = 0,
    ) -> None:
        try:
            verb = Method[f"METHOD_{check_text('method', method).upper()}"]
        except KeyError:
            raise InvalidParameterError(f"unsupported method {method!r}") from None
        check_text("url", url)
        lines, left_out = check_headers("headers", headers)
        body, content_type = b"", ""
        if json is not None:
            if data is not None:
                raise InvalidParameterError("give data or json, not both: one would be lost")
            try:
                # allow_nan=False: NaN and Infinity are not JSON (RFC 8259 §6).
                text = _json.dumps(json, separators=(",", ":"), allow_nan=False)
            except TypeError as exc:
                raise InvalidTypeError(f"json cannot be sent as JSON: {exc}") from exc
            except ValueError as exc:
                raise InvalidParameterError(f"json cannot be sent as JSON: {exc}") from exc
            body, content_type = text.encode(), "application/json"
        elif isinstance(data, Mapping):
            body = HTTPClient.query_string_from_dict(data).encode()
            content_type = "application/x-www-form-urlencoded"
        elif data is not None:
            body = check_body("data", data)
        names = {header_name(line) for line in lines} | left_out
        if content_type and "content-type" not in names:
            lines.append(f"Content-Type: {content_type}")
        if tls_options is not None and not isinstance(tls_options, TLSOptions):
            raise InvalidTypeError(
                f"tls_options must be TLSOptions or None, not {type(tls_options).__name__}"
            )
        self.agent = agent = HTTPRequest(cookie_jar=cookie_jar)
        agent.timeout = timeout
        agent.max_redirects = max_redirects
        agent.accept_gzip = accept_gzip
        agent.ip_version = ip_version
        if tls_options is not None:
            agent.set_tls_options(tls_options)
        self.outcome: tuple[Result, int, list[str], bytearray] | None = None
        agent.request_completed.connect(self._completed)
        headers_out: list[str | tuple[str, None]] = [*lines]
        headers_out += [(name, None) for name in sorted(left_out)]
        if agent.request_raw(url, headers_out, verb, body) != Error.OK:
            agent.close()
            raise agent.get_last_error() or InvalidParameterError(f"invalid request for {url!r}")

    def _completed(self, *outcome: Any) -> None:
        self.outcome = outcome

    def response(self) -> Response:
        """The `Response`, or the exception of the failure."""
        assert self.outcome is not None
        result, code, headers, content = self.outcome
        if result != Result.RESULT_SUCCESS:
            raise self.agent.get_last_error() or PollHTTPError(f"request failed: {result.name}")
        return Response(code, Headers(headers), bytes(content), self.agent.get_final_url())


def request(
    method: str,
    url: str,
    *,
    headers: HeaderArgument = None,
    data: BodyArgument | Mapping[str, Any] | None = None,
    json: Any = None,
    timeout: float | None = None,
    max_redirects: int = 8,
    tls_options: TLSOptions | None = None,
    accept_gzip: bool = True,
    cookie_jar: CookieJar | None = None,
    ip_version: int = 0,
) -> Response:
    """Make one request and return its `Response`; failures raise pollhttp exceptions.

    ``data`` (bytes, bytearray, memoryview or str) is sent as it is, with any method, GET
    included; a mapping is form-encoded; ``json`` is sent as JSON. ``headers`` are
    ``"Name: value"`` lines, ``(name, value)`` pairs or a mapping; a None value leaves that
    header out, a default one included. ``timeout`` limits the whole request in seconds
    (None or ``math.inf``: no limit). ``ip_version`` 4 or 6 keeps to that address family.
    A wrong argument raises `InvalidTypeError` or `InvalidParameterError` naming it, and
    nothing is sent. Blocks the calling thread, sleeping on the socket.
    """
    call = Call(
        method,
        url,
        headers=headers,
        data=data,
        json=json,
        timeout=timeout,
        max_redirects=max_redirects,
        tls_options=tls_options,
        accept_gzip=accept_gzip,
        cookie_jar=cookie_jar,
        ip_version=ip_version,
    )
    with call.agent as agent:
        while call.outcome is None:
            agent.poll()
            if call.outcome is None:
                agent.wait(agent.get_wait_timeout())
        return call.response()


def get(url: str, **kwargs: Any) -> Response:
    """``request("GET", url, ...)``."""
    return request("GET", url, **kwargs)


def post(url: str, **kwargs: Any) -> Response:
    """``request("POST", url, ...)``."""
    return request("POST", url, **kwargs)
