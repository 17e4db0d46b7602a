"""The Pythonic face: `Session`, ``pollhttp.request()``/``get()``/``post()``, `Response`.

Built on `HTTPRequest` and a `ConnectionPool`: each call is one request with its
redirects, run to the end in the calling thread, which sleeps on the socket meanwhile.
The top-level functions share one module-level pool (connections are reused across
calls, as ``urllib3.request()`` does) but no cookies. Failures raise pollhttp
exceptions; nothing here is in Godot.
"""

from __future__ import annotations

import atexit
import base64
import json as _json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ._checks import check_body, check_bool, check_headers, check_text
from ._enums import Error, Method
from ._errors import HTTPStatusError, InvalidParameterError, InvalidTypeError, PollHTTPError
from ._redirects import header_name
from .client import BodyArgument, HeaderArgument, HTTPClient
from .http_request import HTTPRequest, Result
from .pool import ConnectionPool
from .retry import Retry
from .transport import Proxy, TLSOptions, X509Certificate, proxy_from_url

if TYPE_CHECKING:
    from http.cookiejar import CookieJar

__all__ = [
    "BaseSession",
    "Call",
    "Headers",
    "Response",
    "Session",
    "delete",
    "get",
    "head",
    "options",
    "patch",
    "post",
    "put",
    "request",
    "start",
]


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
    """A complete response: status, headers, the decoded body, and how it was reached."""

    status_code: int
    headers: Headers
    content: bytes
    url: str
    reason: str = ""
    #: ``"1.1"`` or ``"1.0"``.
    http_version: str = ""
    #: The redirect responses followed to get here, oldest first (their bodies unread).
    history: tuple[Response, ...] = ()
    #: Seconds from the start of the request to its complete response.
    elapsed: float = 0.0
    #: The header fields of the request that got this response, as sent.
    request_headers: Headers = field(default_factory=lambda: Headers([]))

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
                f"HTTP {self.status_code} {self.reason} for {self.url}".replace("  ", " "),
                status_code=self.status_code,
                response=self,
            )
        return self


def _head_fields(head: bytes) -> Headers:
    """The header fields of a request head (its request line dropped)."""
    lines = head.decode("latin-1").split("\r\n")[1:]
    return Headers([line for line in lines if line])


@dataclass(frozen=True)
class _Options:
    """What a `Call` needs besides the request itself; a Session holds one."""

    timeout: float | None = None
    max_redirects: int = 8
    tls_options: TLSOptions | None = None
    accept_gzip: bool = True
    cookie_jar: CookieJar | None = None
    ip_version: int = 0
    pool: ConnectionPool | None = None
    retries: Retry | int | None = None
    #: Proxies by URL scheme; None takes them from the environment (lower-case
    #: ``http_proxy``, ``https_proxy``, ``no_proxy``), as curl does.
    proxies: Mapping[str, Proxy | None] | None = None


def _agent(options: _Options) -> HTTPRequest:
    """An `HTTPRequest` set up as ``options`` say (its setters check every value)."""
    tls_options = options.tls_options
    if tls_options is not None and not isinstance(tls_options, TLSOptions):
        raise InvalidTypeError(
            f"tls_options must be TLSOptions or None, not {type(tls_options).__name__}"
        )
    agent = HTTPRequest(cookie_jar=options.cookie_jar, pool=options.pool, retries=options.retries)
    agent.timeout = options.timeout
    agent.max_redirects = options.max_redirects
    agent.accept_gzip = options.accept_gzip
    agent.ip_version = options.ip_version
    if tls_options is not None:
        agent.set_tls_options(tls_options)
    if options.proxies is None:
        agent.use_environment_proxies = True
    else:
        agent.use_proxy(options.proxies.get("http"), for_https=False)
        agent.use_proxy(options.proxies.get("https"), for_https=True)
    return agent


