"""HTTPRequest: Godot's high-level request object, on top of `HTTPClient`.

One request at a time per object; ``poll()`` drives it within a time and byte budget, or a
worker thread does (``use_threads``). The result arrives once per accepted request through
``request_completed``: ``(result, response_code, headers, body)``.
"""

from __future__ import annotations

import base64
import contextlib
import os
import threading
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from enum import Enum, IntEnum
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeAlias, TypeVar, overload

from ._checks import check_body, check_bool, check_headers, check_int, check_seconds, check_text
from ._download import Download
from ._enums import Error, Method, Status
from ._errors import (
    ConnectError,
    ContentDecodingError,
    DownloadFileError,
    InvalidParameterError,
    InvalidTypeError,
    LimitExceededError,
    NetworkError,
    NoResponseError,
    PollHTTPError,
    RedirectError,
    ResolveError,
    StaleConnectionError,
    TLSHandshakeError,
    TooManyRedirectsError,
    TransferTimeoutError,
)
from ._redirects import REDIRECT_CODES, Hop, header_name, next_hop
from ._url import URL, parse_url
from .client import BodyArgument, HeaderArgument, HTTPClient, encode_target, method_bytes
from .protocol import (
    MAX_CODINGS,
    ContentDecoder,
    Limits,
    accept_encoding,
    parse_codings,
    request_head,
    split_request_header,
    unsupported_codings,
)
from .retry import Failure, Retry
from .transport import (
    READY_NOW,
    Interest,
    Proxy,
    Resolver,
    TLSOptions,
    drain,
    environment_proxy,
    notify,
    parse_proxy,
    wait_for_fd,
    wakeup_fd,
)
from .waiter import LONGEST_SLEEP

if TYPE_CHECKING:
    from http.cookiejar import CookieJar

    from .pool import ConnectionPool

__all__ = ["HTTPRequest", "Result", "Signal"]


class Result(IntEnum):
    """``HTTPRequest.Result``: how a request ended."""

    RESULT_SUCCESS = 0
    RESULT_CHUNKED_BODY_SIZE_MISMATCH = 1
    RESULT_CANT_CONNECT = 2
    RESULT_CANT_RESOLVE = 3
    RESULT_CONNECTION_ERROR = 4
    RESULT_TLS_HANDSHAKE_ERROR = 5
    RESULT_NO_RESPONSE = 6
    RESULT_BODY_SIZE_LIMIT_EXCEEDED = 7
    RESULT_BODY_DECOMPRESS_FAILED = 8
    RESULT_REQUEST_FAILED = 9
    RESULT_DOWNLOAD_FILE_CANT_OPEN = 10
    RESULT_DOWNLOAD_FILE_WRITE_ERROR = 11
    RESULT_REDIRECT_LIMIT_REACHED = 12
    RESULT_TIMEOUT = 13


class Signal:
    """A Godot-style signal: ``connect(callback)``, then every ``emit`` calls it."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., object]] = []

    def connect(self, callback: Callable[..., object]) -> Error:
        """Call ``callback`` on every emission; connecting twice is ``ERR_INVALID_PARAMETER``.

        Anything but a callable raises `InvalidTypeError` (Godot returns
        ``ERR_INVALID_PARAMETER`` for an invalid callable).
        """
        if not callable(callback):
            raise InvalidTypeError(f"callback must be callable, not {type(callback).__name__}")
        if callback in self._callbacks:
            return Error.ERR_INVALID_PARAMETER
        self._callbacks.append(callback)
        return Error.OK

    def disconnect(self, callback: Callable[..., object]) -> None:
        """Stop calling ``callback``."""
        with contextlib.suppress(ValueError):
            self._callbacks.remove(callback)

    def is_connected(self, callback: Callable[..., object]) -> bool:
        """Whether ``callback`` is connected."""
        return callback in self._callbacks

    def emit(self, *args: object) -> None:
        """Call every connected callback with ``args``."""
        for callback in list(self._callbacks):
            callback(*args)


# RFC 9110 §9.2.2: requests that can be retried on a fresh connection.
_IDEMPOTENT = frozenset(
    (
        Method.METHOD_GET,
        Method.METHOD_HEAD,
        Method.METHOD_PUT,
        Method.METHOD_DELETE,
        Method.METHOD_OPTIONS,
        Method.METHOD_TRACE,
    )
)
_FAILED_STATUS = {
    Status.STATUS_CANT_RESOLVE: Result.RESULT_CANT_RESOLVE,
    Status.STATUS_CANT_CONNECT: Result.RESULT_CANT_CONNECT,
    Status.STATUS_TLS_HANDSHAKE_ERROR: Result.RESULT_TLS_HANDSHAKE_ERROR,
    Status.STATUS_CONNECTION_ERROR: Result.RESULT_CONNECTION_ERROR,
}
_WAITING = (Status.STATUS_RESOLVING, Status.STATUS_CONNECTING, Status.STATUS_REQUESTING)

# Failures reported with the response's real code and headers (Godot's rule, §4.4).
_KEEPS_RESPONSE = (
    LimitExceededError,
    DownloadFileError,
    ContentDecodingError,
    TooManyRedirectsError,
)


def _cookie_request(url: str) -> Any:
    """What ``CookieJar`` reads a request from; imported only when cookies are in use."""
    import urllib.request  # noqa: PLC0415 - 10 ms of import time that most programs never need

    return urllib.request.Request(url)


class _CookieResponse:
    """What ``CookieJar.extract_cookies`` reads from a response: ``info().get_all()``."""

    def __init__(self, headers: Sequence[str]) -> None:
        self._headers = headers

    def info(self) -> _CookieResponse:
        return self

    def get_all(self, name: str, default: list[str] | None = None) -> list[str] | None:
        values = [
            line.partition(":")[2].strip()
            for line in self._headers
            if header_name(line) == name.lower()
        ]
        return values or default


class _Phase(Enum):
    """Where a transfer stands."""

    CONNECT = "connect"  # getting a connection for the current URL (and sending on it)
    SEND = "send"  # the request is going out; then the response head comes in
    BODY = "body"  # reading the body the caller gets
    DRAIN = "drain"  # reading away a small redirect body to keep the connection
    BACKOFF = "backoff"  # waiting before a retry (the deadline is `retry_at`)


class _Connections(Protocol):
    """Where a transfer gets its connection: a `ConnectionPool`, or the request's own one."""

    def acquire(self, key: Hashable) -> HTTPClient | None: ...

    def release(self, key: Hashable, client: HTTPClient) -> None: ...


