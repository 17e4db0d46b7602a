"""HTTPClient: Godot's low-level HTTP/1.1 client, driven by ``poll()``.

This is where the sans-IO protocol meets the transport, and the one place where
exceptions become Godot ``Error`` codes and ``Status`` values.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeAlias
from urllib.parse import quote

from ._checks import (
    check_body,
    check_bool,
    check_callable,
    check_headers,
    check_instance,
    check_int,
    check_seconds,
    check_text,
)
from ._connector import Connector, Step, Target
from ._enums import Error, Method, ResponseCode, Status
from ._errors import (
    ConnectError,
    InvalidParameterError,
    InvalidTypeError,
    NetworkError,
    PollHTTPError,
    RemoteProtocolError,
    ResolveError,
    StaleConnectionError,
    TLSHandshakeError,
)
from ._trace import Trace
from ._version import __version__
from .protocol import (
    NEED_DATA,
    TOKEN,
    ClientConnection,
    ConnState,
    Data,
    EndOfMessage,
    InformationalResponse,
    Limits,
    Response,
    query_string_from_dict,
    split_request_header,
)
from .protocol import Headers as _Headers
from .transport import (
    READY_NOW,
    Interest,
    PrefixedStreamPeer,
    Proxy,
    Resolution,
    Resolver,
    StreamPeer,
    TLSOptions,
    absolute_target,
    parse_host,
    parse_proxy,
    parse_resolve_overrides,
    resolve_in_thread,
)

__all__ = ["BodyArgument", "HTTPClient", "HeaderArgument"]

#: Request headers as callers give them: ``"Name: value"`` lines, ``(name, value)``
#: pairs (a None value leaves the header out), or a mapping.
HeaderArgument: TypeAlias = (
    Sequence["str | tuple[str, str | None]"] | Mapping[str, "str | None"] | None
)
#: A request body held in memory; text is sent as UTF-8.
BodyArgument: TypeAlias = bytes | bytearray | memoryview | str

_METHOD_NAMES = tuple(m.name.removeprefix("METHOD_").encode() for m in Method)[:-1]
_USER_AGENT = f"pollhttp/{__version__}".encode()
_JOIN_LIMIT = 64 * 1024
_NOT_IN_URL = re.compile(r"[\x00-\x20\x7f]")
_READ_CHUNK_MIN, _READ_CHUNK_MAX = 256, 16 * 1024 * 1024
# What poll() returns while the status stays where it is.
_STEADY = {
    Status.STATUS_DISCONNECTED: Error.ERR_UNCONFIGURED,
    Status.STATUS_CANT_RESOLVE: Error.ERR_CANT_RESOLVE,
    Status.STATUS_CANT_CONNECT: Error.ERR_CANT_CONNECT,
    Status.STATUS_CONNECTION_ERROR: Error.ERR_CONNECTION_ERROR,
    Status.STATUS_TLS_HANDSHAKE_ERROR: Error.ERR_CANT_CONNECT,
    Status.STATUS_BODY: Error.OK,
}


def method_bytes(method: object) -> bytes:
    """A request method as sent: one of Godot's `Method` values, or any token as text.

    Godot takes only its nine methods; RFC 9110 §9.1 allows any token (WebDAV's
    ``PROPFIND``, ``PURGE``, ...), sent as given, case included.
    """
    if isinstance(method, str):
        name = method.encode("ascii", "replace")
        if not method.isascii() or TOKEN.fullmatch(name) is None:
            raise InvalidParameterError(f"method {method!r} is not a token (RFC 9110 §9.1)")
        return name
    if isinstance(method, bool) or not isinstance(method, int) or not 0 <= method < 9:
        raise InvalidParameterError(f"invalid method {method!r}")
    return _METHOD_NAMES[method]


def _decode(value: bytes) -> str:
    """Header bytes as text: UTF-8 as Godot reads them, Latin-1 when not valid UTF-8."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


@functools.lru_cache(maxsize=256)
def _prepare(url: str, headers: tuple[str, ...]) -> tuple[bytes, tuple[tuple[bytes, bytes], ...]]:
    """The request target and the header fields, from ``request()``'s text arguments.

    Cached, because games and tools send the same requests again and again.
    """
    return encode_target(url), tuple(split_request_header(header) for header in headers)


def encode_target(url: str) -> bytes:
    """A request target as sent: no whitespace or controls, no fragment, ASCII only."""
    if _NOT_IN_URL.search(url):
        raise InvalidParameterError(f"whitespace or control character in URL {url!r}")
    # The fragment is for the user agent alone (RFC 9110 §4.2.5); non-ASCII is sent
    # percent-encoded as UTF-8 (RFC 3986 §2.5).
    url = url.split("#", 1)[0]
    return url.encode("ascii") if url.isascii() else quote(url, safe=url).encode("ascii")


@functools.lru_cache(maxsize=64)
def _default_fields(host: bytes, proxy_auth: bytes | None) -> tuple[tuple[bytes, bytes], ...]:
    """The fields added unless the caller sent them (the same tuple for every request)."""
    fields = ((b"Host", host), (b"User-Agent", _USER_AGENT), (b"Accept", b"*/*"))
    return (*fields, (b"Proxy-Authorization", proxy_auth)) if proxy_auth else fields


def _field_strings(fields: _Headers) -> list[str]:
    return [f"{_decode(name)}: {_decode(value)}" for name, value in fields]