class Call:
    """One request of the Pythonic API: an `HTTPRequest` started, and its outcome when done."""

    def __init__(
        self,
        method: str,
        url: str,
        *,
        headers: HeaderArgument = None,
        data: BodyArgument | Mapping[str, Any] | None = None,
        json: Any = None,
        options: _Options = _Options(),
    ) -> None:
        # "get" is GET, as in requests; any other token is sent as given (PROPFIND).
        name = check_text("method", method)
        verb: Method | str = Method.__members__.get(f"METHOD_{name.upper()}") or name
        if verb is Method.METHOD_MAX:
            verb = name
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
        self.agent = agent = _agent(options)
        self.outcome: tuple[Result, int, list[str], bytearray] | None = None
        agent.request_completed.connect(self._completed)
        headers_out: list[str | tuple[str, None]] = [*lines]
        headers_out += [(name, None) for name in sorted(left_out)]
        self.started = time.monotonic()
        self.elapsed = 0.0
        if agent.request_raw(url, headers_out, verb, body) != Error.OK:
            agent.close()
            raise agent.get_last_error() or InvalidParameterError(f"invalid request for {url!r}")

    def _completed(self, *outcome: Any) -> None:
        self.elapsed = time.monotonic() - self.started
        self.outcome = outcome

    def run(self) -> Response:
        """Drive the request to its end in this thread, sleeping on its socket meanwhile."""
        with self.agent as agent:
            while self.outcome is None:
                agent.poll()
                if self.outcome is None:
                    agent.wait(agent.get_wait_timeout())
            return self.response()

    def response(self) -> Response:
        """The `Response`, or the exception of the failure."""
        assert self.outcome is not None
        result, code, headers, content = self.outcome
        agent = self.agent
        if result != Result.RESULT_SUCCESS:
            raise agent.get_last_error() or PollHTTPError(f"request failed: {result.name}")
        version = agent.get_response_http_version()
        history = tuple(
            Response(hop_code, Headers(hop_headers), b"", hop_url, hop_reason, version)
            for hop_code, hop_headers, hop_url, hop_reason in agent.get_redirect_history()
        )
        return Response(
            code,
            Headers(headers),
            bytes(content),
            agent.get_final_url(),
            agent.get_response_reason(),
            version,
            history,
            self.elapsed,
            _head_fields(agent.get_request_head()),
        )


_shared_pool: ConnectionPool | None = None
_shared_lock = threading.Lock()


def _module_pool() -> ConnectionPool:
    """The pool of the top-level functions: made on first use, shared by every thread."""
    global _shared_pool
    with _shared_lock:
        if _shared_pool is None or _shared_pool.closed:
            _shared_pool = ConnectionPool()
            # Idle connections are closed at exit, not left to the garbage collector.
            atexit.register(_shared_pool.close)
        return _shared_pool


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
    retries: Retry | int | None = None,
) -> Response:
    """Make one request and return its `Response`; failures raise pollhttp exceptions.

    ``data`` (bytes, bytearray, memoryview or str) is sent as it is, with any method, GET
    included; a mapping is form-encoded; ``json`` is sent as JSON. ``headers`` are
    ``"Name: value"`` lines, ``(name, value)`` pairs or a mapping; a None value leaves that
    header out, a default one included. ``timeout`` limits the whole request in seconds
    (None or ``math.inf``: no limit). ``ip_version`` 4 or 6 keeps to that address family.
    Connections come from one module-level pool and are reused across calls; proxies
    come from the environment (lower-case ``http_proxy``, ``https_proxy``, ``no_proxy``).
    A wrong argument raises `InvalidTypeError` or `InvalidParameterError` naming it, and
    nothing is sent. Blocks the calling thread, sleeping on the socket.
    """
    return start(
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
        retries=retries,
    ).run()


def start(
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
    retries: Retry | int | None = None,
) -> Call:
    """Start a request as `request` does, and hand back its `Call` to drive (``pollhttp.aio``)."""
    options = _Options(
        timeout=timeout,
        max_redirects=max_redirects,
        tls_options=tls_options,
        accept_gzip=accept_gzip,
        cookie_jar=cookie_jar,
        ip_version=ip_version,
        pool=_module_pool(),
        retries=retries,
    )
    return Call(method, url, headers=headers, data=data, json=json, options=options)


def get(url: str, **kwargs: Any) -> Response:
    """``request("GET", url, ...)``."""
    return request("GET", url, **kwargs)


def head(url: str, **kwargs: Any) -> Response:
    """``request("HEAD", url, ...)``."""
    return request("HEAD", url, **kwargs)


def post(url: str, **kwargs: Any) -> Response:
    """``request("POST", url, ...)``."""
    return request("POST", url, **kwargs)