class _OwnConnection:
    """The one kept-alive connection of an HTTPRequest without a pool, as in Godot.

    The same `HTTPClient` serves every request (so settings made through
    ``get_http_client()`` stay); it is closed when a request goes to another key.
    """

    def __init__(self, make: Callable[[], HTTPClient]) -> None:
        self._make = make
        self.client: HTTPClient | None = None
        self._key: Hashable | None = None

    def get(self) -> HTTPClient:
        """The client, made when first needed."""
        if self.client is None:
            self.client, self._key = self._make(), None
        return self.client

    def acquire(self, key: Hashable) -> HTTPClient:
        client = self.get()
        if self._key != key:
            client.close()  # it served another origin (or none yet): connect it anew
            self._key = key
        return client

    def release(self, key: Hashable, client: HTTPClient) -> None:
        """Nothing to do: the client stays, connected or not, for the next request."""

    def forget(self) -> None:
        """Drop the client without closing it (a worker thread still holds it)."""
        self.client, self._key = None, None

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        self._key = None


class _Transfer:
    """One accepted request with its redirects: the state ``poll()`` or a worker advances."""

    def __init__(
        self,
        owner: HTTPRequest,
        url: URL,
        method: Method | str,
        headers: list[str],
        body: bytes,
        *,
        left_out: frozenset[str] = frozenset(),
        connections: _Connections,
        key_for: Callable[[URL], Hashable],
        retry: Retry,
    ) -> None:
        self.owner = owner
        self.connections = connections
        self.key_for = key_for
        # The connection in use and the key it was taken for; None between connections.
        self.client: HTTPClient | None = None
        self.key: Hashable | None = None
        self.retry = retry
        self.retry_at = 0.0  # when a retry may start (monotonic), in phase BACKOFF
        self.pool_full = False  # the pool had no connection to lend: wait for a release
        self.url = url
        self.method = method
        self.headers = headers
        self.body = body
        self.left_out = left_out  # lower-case names the caller asked not to send
        self.redirects = 0
        self.visited = {(method, url.text): 1}
        self.started = time.monotonic()
        self.last_activity = self.started
        self.phase = _Phase.CONNECT
        self.fresh = False  # the connection was opened for this transfer, not yet used
        self.reused = False
        self.retried = False
        self.cancelled = False
        self.lock = threading.Lock()
        self.result: tuple[Result, int, list[str], bytearray] | None = None
        self.error: PollHTTPError | None = None
        self.code = 0
        self.reason = ""
        self.http_version = ""
        self.request_head = b""
        # (code, headers, URL, reason) of each redirect response followed, in order.
        self.history: list[tuple[int, list[str], str, str]] = []
        self.response_headers: list[str] = []
        self.body_size = -1
        self.downloaded = 0
        self.decoded = 0
        # Grown as pieces arrive, and handed over as it is: completing a large download
        # never copies the whole body in one poll().
        self.body_buffer = bytearray()
        self.decoder: ContentDecoder | None = None
        self.undecoded = ""
        self.download = (
            Download(owner.download_file, resume=owner.resume_download)
            if owner.download_file
            else None
        )
        self.progress: tuple[int, int] | None = None
        self.upload: tuple[int, int] | None = None
        self.news = threading.Event()  # set by a worker when there is something to emit

    # -- finishing -----------------------------------------------------------------------

    def finish(
        self,
        result: Result,
        error: PollHTTPError | None = None,
        *,
        keep_response: bool = False,
        body: bytearray | None = None,
    ) -> None:
        """Record the outcome once; clean up the connection and the download file."""
        if not self.record(result, error, keep_response=keep_response, body=body):
            return
        success = result == Result.RESULT_SUCCESS
        self._close_file(success)
        client = self.client
        if client is not None:
            switched = self.code == 101 or self.method == Method.METHOD_CONNECT
            if not success or switched or client.get_status() != Status.STATUS_CONNECTED:
                client.close()  # after a 101 the connection no longer speaks HTTP
        self._give_back()

    def record(
        self,
        result: Result,
        error: PollHTTPError | None,
        *,
        keep_response: bool = False,
        body: bytearray | None = None,
    ) -> bool:
        """Set the outcome unless one is set already (a worker and the caller may race)."""
        with self.lock:
            if self.result is not None:
                return False
            kept = result == Result.RESULT_SUCCESS or keep_response
            headers = list(self.response_headers) if kept else []
            self.result = (result, self.code if kept else 0, headers, body or bytearray())
            self.error = error
            return True

    def abort(self) -> None:
        """Cancelled: drop the connection and any partial file, quietly."""
        if self.client is not None:
            self.client.close()
        self._give_back()
        self._close_file(False)

    def _give_back(self) -> None:
        """Return the connection to where it came from (closed unless reusable)."""
        client, self.client = self.client, None
        if client is not None:
            if client.get_status() is not Status.STATUS_CONNECTED:
                client.close()
            self.connections.release(self.key, client)

    def _close_file(self, success: bool) -> None:
        if self.download is None:
            return
        error = self.download.close(success)
        if error is not None:
            with self.lock:
                self.result = (
                    Result.RESULT_DOWNLOAD_FILE_WRITE_ERROR,
                    self.code,
                    list(self.response_headers),
                    bytearray(),
                )
                self.error = error

    # -- advancing -------------------------------------------------------------------------

    def advance(self, time_budget: float, byte_budget: int) -> bool:
        """Make all the progress possible now, within the budgets; True when finished."""
        start = time.monotonic()
        moved = 0
        owner = self.owner
        while self.result is None and not self.cancelled:
            now = time.monotonic()
            if owner.timeout > 0 and now - self.started >= owner.timeout:
                self.finish(
                    Result.RESULT_TIMEOUT,
                    TransferTimeoutError(f"no complete response within {owner.timeout:g} s"),
                )
                break
            if owner.stall_timeout > 0 and now - self.last_activity >= owner.stall_timeout:
                self.finish(
                    Result.RESULT_TIMEOUT,
                    TransferTimeoutError(f"nothing received for {owner.stall_timeout:g} s"),
                )
                break
            try:
                progressed = self._step()
            except PollHTTPError as exc:
                self.finish(
                    _result_for(exc),
                    exc,
                    keep_response=isinstance(exc, _KEEPS_RESPONSE) and self.code != 0,
                )
                break
            if not progressed[0]:
                return False
            self.last_activity = time.monotonic()
            moved += progressed[1]
            if moved >= byte_budget or time.monotonic() - start >= time_budget:
                return False
        return True

    def _step(self) -> tuple[bool, int]:
        """One step of the request; returns (progressed, bytes of body received)."""
        client = self.client
        if self.phase is _Phase.BACKOFF:
            if time.monotonic() < self.retry_at:
                return False, 0
            self.phase = _Phase.CONNECT
        if client is None:
            return self._connect(), 0
        status = client.get_status()
        if status in _FAILED_STATUS:
            return self._client_failed(status), 0
        if self.phase is _Phase.CONNECT:
            return self._connect(), 0
        if self.phase is _Phase.SEND:
            if status in _WAITING:
                pending = client.get_request_bytes_pending()
                client.poll()
                self._note_upload()
                changed = (
                    client.get_status() != status or client.get_request_bytes_pending() != pending
                )
                return changed, 0
            self._handle_response()
            return True, 0
        # phase BODY or DRAIN
        chunk = client.read_response_body_chunk()
        if chunk:
            self.downloaded += len(chunk)
            if self.phase is _Phase.BODY:
                self._consume(chunk)
                resumed = self.download.resume_from if self.download is not None else 0
                total = self.body_size + resumed if self.body_size >= 0 else -1
                self.progress = (resumed + self.downloaded, total)
            return True, len(chunk)
        if client.get_status() == Status.STATUS_BODY:
            return False, 0
        if client.get_status() in _FAILED_STATUS:
            return True, 0  # reported by the next step
        if self.phase is _Phase.DRAIN:
            self.phase = _Phase.CONNECT
        else:
            self._complete()
        return True, 0

    def _client_failed(self, status: Status) -> bool:
        client = self.client
        assert client is not None
        error = client.get_last_error() or NetworkError("connection failed")
        sent = self.phase in (_Phase.SEND, _Phase.BODY)
        stale = isinstance(error, (NoResponseError, NetworkError)) and self.phase is _Phase.SEND
        if stale and self.reused and not self.retried and self.method in _IDEMPOTENT:
            # A kept-alive connection the server had closed: retry once on a new one.
            self.retried = True
            client.close()
            self.phase = _Phase.CONNECT
            return True
        if self.phase is _Phase.DRAIN:
            # The redirect's body did not arrive whole; go on without this connection.
            client.close()
            self.phase = _Phase.CONNECT
            return True
        # The request may have reached the server once it was being sent: a READ failure,
        # resent only for the methods the policy allows. Before that, nothing was sent.
        if self._retry(Failure.READ if sent else Failure.CONNECT):
            return True
        result = (
            Result.RESULT_NO_RESPONSE
            if isinstance(error, NoResponseError)
            else _FAILED_STATUS[status]
        )
        self.finish(result, error)
        return True

    def _retry(self, failure: Failure, retry_after: str | None = None) -> bool:
        """Start over after ``failure`` if the policy says so; the wait is a deadline."""
        policy = self.retry.increment(_method_name(self.method), failure)
        if policy is None:
            return False
        delay = policy.delay(retry_after)
        if policy.max_time is not None and (
            time.monotonic() + delay - self.started > policy.max_time
        ):
            return False  # the retry would start after max_time
        self.retry = policy
        if self.client is not None:
            self.client.close()
        self._close_file(False)
        self.download = (
            Download(self.owner.download_file, resume=self.owner.resume_download)
            if self.owner.download_file
            else None
        )
        self.code, self.response_headers, self.body_size = 0, [], -1
        self.downloaded = self.decoded = 0
        self.body_buffer = bytearray()
        self.decoder, self.undecoded = None, ""
        self.retry_at = time.monotonic() + delay
        self.phase = _Phase.BACKOFF
        return True

    def _connect(self) -> bool:
        owner = self.owner
        try:
            key = self.key_for(self.url)
        except InvalidParameterError as exc:  # e.g. an unusable proxy in the environment
            self.finish(Result.RESULT_CANT_CONNECT, exc)
            return True
        if self.client is not None and self.key != key:
            self._give_back()  # a redirect to another origin: its connection is not ours
        if self.client is None:
            client = self.connections.acquire(key)
            self.pool_full = client is None
            if client is None:
                return False  # the pool has no room for this host: wait for a release
            client.set_read_chunk_size(owner.download_chunk_size)
            self.client, self.key, self.fresh = client, key, False
        client = self.client
        status = client.get_status()
        if status == Status.STATUS_CONNECTED:
            # Only a connection that already carried a request can have gone stale.
            self.reused, self.fresh = not self.fresh, False
            return self._send()
        if status in (Status.STATUS_RESOLVING, Status.STATUS_CONNECTING):
            client.poll()
            return client.get_status() != status
        client.close()
        https = self.url.scheme == "https"
        proxy = key[-1] if isinstance(key, tuple) else None
        assert proxy is None or isinstance(proxy, Proxy)
        client.use_proxy(proxy, for_https=https)
        client.ip_version = owner.ip_version
        err = client.connect_to_host(
            self.url.host, self.url.port, owner.get_tls_options() if https else None
        )
        self.fresh = True
        if err != Error.OK:
            failed = client.get_last_error() or ConnectError(str(err))
            if not self._retry(Failure.CONNECT):
                self.finish(_result_for(failed), failed)
        return True

    def _send(self) -> bool:
        headers: list[str | tuple[str, None]] = list(self.headers)
        # A header the caller left out (a None value) is neither added here nor by the
        # client: the caller's word wins over every default.
        names = {header_name(h) for h in self.headers} | self.left_out
        jar = self.owner.cookie_jar
        if jar is not None:
            request = _cookie_request(self.url.text)
            jar.add_cookie_header(request)
            cookie = request.get_header("Cookie")
            if cookie and "cookie" not in names:
                headers.append(f"Cookie: {cookie}")
        if self.url.credentials and "authorization" not in names:
            token = base64.b64encode(self.url.credentials.encode()).decode()
            headers.append(f"Authorization: Basic {token}")
        download = self.download
        if download is not None and download.resume:
            download.resume_from = 0
            if self.method == Method.METHOD_GET and "range" not in names:
                headers += download.resume_headers()
        headers += [(name, None) for name in sorted(self.left_out)]
        assert self.client is not None
        err = self.client.request_raw(self.method, self.url.target, headers, self.body)
        if err != Error.OK:
            error = self.client.get_last_error()
            if isinstance(error, StaleConnectionError) and self.reused:
                # The kept-alive connection died while idle (the server closed it, RFC 9112
                # §9.5, or wrote to it unasked). Nothing was sent, so any method, POST
                # included, goes on a new connection, and the one retry stays unused.
                self.client.close()
                return True
            self.finish(Result.RESULT_CONNECTION_ERROR, error)
            return True
        self.phase = _Phase.SEND
        self.upload = (0, self.client.get_request_bytes_pending())
        return True

    def _note_upload(self) -> None:
        if self.upload is not None and self.client is not None:
            total = self.upload[1]
            self.upload = (total - self.client.get_request_bytes_pending(), total)

    # -- waiting ---------------------------------------------------------------------------

    def _idle(self) -> bool:
        """No connection to wait on: a retry's backoff, or no room in the pool yet."""
        return self.phase is _Phase.BACKOFF or self.pool_full

    def wait(self, timeout: float | None) -> bool:
        """Sleep until a step can move; False when ``timeout`` passed first."""
        if not self._idle():
            return self.client.wait(timeout) if self.client is not None else True
        # A pool rings the wake-up descriptor when a connection comes back.
        due = self.wait_timeout()
        limit = due if timeout is None or (due is not None and due < timeout) else timeout
        if wait_for_fd(wakeup_fd(), readable=True, writable=False, timeout=limit):
            drain()
            return True
        return limit != timeout  # the backoff ended: the next step can go

    def interest(self) -> Interest:
        """What a step waits for (see `HTTPClient.get_wait_interest`)."""
        if self._idle():
            return Interest(wakeup_fd(), True, False)
        if self.client is None:
            return READY_NOW  # the next step takes a connection
        # A client with nothing to wait for is one the next step uses at once.
        return self.client.get_wait_interest() or READY_NOW

    def wait_timeout(self) -> float | None:
        """Seconds until a step must run: the backoff's end, or a connect deadline."""
        if self.phase is _Phase.BACKOFF:
            return max(0.0, self.retry_at - time.monotonic())
        return self.client.get_wait_timeout() if self.client is not None else None

    # -- the response --------------------------------------------------------------------

    def _handle_response(self) -> None:
        client, owner = self.client, self.owner
        assert client is not None
        self.code = client.get_response_code()
        self.reason = client.get_response_reason()
        self.http_version = client.get_response_http_version()
        self.request_head = client.get_request_head()
        self.response_headers = client.get_response_headers()
        self.downloaded = 0
        if owner.cookie_jar is not None:
            owner.cookie_jar.extract_cookies(
                _CookieResponse(self.response_headers),  # type: ignore[arg-type]
                _cookie_request(self.url.text),
            )
        method = _method_name(self.method)
        if self.retry.is_retry_status(method, self.code):
            retry_after = next((v for n, v in self._fields() if n == "retry-after"), None)
            if self._retry(Failure.STATUS, retry_after):
                return
        if (
            self.code in REDIRECT_CODES
            and owner.max_redirects != 0
            and self._location() is not None
        ):
            self._redirect()
            return
        self.body_size = client.get_response_body_length()
        has_body = client.get_status() == Status.STATUS_BODY
        codings = parse_codings([v for n, v in self._fields() if n == "content-encoding"])
        if codings and has_body:
            if owner.accept_gzip and not unsupported_codings(codings):
                self.decoder = ContentDecoder(
                    codings, owner.download_chunk_size, owner.max_content_codings
                )
            else:
                # Not asked for, or unknown: the body is passed on as it came, and says so.
                self.undecoded = ", ".join(codings)
        limit = owner.body_size_limit
        if limit >= 0 and self.decoder is None and self.body_size > limit:
            raise LimitExceededError(
                f"body of {self.body_size} bytes exceeds body_size_limit {limit}"
            )
        # When resuming, only the rest (206) or the whole (200) may touch the partial file;
        # another answer (a 503, say) is returned in memory and the part stays as it was.
        download = self.download
        if download is not None and (not download.resume_from or self.code in (200, 206)):
            download.open(self.code, self._fields())
        if has_body:
            self.phase = _Phase.BODY
        else:
            self._complete()

    def _fields(self) -> list[tuple[str, str]]:
        return [
            (header_name(line), line.partition(":")[2].strip()) for line in self.response_headers
        ]

    def _location(self) -> str | None:
        values = [v for n, v in self._fields() if n == "location"]
        return values[0] if values else None

    def _redirect(self) -> None:
        owner = self.owner
        if 0 <= owner.max_redirects <= self.redirects:
            raise TooManyRedirectsError(f"more than {owner.max_redirects} redirects")
        current = Hop(self.method, self.url, tuple(self.headers), self.body)
        hop = next_hop(current, self.code, self._location() or "")
        new = hop.url
        visits = self.visited.get((hop.method, new.text), 0) + 1
        if visits > owner.max_redirect_visits:
            raise TooManyRedirectsError(f"redirect loop at {new.text}")
        self.visited[(hop.method, new.text)] = visits
        self.history.append((self.code, list(self.response_headers), self.url.text, self.reason))
        self.method, self.body, self.headers, self.url = hop.method, hop.body, [*hop.headers], new
        self.redirects += 1
        self.retried = False
        client = self.client
        assert client is not None
        small = 0 <= client.get_response_body_length() <= owner.redirect_drain_limit
        if client.get_status() == Status.STATUS_BODY and small and self.key_for(new) == self.key:
            self.phase = _Phase.DRAIN  # read the small body away and keep the connection
        else:
            self.phase = _Phase.CONNECT
            if client.get_status() == Status.STATUS_BODY:
                client.close()

    def _consume(self, chunk: bytes) -> None:
        pieces = self.decoder.feed(chunk) if self.decoder is not None else (chunk,)
        for piece in pieces:
            self._keep(piece)

    def _keep(self, piece: bytes) -> None:
        self.decoded += len(piece)
        limit = self.owner.body_size_limit
        if 0 <= limit < self.decoded:
            raise LimitExceededError(f"body exceeds body_size_limit {limit}")
        if self.download is not None and self.download.is_open:
            self.download.write(piece)
        else:
            self.body_buffer += piece

    def _complete(self) -> None:
        if self.decoder is not None and self.downloaded:  # an empty body has no stream to end
            for piece in self.decoder.finish():
                self._keep(piece)
        self.finish(
            Result.RESULT_SUCCESS,
            body=bytearray()
            if self.download is not None and self.download.is_open
            else self.body_buffer,
        )