class HTTPClient:
    """Low-level HTTP/1.1 client that never blocks unless blocking mode is on.

    Call ``connect_to_host()``, then ``poll()`` until ``get_status()`` is CONNECTED; send
    with ``request()``, ``poll()`` until the status leaves REQUESTING, then read the body
    with ``read_response_body_chunk()`` while the status is BODY.
    """

    Method: TypeAlias = Method
    Status: TypeAlias = Status
    ResponseCode: TypeAlias = ResponseCode

    # GDScript-style constants: HTTPClient.METHOD_POST, HTTPClient.STATUS_BODY, ...
    METHOD_GET = Method.METHOD_GET
    METHOD_HEAD = Method.METHOD_HEAD
    METHOD_POST = Method.METHOD_POST
    METHOD_PUT = Method.METHOD_PUT
    METHOD_DELETE = Method.METHOD_DELETE
    METHOD_OPTIONS = Method.METHOD_OPTIONS
    METHOD_TRACE = Method.METHOD_TRACE
    METHOD_CONNECT = Method.METHOD_CONNECT
    METHOD_PATCH = Method.METHOD_PATCH
    METHOD_MAX = Method.METHOD_MAX
    STATUS_DISCONNECTED = Status.STATUS_DISCONNECTED
    STATUS_RESOLVING = Status.STATUS_RESOLVING
    STATUS_CANT_RESOLVE = Status.STATUS_CANT_RESOLVE
    STATUS_CONNECTING = Status.STATUS_CONNECTING
    STATUS_CANT_CONNECT = Status.STATUS_CANT_CONNECT
    STATUS_CONNECTED = Status.STATUS_CONNECTED
    STATUS_REQUESTING = Status.STATUS_REQUESTING
    STATUS_BODY = Status.STATUS_BODY
    STATUS_CONNECTION_ERROR = Status.STATUS_CONNECTION_ERROR
    STATUS_TLS_HANDSHAKE_ERROR = Status.STATUS_TLS_HANDSHAKE_ERROR
    RESPONSE_CONTINUE = ResponseCode.RESPONSE_CONTINUE
    RESPONSE_SWITCHING_PROTOCOLS = ResponseCode.RESPONSE_SWITCHING_PROTOCOLS
    RESPONSE_PROCESSING = ResponseCode.RESPONSE_PROCESSING
    RESPONSE_OK = ResponseCode.RESPONSE_OK
    RESPONSE_CREATED = ResponseCode.RESPONSE_CREATED
    RESPONSE_ACCEPTED = ResponseCode.RESPONSE_ACCEPTED
    RESPONSE_NON_AUTHORITATIVE_INFORMATION = ResponseCode.RESPONSE_NON_AUTHORITATIVE_INFORMATION
    RESPONSE_NO_CONTENT = ResponseCode.RESPONSE_NO_CONTENT
    RESPONSE_RESET_CONTENT = ResponseCode.RESPONSE_RESET_CONTENT
    RESPONSE_PARTIAL_CONTENT = ResponseCode.RESPONSE_PARTIAL_CONTENT
    RESPONSE_MULTI_STATUS = ResponseCode.RESPONSE_MULTI_STATUS
    RESPONSE_ALREADY_REPORTED = ResponseCode.RESPONSE_ALREADY_REPORTED
    RESPONSE_IM_USED = ResponseCode.RESPONSE_IM_USED
    RESPONSE_MULTIPLE_CHOICES = ResponseCode.RESPONSE_MULTIPLE_CHOICES
    RESPONSE_MOVED_PERMANENTLY = ResponseCode.RESPONSE_MOVED_PERMANENTLY
    RESPONSE_FOUND = ResponseCode.RESPONSE_FOUND
    RESPONSE_SEE_OTHER = ResponseCode.RESPONSE_SEE_OTHER
    RESPONSE_NOT_MODIFIED = ResponseCode.RESPONSE_NOT_MODIFIED
    RESPONSE_USE_PROXY = ResponseCode.RESPONSE_USE_PROXY
    RESPONSE_SWITCH_PROXY = ResponseCode.RESPONSE_SWITCH_PROXY
    RESPONSE_TEMPORARY_REDIRECT = ResponseCode.RESPONSE_TEMPORARY_REDIRECT
    RESPONSE_PERMANENT_REDIRECT = ResponseCode.RESPONSE_PERMANENT_REDIRECT
    RESPONSE_BAD_REQUEST = ResponseCode.RESPONSE_BAD_REQUEST
    RESPONSE_UNAUTHORIZED = ResponseCode.RESPONSE_UNAUTHORIZED
    RESPONSE_PAYMENT_REQUIRED = ResponseCode.RESPONSE_PAYMENT_REQUIRED
    RESPONSE_FORBIDDEN = ResponseCode.RESPONSE_FORBIDDEN
    RESPONSE_NOT_FOUND = ResponseCode.RESPONSE_NOT_FOUND
    RESPONSE_METHOD_NOT_ALLOWED = ResponseCode.RESPONSE_METHOD_NOT_ALLOWED
    RESPONSE_NOT_ACCEPTABLE = ResponseCode.RESPONSE_NOT_ACCEPTABLE
    RESPONSE_PROXY_AUTHENTICATION_REQUIRED = ResponseCode.RESPONSE_PROXY_AUTHENTICATION_REQUIRED
    RESPONSE_REQUEST_TIMEOUT = ResponseCode.RESPONSE_REQUEST_TIMEOUT
    RESPONSE_CONFLICT = ResponseCode.RESPONSE_CONFLICT
    RESPONSE_GONE = ResponseCode.RESPONSE_GONE
    RESPONSE_LENGTH_REQUIRED = ResponseCode.RESPONSE_LENGTH_REQUIRED
    RESPONSE_PRECONDITION_FAILED = ResponseCode.RESPONSE_PRECONDITION_FAILED
    RESPONSE_REQUEST_ENTITY_TOO_LARGE = ResponseCode.RESPONSE_REQUEST_ENTITY_TOO_LARGE
    RESPONSE_REQUEST_URI_TOO_LONG = ResponseCode.RESPONSE_REQUEST_URI_TOO_LONG
    RESPONSE_UNSUPPORTED_MEDIA_TYPE = ResponseCode.RESPONSE_UNSUPPORTED_MEDIA_TYPE
    RESPONSE_REQUESTED_RANGE_NOT_SATISFIABLE = ResponseCode.RESPONSE_REQUESTED_RANGE_NOT_SATISFIABLE
    RESPONSE_EXPECTATION_FAILED = ResponseCode.RESPONSE_EXPECTATION_FAILED
    RESPONSE_IM_A_TEAPOT = ResponseCode.RESPONSE_IM_A_TEAPOT
    RESPONSE_MISDIRECTED_REQUEST = ResponseCode.RESPONSE_MISDIRECTED_REQUEST
    RESPONSE_UNPROCESSABLE_ENTITY = ResponseCode.RESPONSE_UNPROCESSABLE_ENTITY
    RESPONSE_LOCKED = ResponseCode.RESPONSE_LOCKED
    RESPONSE_FAILED_DEPENDENCY = ResponseCode.RESPONSE_FAILED_DEPENDENCY
    RESPONSE_UPGRADE_REQUIRED = ResponseCode.RESPONSE_UPGRADE_REQUIRED
    RESPONSE_PRECONDITION_REQUIRED = ResponseCode.RESPONSE_PRECONDITION_REQUIRED
    RESPONSE_TOO_MANY_REQUESTS = ResponseCode.RESPONSE_TOO_MANY_REQUESTS
    RESPONSE_REQUEST_HEADER_FIELDS_TOO_LARGE = ResponseCode.RESPONSE_REQUEST_HEADER_FIELDS_TOO_LARGE
    RESPONSE_UNAVAILABLE_FOR_LEGAL_REASONS = ResponseCode.RESPONSE_UNAVAILABLE_FOR_LEGAL_REASONS
    RESPONSE_INTERNAL_SERVER_ERROR = ResponseCode.RESPONSE_INTERNAL_SERVER_ERROR
    RESPONSE_NOT_IMPLEMENTED = ResponseCode.RESPONSE_NOT_IMPLEMENTED
    RESPONSE_BAD_GATEWAY = ResponseCode.RESPONSE_BAD_GATEWAY
    RESPONSE_SERVICE_UNAVAILABLE = ResponseCode.RESPONSE_SERVICE_UNAVAILABLE
    RESPONSE_GATEWAY_TIMEOUT = ResponseCode.RESPONSE_GATEWAY_TIMEOUT
    RESPONSE_HTTP_VERSION_NOT_SUPPORTED = ResponseCode.RESPONSE_HTTP_VERSION_NOT_SUPPORTED
    RESPONSE_VARIANT_ALSO_NEGOTIATES = ResponseCode.RESPONSE_VARIANT_ALSO_NEGOTIATES
    RESPONSE_INSUFFICIENT_STORAGE = ResponseCode.RESPONSE_INSUFFICIENT_STORAGE
    RESPONSE_LOOP_DETECTED = ResponseCode.RESPONSE_LOOP_DETECTED
    RESPONSE_NOT_EXTENDED = ResponseCode.RESPONSE_NOT_EXTENDED
    RESPONSE_NETWORK_AUTH_REQUIRED = ResponseCode.RESPONSE_NETWORK_AUTH_REQUIRED

    def __init__(self, *, limits: Limits | None = None, resolver: Resolver | None = None) -> None:
        if limits is not None:
            check_instance("limits", limits, Limits, "Limits or None")
        self._limits = Limits() if limits is None else limits
        self._resolver: Resolver = (
            resolve_in_thread
            if resolver is None
            else check_callable("resolver", resolver, "(host, port) -> Resolution")
        )
        self._connect_timeout = 30.0
        self._happy_eyeballs_delay: float | None = 0.25
        self._trace: Trace | None = None
        self._overrides: dict[tuple[str, int], list[str]] = {}
        self._ip_version = 0
        self._blocking = False
        self._read_chunk_size = 65536
        self._host_header: bytes | None = None
        self._tls_options: TLSOptions | None = None
        self._http_proxy: Proxy | None = None
        self._https_proxy: Proxy | None = None
        self._proxy: Proxy | None = None
        self._connector: Connector | None = None
        self._peer: StreamPeer | None = None
        self._last_error: PollHTTPError | None = None
        self._request_head = b""
        self._scratch = bytearray()
        self._reset()

    def _reset(self) -> None:
        """Forget the connection and the response (the settings stay)."""
        self._close_streams()
        self._status = Status.STATUS_DISCONNECTED
        self._conn = ClientConnection(self.limits)
        self._outgoing = memoryview(b"")
        self._outgoing_body = memoryview(b"")
        self._body_waiting = False
        # After a 101 or a 2xx to CONNECT the connection carries another protocol (or
        # whatever the tunnel carries): its bytes belong to the caller, and are not stray.
        self._switched = False
        self._clear_response()

    def _close_streams(self) -> None:
        if self._connector is not None:
            self._connector.close()
            self._connector = None
        if self._peer is not None:
            self._peer.close()
            self._peer = None

    def _clear_response(self) -> None:
        self._response: Response | None = None
        # Field bytes as parsed; turned into "Name: value" strings only when asked for.
        self._informational: list[InformationalResponse] = []
        self._trailers: _Headers = []

    # -- connecting ----------------------------------------------------------------------

    def connect_to_host(
        self, host: str, port: int = -1, tls_options: TLSOptions | None = None
    ) -> Error:
        """Start connecting to ``host``; ``poll()`` carries it through RESOLVING and CONNECTING.

        ``https://`` means TLS (with ``TLSOptions.client()`` unless options are given) and
        port 443; ``http://`` means plain HTTP even if options are given, and port 80; with
        no prefix, TLS is used when ``tls_options`` is given. IP literals (IPv6 with or
        without brackets) connect at once; a host name is resolved on a worker thread, and
        every address it resolves to is tried in turn.
        """
        self.close()
        try:
            lower = check_text("host", host).lower()
            if lower.startswith("https://"):
                host, tls_options = host[8:], tls_options or TLSOptions.client()
            elif lower.startswith("http://"):
                host, tls_options = host[7:], None
            if tls_options is not None and not isinstance(tls_options, TLSOptions):
                raise InvalidTypeError(
                    f"tls_options must be TLSOptions or None, not {type(tls_options).__name__}"
                )
            if tls_options is not None and tls_options.is_server():
                raise InvalidParameterError("connect_to_host() needs client TLS options")
            default_port = 80 if tls_options is None else 443
            port = check_int("port", default_port if port == -1 else port, 1, 65535)
            connect_host, host_header, is_ip = parse_host(host)
        except InvalidParameterError as exc:
            self._last_error = exc
            return exc.code
        self._tls_options = tls_options
        self._host_header = host_header + (b"" if port == default_port else f":{port}".encode())
        # Godot's rule: the https proxy serves TLS origins, the http proxy plain ones.
        proxy = self._proxy = self._https_proxy if tls_options is not None else self._http_proxy
        target = Target(
            connect_host, port, is_ip, tls_options, proxy, _USER_AGENT, self._ip_version
        )
        return self._run(lambda: self._start_connector(target))

    def _start_connector(self, target: Target) -> Error:
        self._status = Status.STATUS_CONNECTING
        self._connector = Connector(
            target,
            resolver=self._lookup,
            limits=self.limits,
            connect_timeout=self.connect_timeout,
            happy_eyeballs_delay=self._happy_eyeballs_delay,
            trace=self.trace,
        )
        if self._connector.step is Step.RESOLVE:
            self._status = Status.STATUS_RESOLVING
        return Error.OK

    def _lookup(self, host: str, port: int) -> Resolution:
        """Resolve ``host``: the caller's override for it if there is one, else the resolver."""
        addresses = self._overrides.get((host, port))
        if addresses is not None:
            return Resolution.finished([(address, port) for address in addresses])
        return self._resolver(host, port)

    def _poll_connecting(self) -> Error:
        """RESOLVING and CONNECTING: drive the connector; CONNECTED once its stream is ready."""
        connector = self._connector
        assert connector is not None
        try:
            done = connector.poll(self._blocking)
        except ConnectError:
            # A proxy's refusal of the tunnel stays readable as the response.
            self._response = connector.refusal
            raise
        if done:
            self._peer = connector.take_stream()
            self._connector = None
            self._status = Status.STATUS_CONNECTED
        elif connector.step is not Step.RESOLVE:
            self._status = Status.STATUS_CONNECTING
        return Error.OK

    # -- the status machine ----------------------------------------------------------------

    def poll(self) -> Error:
        """Advance the connection as far as it can go now; check ``get_status()`` after.

        In blocking mode it waits (in the kernel, never spinning) until the status can
        change: the lookup finishes, the connect completes, or the response head arrives.
        """
        status = self._status
        if status is Status.STATUS_REQUESTING:
            return self._run(self._poll_requesting)
        if status is Status.STATUS_CONNECTED:
            return self._run(self._poll_idle)
        if status is Status.STATUS_CONNECTING or status is Status.STATUS_RESOLVING:
            return self._run(self._poll_connecting)
        return _STEADY[status]

    def _run(self, step: Callable[[], Error]) -> Error:
        """Run one step; a pollhttp exception becomes an error status and code."""
        before = self._status
        try:
            result: Error = step()
        except PollHTTPError as exc:
            result = self._fail(exc)
        if self.trace is not None and self._status is not before:
            self.trace("status", {"status": self._status})
        return result

    def _traced_status(self, before: Status) -> None:
        """Tell the trace about a status change made outside `_run`."""
        if self.trace is not None and self._status is not before:
            self.trace("status", {"status": self._status})

    def _fail(self, exc: PollHTTPError) -> Error:
        """Record ``exc``, close the socket and set the sticky error status for it."""
        self._last_error = exc
        if isinstance(exc, ResolveError):
            status = Status.STATUS_CANT_RESOLVE
        elif isinstance(exc, TLSHandshakeError):
            status = Status.STATUS_TLS_HANDSHAKE_ERROR
        elif isinstance(exc, ConnectError):
            status = Status.STATUS_CANT_CONNECT
        else:
            status = Status.STATUS_CONNECTION_ERROR
        self._close_streams()
        self._status = status
        return exc.code

    def _peer_error(self, fallback: str) -> PollHTTPError:
        assert self._peer is not None
        return self._peer.get_last_error() or NetworkError(fallback)

    def _poll_idle(self) -> Error:
        """CONNECTED: notice a server that closed the idle connection or wrote to it."""
        self._check_idle()
        return Error.OK

    def _check_idle(self) -> bool:
        """Look at the idle connection without blocking; False (and DISCONNECTED) if dead.

        A server may close an idle persistent connection at any time (RFC 9112 §9.5).
        Bytes on it answer no request: read as a response they would answer the next
        request (response-queue poisoning), so the connection is closed, not read.
        """
        peer = self._peer
        assert peer is not None
        err = peer.poll()
        if err == Error.ERR_FILE_EOF:
            reason = "the server closed the idle connection"
        elif err != Error.OK:
            raise self._peer_error("connection failed")
        elif self._switched or not peer.get_available_bytes():
            return True  # after a 101 or CONNECT the bytes belong to the new protocol
        else:
            reason = "bytes nobody asked for arrived on the idle connection; it is closed"
        self._disconnect()
        self._dropped(StaleConnectionError(reason))
        return False

    def _dropped(self, error: PollHTTPError) -> None:
        """A kept-alive connection was closed for ``error``; the status says DISCONNECTED."""
        self._last_error = error
        if self.trace is not None:
            self.trace("connection.dropped", {"error": error})

    def _poll_requesting(self) -> Error:
        peer = self._peer
        assert peer is not None
        if self._outgoing:
            if not self._send_pending(peer):
                return Error.OK
            if self._blocking:
                # The answer cannot be there yet: sleep first rather than read in vain.
                peer.wait(readable=True)
        return self._receive_head()

    def _send_pending(self, stream: StreamPeer) -> bool:
        """Write what the stream takes of the pending request; True once it is all sent."""
        out = self._outgoing
        while out or self._outgoing_body:
            if not out:  # the head is out: now the body, as it is
                out, self._outgoing_body = self._outgoing_body, memoryview(b"")
            err, sent = stream.put_partial_data(out)
            if err != Error.OK:
                raise stream.get_last_error() or NetworkError("send failed")
            if sent:
                out = out[sent:]
            elif not (self._blocking and stream.wait(readable=False, writable=True)):
                break
        self._outgoing = out
        return not out

    def _receive(self, conn: ClientConnection, stream: StreamPeer, nbytes: int) -> bool:
        """Move up to ``nbytes`` from ``stream`` into ``conn``; False if nothing came."""
        if len(self._scratch) < nbytes:
            # One reused buffer: a fresh large bytes object per read costs page faults.
            self._scratch = bytearray(nbytes)
        with memoryview(self._scratch) as view:
            err, count = stream.get_partial_data_into(view[:nbytes])
            if count:
                conn.receive_data(view[:count])
                return True
        self._peer_eof_or_error(conn, stream, err)
        return err == Error.ERR_FILE_EOF or self._wait_readable(stream)

    def _peer_eof_or_error(self, conn: ClientConnection, stream: StreamPeer, err: Error) -> None:
        """After a read that brought nothing: pass on the end of stream, or raise the error."""
        if err == Error.ERR_FILE_EOF:
            conn.receive_data(b"")
        elif err != Error.OK:
            raise stream.get_last_error() or NetworkError("receive failed")

    def _wait_readable(self, stream: StreamPeer) -> bool:
        """In blocking mode, sleep until ``stream`` has data; False when not blocking."""
        return self._blocking and stream.wait(readable=True)

    def _receive_head(self) -> Error:
        conn = self._conn
        while True:
            event = conn.next_event()
            if event is NEED_DATA:
                assert self._peer is not None
                if not self._receive(conn, self._peer, self._read_chunk_size):
                    return Error.OK
            elif isinstance(event, InformationalResponse):
                self._informational.append(event)
                if self.trace is not None:
                    self._trace_head("response.informational", event)
            elif isinstance(event, Response):
                self._response = event
                if self.trace is not None:
                    self._trace_head("response.head", event)
                if conn.state is ConnState.TUNNEL:
                    self._enter_tunnel(conn)
                elif event.content_length == 0:
                    self._end_of_message(conn.next_event(0))
                else:
                    self._status = Status.STATUS_BODY
                return Error.OK

    def _trace_head(self, name: str, head: Response | InformationalResponse) -> None:
        assert self.trace is not None
        info = {
            "status": head.status_code,
            "reason": head.reason,
            "version": head.http_version,
            "headers": head.headers,
        }
        self.trace(name, info)

    def _enter_tunnel(self, conn: ClientConnection) -> None:
        """After a 2xx to CONNECT or a 101, the connection carries the new protocol.

        Bytes that came with the head belong to it and are read first; the status is
        CONNECTED, and a new request() goes through the tunnel (over CONNECT, that is
        HTTP to the target). Godot drops those bytes.
        """
        assert self._peer is not None
        if conn.trailing_data:
            self._peer = PrefixedStreamPeer(self._peer, conn.trailing_data)
        self._conn = ClientConnection(self.limits)
        self._switched = True
        self._status = Status.STATUS_CONNECTED

    def _end_of_message(self, event: object) -> None:
        """Finish a response: CONNECTED to reuse the connection, else close it."""
        assert isinstance(event, EndOfMessage)
        self._trailers = event.trailers
        conn = self._conn
        if conn.state is ConnState.IDLE:
            self._status = Status.STATUS_CONNECTED
            return
        self._disconnect()
        if conn.unsolicited:
            # The response before them stays readable; the connection does not.
            self._dropped(
                RemoteProtocolError(
                    f"{conn.unsolicited} unsolicited bytes followed the response; "
                    "the connection is closed"
                )
            )

    def _disconnect(self) -> None:
        """Close a connection that cannot carry another request; the response stays readable."""
        assert self._peer is not None
        self._peer.close()
        self._peer = None
        self._status = Status.STATUS_DISCONNECTED

    # -- requests --------------------------------------------------------------------------

    def request(
        self,
        method: Method | int | str,
        url: str,
        headers: HeaderArgument,
        body: BodyArgument = "",
    ) -> Error:
        """Send a request; ``body`` is sent as it is (text as UTF-8), with any method.

        ``url`` is the path (``/index.php?x=1``), an absolute URL (for proxies), ``*`` for
        OPTIONS, or ``host:port`` for CONNECT. ``headers`` are ``"Name: value"`` lines,
        ``(name, value)`` pairs or a mapping; a None value leaves that header out, the
        default one (``User-Agent``, ``Accept``) included. Nothing is sent until
        ``poll()``. Bad input returns ``ERR_INVALID_PARAMETER``, leaves the status as it
        was, and sends nothing. A kept-alive connection is looked at first (no blocking):
        if the server closed it or wrote to it unasked, nothing is sent, the status is
        DISCONNECTED and the result ``ERR_CONNECTION_ERROR`` (`StaleConnectionError`).

        Godot drops the body of a GET (RFC 9110 §9.3.1 allows one) and sends
        into a connection the server has closed.
        """
        return self.request_raw(method, url, headers, body)

    def request_raw(
        self, method: Method | int | str, url: str, headers: HeaderArgument, body: BodyArgument
    ) -> Error:
        """Send a request with a raw byte body, as it is."""
        try:
            verb = method_bytes(method)
            lines, left_out = check_headers("headers", headers)
            content = check_body("body", body)
            try:
                target, fields = _prepare(check_text("url", url), tuple(lines))
            except UnicodeEncodeError as exc:
                raise InvalidParameterError(f"text that is not valid Unicode: {exc}") from exc
            if self._status is not Status.STATUS_CONNECTED or self._peer is None:
                raise InvalidParameterError(
                    f"request() needs status CONNECTED; the status is {self._status.name}"
                )
            if self._forwarding():
                target = absolute_target("http", self._host_header or b"", target)
            defaults = self._defaults(target)
            if left_out:
                if "host" in left_out:
                    raise InvalidParameterError("Host cannot be left out (RFC 9112 §3.2)")
                defaults = tuple(f for f in defaults if f[0].decode().lower() not in left_out)
            if not self._check_idle():
                self._traced_status(Status.STATUS_CONNECTED)
                assert self._last_error is not None
                return self._last_error.code
            head = self._conn.start_request(verb, target, fields, len(content), defaults)
        except InvalidParameterError as exc:
            self._last_error = exc
            return exc.code
        except PollHTTPError as exc:
            code = self._fail(exc)
            self._traced_status(Status.STATUS_CONNECTED)
            return code
        # A small body goes out with the head in one write; a large one is sent as it is,
        # after the head, never copied behind it.
        small = len(content) < _JOIN_LIMIT
        self._outgoing = memoryview(head + content if small else head)
        self._outgoing_body = memoryview(b"" if small else content)
        self._body_waiting = False
        self._clear_response()
        self._request_head = head
        self._status = Status.STATUS_REQUESTING
        if self.trace is not None:
            self.trace("request.head", {"head": head})
            self.trace("status", {"status": self._status})
        return Error.OK

    def _forwarding(self) -> bool:
        """Plain HTTP through a forward proxy: absolute-form targets (RFC 9112 §3.2.2)."""
        return self._proxy is not None and self._tls_options is None

    def _defaults(self, target: bytes) -> tuple[tuple[bytes, bytes], ...]:
        host = self._host_header
        if host is None:
            # A connection given with set_connection(): take the authority from an
            # absolute target, else send an empty Host (RFC 9112 §3.2).
            host = target.split(b"/")[2] if b"://" in target else b""
        proxy = self._proxy if self._forwarding() else None
        return _default_fields(host, proxy.authorization if proxy is not None else None)

    # -- proxies -----------------------------------------------------------------------------

    def set_http_proxy(
        self,
        host: str,
        port: int,
        *,
        username: str = "",
        password: str = "",
        tls_options: TLSOptions | None = None,
    ) -> None:
        """Send plain-HTTP requests through this proxy (absolute-form); "" or -1 unsets.

        ``host`` may be ``https://proxy`` (TLS to the proxy, checked with ``tls_options``) and
        may carry ``user:pass@``; ``username``/``password`` become ``Proxy-Authorization:
        Basic``. Applies from the next ``connect_to_host()``. Godot has no credentials.
        """
        try:
            self._http_proxy = parse_proxy(
                host, port, username=username, password=password, tls_options=tls_options
            )
        except InvalidParameterError as exc:
            self._last_error = exc

    def set_https_proxy(
        self,
        host: str,
        port: int,
        *,
        username: str = "",
        password: str = "",
        tls_options: TLSOptions | None = None,
    ) -> None:
        """Reach TLS origins through a CONNECT tunnel in this proxy; "" or -1 unsets.

        The arguments are those of ``set_http_proxy``. TLS to the origin runs inside the
        tunnel and is verified against the origin's name; nothing of the request reaches
        the proxy in the clear.
        """
        try:
            self._https_proxy = parse_proxy(
                host, port, username=username, password=password, tls_options=tls_options
            )
        except InvalidParameterError as exc:
            self._last_error = exc

    def use_proxy(self, proxy: Proxy | None, *, for_https: bool) -> None:
        """Set the proxy for https (or http) origins from a parsed `Proxy`; None unsets.

        For proxies already parsed, e.g. by ``environment_proxy()``; applies from the next
        ``connect_to_host()``.
        """
        if proxy is not None:
            check_instance("proxy", proxy, Proxy, "a Proxy (from environment_proxy()) or None")
        if check_bool("for_https", for_https):
            self._https_proxy = proxy
        else:
            self._http_proxy = proxy

    # -- reading the response ----------------------------------------------------------------

    def read_response_body_chunk(self) -> bytes:
        """Return up to ``read_chunk_size`` bytes of the body (``b""`` if none has arrived).

        Works the same in every framing (Godot returns one chunk per call for chunked
        bodies). When the body is complete the status becomes CONNECTED, or DISCONNECTED if
        the connection cannot be reused. A body cut short ends in CONNECTION_ERROR, and the
        bytes received up to then are still returned.
        """
        if self._status is not Status.STATUS_BODY:
            return b""
        conn = self._conn
        pieces: list[bytes] = []
        budget = self._read_chunk_size
        try:
            while budget:
                event = conn.next_event(budget)
                if type(event) is Data:
                    pieces.append(event.data)
                    budget -= len(event.data)
                elif event is NEED_DATA:
                    assert self._peer is not None
                    direct = conn.direct_body_bytes()
                    if direct:
                        # Body bytes as they come: handed on without a copy into the buffer.
                        err, data = self._peer.get_partial_data(min(budget, direct))
                        if data:
                            pieces.append(conn.receive_body_bytes(data).data)
                            budget -= len(data)
                            continue
                        self._peer_eof_or_error(conn, self._peer, err)
                        if err == Error.ERR_FILE_EOF:
                            continue
                        if self._wait_readable(self._peer):
                            continue
                        self._body_waiting = True
                        break
                    if not self._receive(conn, self._peer, budget):
                        self._body_waiting = True  # nothing more until the socket has data
                        break
                else:
                    self._end_of_message(event)
                    break
            else:
                self._body_waiting = False
                # The budget is spent: finish the message now if its end is already here.
                event = conn.next_event(0)
                if event is not NEED_DATA:
                    self._end_of_message(event)
        except PollHTTPError as exc:
            self._fail(exc)
        self._traced_status(Status.STATUS_BODY)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def has_response(self) -> bool:
        """True once a final response head has arrived, even one with no header lines.

        Godot says False for a head without header lines.
        """
        return self._response is not None

    def get_response_code(self) -> int:
        """The final response's status code, or 0 before there is one."""
        return self._response.status_code if self._response is not None else 0

    def get_response_reason(self) -> str:
        """The final response's reason phrase ("" before there is one). Not in Godot."""
        return _decode(self._response.reason) if self._response is not None else ""

    def get_response_http_version(self) -> str:
        """The final response's HTTP version, ``"1.1"`` or ``"1.0"``. Not in Godot."""
        return self._response.http_version.decode() if self._response is not None else ""

    def get_request_head(self) -> bytes:
        """The head of the last request as it was sent (request line and fields). Not in Godot."""
        return bytes(self._request_head)

    def get_response_headers(self) -> list[str]:
        """The header lines as ``"Name: value"``, in order and case as received.

        Reading does not consume them (Godot's does).
        """
        return _field_strings(self._response.headers) if self._response is not None else []

    def get_response_headers_as_dictionary(self) -> dict[str, str]:
        """The headers as a dictionary; repeated names are joined with ``"; "``.

        Names compare case-insensitively and keep the case first received. Godot keeps
        only the last of repeated names and treats different cases as different names.
        """
        result: dict[str, str] = {}
        keys: dict[str, str] = {}
        for line in self.get_response_headers():
            name, _, value = line.partition(": ")
            key = keys.setdefault(name.lower(), name)
            result[key] = f"{result[key]}; {value}" if key in result else value
        return result

    def get_response_body_length(self) -> int:
        """The body length from Content-Length, 0 for no body, -1 when unknown or chunked."""
        if self._response is None or self._response.content_length is None:
            return -1
        return self._response.content_length

    def is_response_chunked(self) -> bool:
        """True when the response body uses chunked transfer coding."""
        return self._response is not None and self._response.chunked

    def get_response_trailers(self) -> list[str]:
        """The trailer fields of a chunked body, as ``"Name: value"``, once it is complete.

        Godot reads and discards trailers.
        """
        return _field_strings(self._trailers)

    def get_informational_responses(self) -> list[tuple[int, list[str]]]:
        """The interim 1xx responses (100, 102, 103, ...) received before the final one.

        Godot takes the first 1xx for the final response.
        """
        return [(event.status_code, _field_strings(event.headers)) for event in self._informational]

    def get_last_error(self) -> PollHTTPError | None:
        """The exception behind the last error code, with its message and ``__cause__``.

        Godot prints errors to the console; here they stay readable.
        """
        return self._last_error

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until ``poll()`` or a body read can make progress, or ``timeout`` passes.

        It sleeps in the kernel (or on the lookup thread), never spinning. Returns False
        when the time ran out; True when there is something to do, or nothing to wait for.
        Godot has no such method: its callers poll every frame. ``timeout`` None,
        ``math.inf`` or huge is no limit; negative or NaN raises `InvalidParameterError`.
        """
        timeout = check_seconds("timeout", timeout)
        status = self._status
        if self._connector is not None:
            return self._connector.wait(timeout)
        if status is Status.STATUS_BODY and not self._body_waiting:
            return True  # body bytes may already be parsed or buffered: read them first
        if status in (Status.STATUS_REQUESTING, Status.STATUS_BODY) and self._peer is not None:
            sending = bool(self._outgoing)
            return self._peer.wait(readable=not sending, writable=sending, timeout=timeout)
        return True

    def get_wait_interest(self) -> Interest | None:
        """What the client waits for: a descriptor to read or write, `READY_NOW`, or None.

        None means there is nothing to wait for (idle, done, or failed); ``READY_NOW``
        means the next ``poll()`` or body read can progress at once. Godot has no such
        method: its callers poll every frame. `pollhttp.wait()` and `pollhttp.aio` use it.
        """
        status = self._status
        if self._connector is not None:
            return self._connector.get_wait_interest()
        stream: StreamPeer | None = None
        sending = bool(self._outgoing)
        if status is Status.STATUS_REQUESTING or (
            status is Status.STATUS_BODY and self._body_waiting
        ):
            stream = self._peer
        elif status is Status.STATUS_BODY:
            return READY_NOW
        if stream is None:
            return None
        if stream.get_available_bytes() > 0:
            return READY_NOW  # decrypted bytes are already waiting
        sending = sending or stream.has_pending_output()
        fd = stream.fileno()
        return Interest(fd, not sending, sending) if fd >= 0 else READY_NOW

    def get_wait_timeout(self) -> float | None:
        """Seconds until ``poll()`` must run for a connect or handshake timeout to fire."""
        connector = self._connector
        return connector.get_wait_timeout() if connector is not None else None

    def get_request_bytes_pending(self) -> int:
        """Bytes of the current request (head and body) not yet handed to the connection."""
        return len(self._outgoing) + len(self._outgoing_body)

    def get_status(self) -> Status:
        """The client's status; it changes only in calls on this client."""
        return self._status

    def close(self) -> None:
        """Close the connection and forget the response; settings are kept."""
        before = self._status
        self._reset()
        self._traced_status(before)
        self._host_header = None
        self._tls_options = None

    # -- properties --------------------------------------------------------------------------

    @property
    def limits(self) -> Limits:
        """Limits on what a server may make this client hold (see `Limits`).

        A new value applies from the next connection.
        """
        return self._limits

    @limits.setter
    def limits(self, limits: Limits) -> None:
        check_instance("limits", limits, Limits)
        self._limits = limits

    @property
    def trace(self) -> Trace | None:
        """Called with each step the client takes (see `pollhttp._trace` for the events).

        Connects, TLS, request and response heads, status changes; None for none. Not in
        Godot.
        """
        return self._trace

    @trace.setter
    def trace(self, trace: Trace | None) -> None:
        if trace is not None:
            check_callable("trace", trace, "(event, details) or None")
        self._trace = trace

    def set_blocking_mode(self, enabled: bool) -> None:
        """When on, ``poll()`` and body reads sleep until they can make progress.

        Godot busy-waits on the socket; this sleeps in the kernel (selectors).
        """
        self._blocking = bool(enabled)

    def is_blocking_mode_enabled(self) -> bool:
        """Whether blocking mode is on."""
        return self._blocking

    blocking_mode_enabled = property(is_blocking_mode_enabled, set_blocking_mode)

    def set_read_chunk_size(self, bytes_: int) -> None:
        """Set the most bytes one body read returns: 256 to 16 MiB; other values are ignored.

        As in Godot, a value refused (out of range, or not an int) leaves the size as it
        was; the reason is kept for ``get_last_error()``.
        """
        try:
            self._read_chunk_size = check_int(
                "read_chunk_size", bytes_, _READ_CHUNK_MIN, _READ_CHUNK_MAX
            )
        except InvalidParameterError as exc:
            self._last_error = exc

    def get_read_chunk_size(self) -> int:
        """The most bytes one ``read_response_body_chunk()`` returns (default 65536)."""
        return self._read_chunk_size

    read_chunk_size = property(get_read_chunk_size, set_read_chunk_size)

    def set_ip_version(self, version: int) -> None:
        """Connect over IPv4 only (4), IPv6 only (6), or either (0, the default).

        Applies from the next ``connect_to_host()``; curl's ``-4``/``-6``. Not in Godot.
        """
        if check_int("ip_version", version, 0, 6) not in (0, 4, 6):
            raise InvalidParameterError(f"ip_version must be 0, 4 or 6, not {version!r}")
        self._ip_version = version

    def get_ip_version(self) -> int:
        """The address family connections use: 0 (any), 4 or 6."""
        return self._ip_version

    ip_version = property(get_ip_version, set_ip_version)

    def set_connect_timeout(self, seconds: float) -> None:
        """Seconds a TCP connect may take (Godot's project setting, 30 s); ``inf``: no limit.

        Each later step (TLS handshake, proxy tunnel) gets as long again. With Happy
        Eyeballs the time runs from the first attempt for all the addresses raced.
        """
        checked = check_seconds("connect_timeout", seconds, none_ok=False)
        self._connect_timeout = math.inf if checked is None else checked

    def get_connect_timeout(self) -> float:
        """Seconds a connect step may take (``inf``: no limit)."""
        return self._connect_timeout

    connect_timeout = property(get_connect_timeout, set_connect_timeout)

    def set_happy_eyeballs_delay(self, seconds: float | None) -> None:
        """Race the addresses of a host (RFC 8305): the next starts after ``seconds``.

        While a connect has not succeeded after this delay (0.1 to 2 s; default 0.25),
        the next address starts too, families interleaved, up to 6 at once; the first
        to connect wins and the others are closed. ``connect_timeout`` then runs from the
        first attempt for all of them. None tries one address after another, each with
        the whole ``connect_timeout``, as Godot does.
        """
        if seconds is not None:
            seconds = check_seconds("happy_eyeballs_delay", seconds, none_ok=False)
            if seconds is None or not 0.1 <= seconds <= 2.0:
                raise InvalidParameterError("happy_eyeballs_delay must be 0.1 to 2 seconds or None")
        self._happy_eyeballs_delay = seconds

    def get_happy_eyeballs_delay(self) -> float | None:
        """Seconds before the next address is raced, or None for one after another."""
        return self._happy_eyeballs_delay

    happy_eyeballs_delay = property(get_happy_eyeballs_delay, set_happy_eyeballs_delay)

    def set_resolve_overrides(self, overrides: Mapping[str, Sequence[str]]) -> None:
        """Connect to these addresses instead of looking the names up (curl's ``--resolve``).

        ``{"example.com:443": ["127.0.0.1"]}``: the key is a host and port as given to
        ``connect_to_host()`` (or a proxy's), the value one or more IP addresses. TLS still
        checks the certificate against the host name. Not in Godot.
        """
        self._overrides = parse_resolve_overrides(overrides)

    def get_resolve_overrides(self) -> dict[str, list[str]]:
        """The overrides, as ``{"host:port": [addresses]}``."""
        return {f"{host}:{port}": list(addrs) for (host, port), addrs in self._overrides.items()}

    resolve_overrides = property(get_resolve_overrides, set_resolve_overrides)

    def set_connection(self, connection: StreamPeer) -> None:
        """Use an already open stream, e.g. one the caller connected; the status is CONNECTED.

        ``poll()`` works with any StreamPeer (Godot checks its own TCP socket instead).
        """
        try:
            check_instance("connection", connection, StreamPeer, "a StreamPeer")
        except InvalidParameterError as exc:
            # As the other Godot setters here: refused, and the reason kept.
            self._last_error = exc
            return
        if connection is self._peer:
            return
        self.close()
        self._peer = connection
        self._status = Status.STATUS_CONNECTED

    def get_connection(self) -> StreamPeer | None:
        """The stream in use: the TCP peer, or the one given to ``set_connection()``."""
        if self._connector is not None:
            return self._connector.connection()
        return self._peer

    connection = property(get_connection, set_connection)

    @staticmethod
    def query_string_from_dict(fields: Mapping[Any, Any]) -> str:
        """Build a query string: ``{"a": 1, "b": None, "c": [2, 3]}`` gives ``a=1&b&c=2&c=3``."""
        return query_string_from_dict(fields)