def put(url: str, **kwargs: Any) -> Response:
    """``request("PUT", url, ...)``."""
    return request("PUT", url, **kwargs)


def patch(url: str, **kwargs: Any) -> Response:
    """``request("PATCH", url, ...)``."""
    return request("PATCH", url, **kwargs)


def delete(url: str, **kwargs: Any) -> Response:
    """``request("DELETE", url, ...)``."""
    return request("DELETE", url, **kwargs)


def options(url: str, **kwargs: Any) -> Response:
    """``request("OPTIONS", url, ...)``."""
    return request("OPTIONS", url, **kwargs)


_UNSET: Any = object()


class BaseSession:
    """A Session's settings and how it turns a call into a `Call`; see `Session`."""

    def __init__(
        self,
        *,
        base_url: str = "",
        headers: HeaderArgument = None,
        params: Mapping[str, Any] | None = None,
        auth: tuple[str, str] | Callable[[list[str]], list[str]] | None = None,
        timeout: float | None = None,
        max_redirects: int = 8,
        tls_options: TLSOptions | None = None,
        verify: bool | str = True,
        proxies: Mapping[str, str | None] | None = None,
        trust_env: bool = True,
        retries: Retry | int | None = None,
        accept_gzip: bool = True,
        ip_version: int = 0,
        pool: ConnectionPool | None = None,
        max_per_host: int = 10,
        resolve_overrides: Mapping[str, Sequence[str]] | None = None,
        happy_eyeballs_delay: float | None = 0.25,
    ) -> None:
        from http.cookiejar import CookieJar  # noqa: PLC0415 - only sessions keep cookies

        self.base_url = check_text("base_url", base_url)
        lines, left_out = check_headers("headers", headers)
        self.headers: list[str | tuple[str, None]] = [*lines]
        self.headers += [(name, None) for name in sorted(left_out)]
        self.params = _params("params", params)
        if auth is not None and not callable(auth):
            if not (isinstance(auth, tuple) and len(auth) == 2):
                raise InvalidTypeError("auth must be (user, password) or a callable")
            check_text("auth user", auth[0])
            check_text("auth password", auth[1])
        self.auth = auth
        #: The cookie jar, kept across the session's requests.
        self.cookies = CookieJar()
        if pool is not None and not isinstance(pool, ConnectionPool):
            raise InvalidTypeError(f"pool must be a ConnectionPool or None, not {type(pool)}")
        self._owns_pool = pool is None
        self._pool = pool or ConnectionPool(
            max_per_host=max_per_host,
            ip_version=ip_version,
            resolve_overrides=resolve_overrides,
            happy_eyeballs_delay=happy_eyeballs_delay,
        )
        if tls_options is None:
            tls_options = _verify_options(verify)
        chosen: Mapping[str, Proxy | None] | None = None  # from the environment
        if proxies is not None or not check_bool("trust_env", trust_env):
            chosen = _proxies(proxies or {})
        self._options = _Options(
            timeout=timeout,
            max_redirects=max_redirects,
            tls_options=tls_options,
            accept_gzip=accept_gzip,
            cookie_jar=self.cookies,
            ip_version=ip_version,
            pool=self._pool,
            retries=Retry.from_value(retries),
            proxies=chosen,
        )
        _agent(self._options).close()  # every setting checked now, not at the first request

    def prepare(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: HeaderArgument = None,
        data: BodyArgument | Mapping[str, Any] | None = None,
        json: Any = None,
        timeout: float | None = _UNSET,
        max_redirects: int = _UNSET,
        retries: Retry | int | None = _UNSET,
    ) -> Call:
        """Start one request with the session's settings; the caller drives the `Call`."""
        full = self.base_url + check_text("url", url)
        query = {**self.params, **_params("params", params)}
        if query:
            encoded = HTTPClient.query_string_from_dict(query)
            full += ("&" if "?" in full else "?") + encoded
        lines, left_out = check_headers("headers", headers)
        given = {header_name(line) for line in lines} | left_out
        # The call's own headers replace the session's of the same name.
        merged = [h for h in self.headers if _field_name(h) not in given]
        merged += lines
        merged += [(name, None) for name in sorted(left_out)]
        auth = self.auth
        if callable(auth):
            merged = [*auth([h for h in merged if isinstance(h, str)])]
        elif auth is not None and "authorization" not in given:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            merged.append(f"Authorization: Basic {token}")
        changes: dict[str, Any] = {}
        if timeout is not _UNSET:
            changes["timeout"] = timeout
        if max_redirects is not _UNSET:
            changes["max_redirects"] = max_redirects
        if retries is not _UNSET:
            changes["retries"] = Retry.from_value(retries)
        options = _replace(self._options, changes)
        return Call(method, full, headers=merged, data=data, json=json, options=options)

    @property
    def pool(self) -> ConnectionPool:
        """The session's connection pool (its own, or the one it was given)."""
        return self._pool

    def close(self) -> None:
        """Close the session's idle connections (and its pool, if it made it)."""
        if self._owns_pool:
            self._pool.close()
        else:
            self._pool.clear_idle()