_default_tls: TLSOptions | None = None


def _default_tls_options() -> TLSOptions:
    """One ``TLSOptions.client()`` for every request that sets none, so pools share them.

    A pool keys connections by the options object: requests with their own equal options
    would each get their own connections.
    """
    global _default_tls
    if _default_tls is None:
        _default_tls = TLSOptions.client()
    return _default_tls


def _method(method: object) -> Method | str:
    """A Godot `Method` for its nine names, any other token as given (methods keep case)."""
    if isinstance(method, str):
        method_bytes(method)  # a token, or InvalidParameterError
        known = Method.__members__.get(f"METHOD_{method}")
        return known if known is not None and known is not Method.METHOD_MAX else method
    return Method(check_int("method", method, 0, Method.METHOD_MAX - 1))


def _method_name(method: Method | str) -> str:
    return method if isinstance(method, str) else method.name.removeprefix("METHOD_")


def _result_for(exc: PollHTTPError) -> Result:
    if isinstance(exc, LimitExceededError):
        return Result.RESULT_BODY_SIZE_LIMIT_EXCEEDED
    if isinstance(exc, ContentDecodingError):
        return Result.RESULT_BODY_DECOMPRESS_FAILED
    if isinstance(exc, TooManyRedirectsError):
        return Result.RESULT_REDIRECT_LIMIT_REACHED
    if isinstance(exc, DownloadFileError):
        if exc.code == Error.ERR_FILE_CANT_OPEN:
            return Result.RESULT_DOWNLOAD_FILE_CANT_OPEN
        return Result.RESULT_DOWNLOAD_FILE_WRITE_ERROR
    if isinstance(exc, TransferTimeoutError):
        return Result.RESULT_TIMEOUT
    if isinstance(exc, ResolveError):
        return Result.RESULT_CANT_RESOLVE
    if isinstance(exc, TLSHandshakeError):
        return Result.RESULT_TLS_HANDSHAKE_ERROR
    if isinstance(exc, ConnectError):
        return Result.RESULT_CANT_CONNECT
    if isinstance(exc, RedirectError):
        return Result.RESULT_REQUEST_FAILED
    return Result.RESULT_CONNECTION_ERROR


_T = TypeVar("_T")
#: The largest count a setting takes: Godot's int is 64-bit.
_INT_MAX = 2**63 - 1


class _Setting(Generic[_T]):
    """An attribute whose every assignment is checked: a wrong value fails right there.

    ``check(name, value)`` returns the value to keep or raises `InvalidTypeError` /
    `InvalidParameterError` naming the attribute. Godot prints an error and keeps the old
    value, or takes the value and fails later in the request.
    """

    def __init__(self, check: Callable[[str, Any], _T], doc: str) -> None:
        self._check = check
        self.__doc__ = doc
        self._name = self._slot = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name, self._slot = name, f"_{name}"

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> _Setting[_T]: ...

    @overload
    def __get__(self, obj: object, objtype: type | None = None) -> _T: ...

    def __get__(self, obj: object, objtype: type | None = None) -> _T | _Setting[_T]:
        if obj is None:
            return self
        value: _T = getattr(obj, self._slot)
        return value

    def __set__(self, obj: object, value: Any) -> None:
        setattr(obj, self._slot, self._check(self._name, value))


def _in_range(low: int, high: int) -> Callable[[str, Any], int]:
    return lambda name, value: check_int(name, value, low, high)


def _time_limit(name: str, value: Any) -> float:
    """A timeout: 0 or None is no limit (Godot's 0); so is infinite or huge, kept as 0."""
    seconds = check_seconds(name, value)
    return 0.0 if seconds is None else seconds