def _params(name: str, value: object) -> dict[str, Any]:
    """Query parameters: a mapping of names to values (None: none)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidTypeError(f"{name} must be a mapping, not {type(value).__name__}")
    if not all(isinstance(key, str) for key in value):
        raise InvalidTypeError(f"{name}: the names must be str")
    return dict(value)


def _proxies(value: object) -> dict[str, Proxy | None]:
    """``proxies=``: ``{"http": url, "https": url}``; a None or empty URL means direct."""
    if not isinstance(value, Mapping):
        raise InvalidTypeError(f"proxies must be a mapping, not {type(value).__name__}")
    chosen: dict[str, Proxy | None] = {}
    for scheme, url in value.items():
        if scheme not in ("http", "https"):
            raise InvalidParameterError(f"proxies: the keys are 'http' and 'https', not {scheme!r}")
        if url is not None and not isinstance(url, str):
            raise InvalidTypeError(f"proxies[{scheme!r}] must be a URL (str) or None")
        chosen[scheme] = proxy_from_url(url) if url else None
    return chosen


def _replace(options: _Options, changes: Mapping[str, Any]) -> _Options:
    return replace(options, **changes) if changes else options


def _field_name(header: str | tuple[str, None]) -> str:
    return header_name(header) if isinstance(header, str) else header[0].strip().lower()


def _verify_options(verify: bool | str) -> TLSOptions | None:
    """``verify=``: True (the system's CAs), False (no verification), or a CA file path."""
    if verify is True:
        return None  # HTTPRequest's default, shared by every request
    if verify is False:
        return TLSOptions.client_unsafe()
    if isinstance(verify, str):
        cas = X509Certificate()
        err = cas.load(verify)
        if err != Error.OK:
            raise InvalidParameterError(f"verify: cannot load CA certificates from {verify!r}")
        return TLSOptions.client(cas)
    raise InvalidTypeError(f"verify must be True, False or a CA file path, not {type(verify)}")


class Session(BaseSession):
    """Many requests with shared settings, kept-alive connections and cookies; blocking.

    ``Session(base_url=..., headers=..., params=..., auth=(user, password), timeout=...,
    max_redirects=..., verify=True/False/"ca.pem", proxies={"https": "http://proxy:3128"},
    trust_env=True, retries=Retry(...))``; then `request` and `get`, `post`, ... as in
    requests. Connections come from the session's `ConnectionPool` (``max_per_host``),
    which also caches DNS answers. Use it as a context manager, or call `close`.
    """

    def request(self, method: str, url: str, **kwargs: Any) -> Response:
        """Make one request with the session's settings and return its `Response`.

        Keywords: ``params``, ``headers``, ``data``, ``json``, ``timeout``,
        ``max_redirects``, ``retries``; the session's values apply where one is not given.
        """
        return self.prepare(method, url, **kwargs).run()

    def get(self, url: str, **kwargs: Any) -> Response:
        """``request("GET", url, ...)``."""
        return self.request("GET", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> Response:
        """``request("HEAD", url, ...)``."""
        return self.request("HEAD", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Response:
        """``request("POST", url, ...)``."""
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> Response:
        """``request("PUT", url, ...)``."""
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> Response:
        """``request("PATCH", url, ...)``."""
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Response:
        """``request("DELETE", url, ...)``."""
        return self.request("DELETE", url, **kwargs)

    def options(self, url: str, **kwargs: Any) -> Response:
        """``request("OPTIONS", url, ...)``."""
        return self.request("OPTIONS", url, **kwargs)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