def _budget(name: str, value: Any) -> float:
    check_seconds(name, value, none_ok=False)
    return float(value)


def _ip_version(name: str, value: Any) -> int:
    version = check_int(name, value, 0, 6)
    if version not in (0, 4, 6):
        raise InvalidParameterError(f"{name} must be 0 (any), 4 or 6, got {version}")
    return version


def _cookie_jar(name: str, value: Any) -> CookieJar | None:
    # Checked by what the jar is used for, so that http.cookiejar is imported only by
    # programs that use cookies.
    if value is not None and not (
        callable(getattr(value, "add_cookie_header", None))
        and callable(getattr(value, "extract_cookies", None))
    ):
        raise InvalidTypeError(
            f"{name} must be an http.cookiejar.CookieJar or None, not {type(value).__name__}"
        )
    return value  # type: ignore[no-any-return]


class HTTPRequest:
    """Godot's ``HTTPRequest``: a whole request (redirects, decoding, files) in one object.

    ``request()`` returns at once; ``poll()`` (once per frame, or in a loop with ``wait()``)
    advances it within ``poll_time_budget`` and ``poll_byte_budget``, and emits
    ``request_completed(result, response_code, headers, body)`` exactly once per accepted
    request. Godot's node processes one body chunk per frame and is driven by the scene tree.
    """

    Result: TypeAlias = Result
    RESULT_SUCCESS = Result.RESULT_SUCCESS
    RESULT_CHUNKED_BODY_SIZE_MISMATCH = Result.RESULT_CHUNKED_BODY_SIZE_MISMATCH
    RESULT_CANT_CONNECT = Result.RESULT_CANT_CONNECT
    RESULT_CANT_RESOLVE = Result.RESULT_CANT_RESOLVE
    RESULT_CONNECTION_ERROR = Result.RESULT_CONNECTION_ERROR
    RESULT_TLS_HANDSHAKE_ERROR = Result.RESULT_TLS_HANDSHAKE_ERROR
    RESULT_NO_RESPONSE = Result.RESULT_NO_RESPONSE
    RESULT_BODY_SIZE_LIMIT_EXCEEDED = Result.RESULT_BODY_SIZE_LIMIT_EXCEEDED
    RESULT_BODY_DECOMPRESS_FAILED = Result.RESULT_BODY_DECOMPRESS_FAILED
    RESULT_REQUEST_FAILED = Result.RESULT_REQUEST_FAILED
    RESULT_DOWNLOAD_FILE_CANT_OPEN = Result.RESULT_DOWNLOAD_FILE_CANT_OPEN
    RESULT_DOWNLOAD_FILE_WRITE_ERROR = Result.RESULT_DOWNLOAD_FILE_WRITE_ERROR
    RESULT_REDIRECT_LIMIT_REACHED = Result.RESULT_REDIRECT_LIMIT_REACHED
    RESULT_TIMEOUT = Result.RESULT_TIMEOUT

    def __init__(
        self,
        *,
        limits: Limits | None = None,
        resolver: Resolver | None = None,
        cookie_jar: CookieJar | None = None,
        pool: ConnectionPool | None = None,
        retries: Retry | int | None = None,
    ) -> None:
        if limits is not None and not isinstance(limits, Limits):
            raise InvalidTypeError(f"limits must be Limits or None, not {type(limits).__name__}")
        if resolver is not None and not callable(resolver):
            raise InvalidTypeError(
                f"resolver must be callable (host, port) -> Resolution, not "
                f"{type(resolver).__name__}"
            )
        #: ``(result, response_code, headers, body)``, once per accepted request.
        self.request_completed = Signal()
        #: ``(downloaded, total)`` as body bytes arrive; total is -1 when unknown.
        self.download_progress = Signal()
        #: ``(sent, total)`` as the request is written.
        self.upload_progress = Signal()
        self.accept_gzip = True
        self.body_size_limit = -1
        self.max_redirects = 8
        self.timeout = 0.0
        self.stall_timeout = 0.0
        self.resume_download = False
        self.max_content_codings = MAX_CODINGS
        self.max_redirect_visits = 2
        self.redirect_drain_limit = 64 * 1024
        self.poll_time_budget = 0.004
        self.poll_byte_budget = 8 * 1024 * 1024
        self.cookie_jar = cookie_jar
        self.ip_version = 0
        self._limits = limits
        self._resolver = resolver
        self._download_chunk_size = 65536
        self._download_file = ""
        self._use_threads = False
        self._tls_options = _default_tls_options()
        self._own = _OwnConnection(self._make_client)
        self._pool: ConnectionPool | None = None
        self._retries = Retry.from_value(retries)
        self._http_proxy: Proxy | None = None
        self._https_proxy: Proxy | None = None
        self.use_environment_proxies = False
        self._transfer: _Transfer | None = None
        self._last: _Transfer | None = None
        self._last_error: PollHTTPError | None = None
        self.pool = pool

    # -- settings, checked when set ------------------------------------------------------------

    accept_gzip = _Setting(
        check_bool, "Ask for compressed bodies and decode them (gzip, deflate, br, zstd)."
    )
    body_size_limit = _Setting(
        _in_range(-1, _INT_MAX), "Most decoded body bytes accepted (-1: no limit)."
    )
    max_redirects = _Setting(
        _in_range(-1, _INT_MAX), "Redirects followed at most (-1: no limit; 0: none are followed)."
    )
    timeout = _Setting(
        _time_limit,
        "Seconds the whole request may take, redirects included; real time. 0 is no limit, "
        "and so are None, ``math.inf`` and 1e9 (31 years) or more, read back as 0.",
    )
    stall_timeout = _Setting(
        _time_limit,
        "Seconds without receiving anything before the request fails; 0 (or None, or "
        "infinite) is no limit. Not in Godot.",
    )
    resume_download = _Setting(
        check_bool, "Keep a failed download's partial file and resume it with Range next time."
    )
    max_content_codings = _Setting(
        _in_range(0, 64), "Longest chain of content codings decoded (urllib3 CVE-2025-66418)."
    )
    max_redirect_visits = _Setting(
        _in_range(1, _INT_MAX),
        "How often one (method, URL) may come up in a redirect chain before it is a loop: "
        "twice, for login flows that bounce through a page that sets a cookie.",
    )
    redirect_drain_limit = _Setting(
        _in_range(0, _INT_MAX),
        "A redirect's body up to this size is read and dropped to reuse the connection; "
        "a larger or unknown one closes it instead (never decoded).",
    )
    poll_time_budget = _Setting(_budget, "Most seconds one ``poll()`` spends before returning.")
    poll_byte_budget = _Setting(
        _in_range(1, _INT_MAX), "Most body bytes one ``poll()`` reads before returning."
    )
    cookie_jar = _Setting(
        _cookie_jar,
        "Stores Set-Cookie and sends Cookie by the jar's rules (``http.cookiejar``); opt-in.",
    )
    use_environment_proxies = _Setting(
        check_bool,
        "Take proxies from http_proxy, https_proxy and no_proxy when none was set; opt-in.",
    )
    ip_version = _Setting(
        _ip_version,
        "Connect over IPv4 only (4), IPv6 only (6) or either (0), as curl's -4 and -6 do; "
        "Godot has no such setting.",
    )

    # -- settings that only change between requests ------------------------------------------

    def _idle_only(self, name: str) -> bool:
        if self._transfer is not None:
            self._last_error = InvalidParameterError(f"{name} cannot change while a request runs")
            return False
        return True

    @property
    def download_chunk_size(self) -> int:
        """Body bytes read (and decoded) per step: 256 to 16 MiB, default 65536."""
        return self._download_chunk_size

    @download_chunk_size.setter
    def download_chunk_size(self, value: int) -> None:
        # Godot's range (its client refuses other sizes with an error on the console).
        size = check_int("download_chunk_size", value, 256, 16 * 1024 * 1024)
        if self._idle_only("download_chunk_size"):
            self._download_chunk_size = size

    @property
    def download_file(self) -> str:
        """Where the body goes instead of memory ("" for memory)."""
        return self._download_file

    @download_file.setter
    def download_file(self, value: str | os.PathLike[str]) -> None:
        path = os.fspath(value) if isinstance(value, os.PathLike) else value
        path = check_text("download_file", path)
        if "\0" in path:
            raise InvalidParameterError("download_file must not contain a NUL character")
        try:
            os.fsencode(path)
        except UnicodeEncodeError as exc:
            raise InvalidParameterError(f"download_file is not a valid file name: {exc}") from exc
        if self._idle_only("download_file"):
            self._download_file = path

    @property
    def use_threads(self) -> bool:
        """Do the I/O on a worker thread; callbacks still run in ``poll()``."""
        return self._use_threads

    @use_threads.setter
    def use_threads(self, value: bool) -> None:
        flag = check_bool("use_threads", value)
        if self._idle_only("use_threads"):
            self._use_threads = flag

    @property
    def pool(self) -> ConnectionPool | None:
        """The `ConnectionPool` requests borrow connections from; None: one of its own.

        With a pool, many HTTPRequest objects share kept-alive connections (at most the
        pool's ``max_per_host`` to one host); each request borrows one and gives it back
        when its response is complete. Godot has no pool. Changes between requests only.
        """
        return self._pool

    @pool.setter
    def pool(self, value: ConnectionPool | None) -> None:
        from .pool import ConnectionPool  # noqa: PLC0415 - the pool loads only when used

        if value is not None and not isinstance(value, ConnectionPool):
            raise InvalidTypeError(f"pool must be a ConnectionPool or None, not {type(value)}")
        if self._idle_only("pool"):
            self._pool = value

    @property
    def retries(self) -> Retry:
        """The retry policy (`Retry`): none by default, as in Godot.

        Set a `Retry`, a number of retries, or None. A retry never sleeps in ``poll()``:
        its backoff is a deadline that ``get_wait_timeout()`` reports. Separately from
        the policy, a request on a reused connection that fails before any response byte
        arrives is retried once on a new connection, for idempotent methods only.
        """
        return self._retries

    @retries.setter
    def retries(self, value: Retry | int | None) -> None:
        self._retries = Retry.from_value(value)

    @property
    def resolve_overrides(self) -> dict[str, list[str]]:
        """``{"host:port": [addresses]}`` connected to instead of looking names up.

        curl's ``--resolve``; TLS still checks the host name. It applies to the request's
        own connection; a `ConnectionPool` has its own (``ConnectionPool(resolve_overrides=)``).
        Not in Godot.
        """
        return self._own.get().get_resolve_overrides()

    @resolve_overrides.setter
    def resolve_overrides(self, value: Mapping[str, Sequence[str]]) -> None:
        self._own.get().set_resolve_overrides(value)

    @property
    def happy_eyeballs_delay(self) -> float | None:
        """Seconds before the next address is raced (RFC 8305); None: one after another.

        Of the request's own connection; a `ConnectionPool` has its own. Not in Godot.
        """
        return self._own.get().get_happy_eyeballs_delay()

    @happy_eyeballs_delay.setter
    def happy_eyeballs_delay(self, value: float | None) -> None:
        self._own.get().set_happy_eyeballs_delay(value)

    def get_tls_options(self) -> TLSOptions:
        """The TLS options for https URLs."""
        return self._tls_options

    def set_tls_options(self, client_options: TLSOptions) -> None:
        """TLS options for https URLs (default ``TLSOptions.client()``).

        Anything but client `TLSOptions` raises (`InvalidTypeError`, or
        `InvalidParameterError` for server options); Godot prints an error and keeps the
        options it had.
        """
        if not isinstance(client_options, TLSOptions):
            raise InvalidTypeError(
                f"client_options must be TLSOptions, not {type(client_options).__name__}"
            )
        if client_options.is_server():
            raise InvalidParameterError("client_options must be client TLS options, not server")
        self._tls_options = client_options

    # -- requests ----------------------------------------------------------------------------

    def request(
        self,
        url: str,
        custom_headers: HeaderArgument = (),
        method: Method | int | str = Method.METHOD_GET,
        request_data: BodyArgument = "",
    ) -> Error:
        """Start a request; ``request_data`` (text as UTF-8, or bytes) is sent with any method.

        Returns ``ERR_BUSY`` while another runs, ``ERR_INVALID_PARAMETER`` for a bad URL,
        method, header or body (and then nothing is sent and no completion follows);
        otherwise ``OK``, and the result arrives through ``request_completed``. Headers are
        ``"Name: value"`` lines, ``(name, value)`` pairs or a mapping; a None value leaves
        that header out, a default one (``User-Agent``, ``Accept``, ``Accept-Encoding``)
        included. Godot may also return ``ERR_CANT_CONNECT`` and emit a result for the same
        failure; here connection failures only arrive as results. Godot drops the body of
        a GET (RFC 9110 §9.3.1 allows one).
        """
        if self._transfer is not None:
            return Error.ERR_BUSY
        try:
            body = check_body("request_data", request_data)
        except InvalidParameterError as exc:
            self._last_error = exc
            return Error.ERR_INVALID_PARAMETER
        return self.request_raw(url, custom_headers, method, body)

    def request_raw(
        self,
        url: str,
        custom_headers: HeaderArgument = (),
        method: Method | int | str = Method.METHOD_GET,
        request_data_raw: BodyArgument = b"",
    ) -> Error:
        """Start a request with a raw byte body, sent as it is; see `request`."""
        if self._transfer is not None:
            return Error.ERR_BUSY
        try:
            verb = _method(method)
            parsed = parse_url(check_text("url", url))
            headers, left_out = check_headers("custom_headers", custom_headers)
            body = check_body("request_data_raw", request_data_raw)
            if "host" in left_out:
                raise InvalidParameterError("Host cannot be left out (RFC 9112 §3.2)")
            fields = tuple(split_request_header(header) for header in headers)
            # The same checks the connection makes when it sends: refused now, not later.
            name = method_bytes(verb)
            request_head(name, encode_target(parsed.target), fields, len(body))
        except (InvalidParameterError, UnicodeError) as exc:
            self._last_error = (
                exc if isinstance(exc, InvalidParameterError) else InvalidParameterError(str(exc))
            )
            return Error.ERR_INVALID_PARAMETER
        names = {header_name(h) for h in headers} | left_out
        if self.accept_gzip and "accept-encoding" not in names:
            headers.append(f"Accept-Encoding: {accept_encoding()}")
        transfer = _Transfer(
            self,
            parsed,
            verb,
            headers,
            body,
            left_out=left_out,
            connections=self._pool if self._pool is not None else self._own,
            key_for=self._key,
            retry=self._retries,
        )
        self._transfer = transfer
        if self._use_threads:
            threading.Thread(
                target=self._work, args=(transfer,), name="pollhttp-request", daemon=True
            ).start()
        return Error.OK

    def _make_client(self) -> HTTPClient:
        return HTTPClient(limits=self._limits, resolver=self._resolver)

    def _key(self, url: URL) -> tuple[object, ...]:
        # A kept-alive connection serves the next request only to the same origin with the
        # same TLS options, address family and proxy (ecosystem.md §3.3 case 39). The proxy
        # comes last.
        tls = self._tls_options if url.scheme == "https" else None
        return (*url.origin, tls, self.ip_version, self._proxy_for(url))

    def _proxy_for(self, url: URL) -> Proxy | None:
        proxy = self._https_proxy if url.scheme == "https" else self._http_proxy
        if proxy is None and self.use_environment_proxies:
            proxy = environment_proxy(url.scheme, url.host, url.port)
        return proxy

    def set_http_proxy(self, host: str, port: int, **credentials: Any) -> None:
        """The proxy for http URLs, as ``HTTPClient.set_http_proxy`` takes it; "" or -1 unsets."""
        try:
            self._http_proxy = parse_proxy(host, port, **credentials)
        except InvalidParameterError as exc:
            self._last_error = exc

    def use_proxy(self, proxy: Proxy | None, *, for_https: bool) -> None:
        """Set the proxy for https (or http) URLs from a parsed `Proxy`; None unsets.

        For proxies already parsed (``environment_proxy()``, ``proxy_from_url()``).
        """
        if proxy is not None and not isinstance(proxy, Proxy):
            raise InvalidTypeError(f"proxy must be a Proxy or None, not {type(proxy).__name__}")
        if check_bool("for_https", for_https):
            self._https_proxy = proxy
        else:
            self._http_proxy = proxy

    def set_https_proxy(self, host: str, port: int, **credentials: Any) -> None:
        """The proxy for https URLs (a CONNECT tunnel), as ``HTTPClient.set_https_proxy``."""
        try:
            self._https_proxy = parse_proxy(host, port, **credentials)
        except InvalidParameterError as exc:
            self._last_error = exc

    def cancel_request(self) -> None:
        """Stop the request at once, with no completion; never blocks (threads are not joined)."""
        transfer, self._transfer = self._transfer, None
        if transfer is None:
            return
        transfer.cancelled = True
        if not self._use_threads:
            transfer.abort()
        # A worker thread aborts on its own; its client is no longer ours.
        if self._use_threads:
            self._own.forget()

    def close(self) -> None:
        """Cancel any request and close the kept-alive connection.

        Godot frees the node's client with the node; here the object may outlive its
        requests, so the connection it keeps for reuse is closed explicitly (or by ``with``).
        """
        self.cancel_request()
        self._own.close()

    def __enter__(self) -> HTTPRequest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _work(self, transfer: _Transfer) -> None:
        """The worker thread: advance and sleep on the socket until finished or cancelled."""
        while not transfer.cancelled:
            finished = transfer.advance(0.05, 1 << 62)
            if finished or transfer.progress is not None or transfer.upload is not None:
                transfer.news.set()
                notify()  # wakes pollhttp.wait() and asyncio loops waiting on wakeup_fd()
            if finished and not transfer.cancelled:
                return
            transfer.wait(0.05)
        transfer.abort()  # the worker owns the client: only it closes a cancelled one

    def poll(self) -> Error:
        """Advance the request within the budgets, and emit what is due; never blocks.

        Returns ``OK``, or ``ERR_UNCONFIGURED`` when there is no request.
        """
        transfer = self._transfer
        if transfer is None:
            return Error.ERR_UNCONFIGURED
        if not self._use_threads:
            transfer.advance(self.poll_time_budget, self.poll_byte_budget)
        else:
            transfer.news.clear()  # what the worker had to say is emitted below
            if self.timeout > 0 and time.monotonic() - transfer.started >= self.timeout:
                # Report at once; the worker sees the flag and closes its client itself.
                transfer.cancelled = True
                transfer.record(
                    Result.RESULT_TIMEOUT,
                    TransferTimeoutError(f"no complete response within {self.timeout:g} s"),
                )
        self._emit_progress(transfer)
        if transfer.result is not None and self._transfer is transfer:
            self._deliver(transfer)
        return Error.OK

    def _emit_progress(self, transfer: _Transfer) -> None:
        upload, transfer.upload = transfer.upload, None
        if upload is not None:
            self.upload_progress.emit(*upload)
        progress, transfer.progress = transfer.progress, None
        if progress is not None:
            self.download_progress.emit(*progress)

    def _deliver(self, transfer: _Transfer) -> None:
        assert transfer.result is not None
        self._transfer = None
        self._last = transfer
        self._last_error = transfer.error
        if transfer.cancelled:
            self._own.forget()  # the worker may still hold it
        self.request_completed.emit(*transfer.result)

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until ``poll()`` has something to do, or ``timeout`` passes; never spins.

        None, ``math.inf`` or 1e9 seconds (31 years) or more waits without a limit; a
        negative or NaN timeout raises `InvalidParameterError`.
        """
        limit = check_seconds("timeout", timeout)
        transfer = self._transfer
        if transfer is None or transfer.result is not None:
            return True
        if self._use_threads:
            ready = transfer.news.wait(limit)
            transfer.news.clear()
            return ready
        if limit is None:
            return transfer.wait(None)
        # A selector takes at most about 24 days at once (milliseconds in a C int).
        deadline = time.monotonic() + limit
        while True:
            left = max(0.0, deadline - time.monotonic())
            if transfer.wait(min(left, LONGEST_SLEEP)):
                return True
            if left <= LONGEST_SLEEP:
                return False

    def get_wait_interest(self) -> Interest | None:
        """What the request waits for (see `HTTPClient.get_wait_interest`); None when idle."""
        transfer = self._transfer
        if transfer is None:
            return None
        if transfer.result is not None:
            return READY_NOW
        if self._use_threads:
            doorbell = wakeup_fd()  # before looking at the news, as for lookups
            return READY_NOW if transfer.news.is_set() else Interest(doorbell, True, False)
        return transfer.interest()

    def get_wait_timeout(self) -> float | None:
        """Seconds until ``poll()`` must run for ``timeout`` or ``stall_timeout`` to fire.

        At most `LONGEST_SLEEP` (a day), so that any selector takes it: past about 24.8
        days, epoll and poll overflow. A ``poll()`` before the deadline does no harm.
        """
        transfer = self._transfer
        if transfer is None:
            return None
        now = time.monotonic()
        left = [
            start + limit - now
            for start, limit in (
                (transfer.started, self.timeout),
                (transfer.last_activity, self.stall_timeout),
            )
            if limit > 0
        ]
        if not self._use_threads:
            client_left = transfer.wait_timeout()  # connect and TLS deadlines, a backoff
            if client_left is not None:
                left.append(client_left)
        return max(0.0, min(*left, LONGEST_SLEEP)) if left else None

    # -- reading the state -------------------------------------------------------------------

    def get_http_client(self) -> HTTPClient:
        """The HTTPClient underneath (made when first needed); for its settings and state.

        Godot keeps it private. Useful for ``connect_timeout``, the response head while the
        body is read, and statuses in traces; do not drive it while a request runs.
        """
        transfer = self._transfer or self._last
        if self._pool is not None and transfer is not None and transfer.client is not None:
            return transfer.client  # the pooled connection the request uses
        return self._own.get()

    def get_http_client_status(self) -> Status:
        """The status of the HTTPClient underneath."""
        transfer = self._transfer
        client = transfer.client if transfer is not None else self._own.client
        return client.get_status() if client is not None else Status.STATUS_DISCONNECTED

    def get_downloaded_bytes(self) -> int:
        """Body bytes received for the current (or last) response, as sent on the wire."""
        transfer = self._transfer or self._last
        return transfer.downloaded if transfer is not None else 0

    def get_body_size(self) -> int:
        """The response's Content-Length, or -1 when unknown (64-bit, unlike Godot's)."""
        transfer = self._transfer or self._last
        return transfer.body_size if transfer is not None else -1

    def get_body_encoding(self) -> str:
        """Content codings left on the delivered body ("" when it was decoded, or had none)."""
        transfer = self._transfer or self._last
        return transfer.undecoded if transfer is not None else ""

    def get_final_url(self) -> str:
        """The URL of the last response, after redirects."""
        transfer = self._transfer or self._last
        return transfer.url.text if transfer is not None else ""

    def get_last_error(self) -> PollHTTPError | None:
        """The exception behind the last failed result or refused call."""
        return self._last_error

    def get_response_reason(self) -> str:
        """The reason phrase of the current (or last) response. Not in Godot."""
        transfer = self._transfer or self._last
        return transfer.reason if transfer is not None else ""

    def get_response_http_version(self) -> str:
        """The HTTP version of the current (or last) response (``"1.1"``). Not in Godot."""
        transfer = self._transfer or self._last
        return transfer.http_version if transfer is not None else ""

    def get_request_head(self) -> bytes:
        """The head of the request that got the last response, as sent. Not in Godot."""
        transfer = self._transfer or self._last
        return transfer.request_head if transfer is not None else b""

    def get_redirect_history(self) -> list[tuple[int, list[str], str, str]]:
        """The redirects followed: ``(code, headers, url, reason)`` of each. Not in Godot."""
        transfer = self._transfer or self._last
        return list(transfer.history) if transfer is not None else []
