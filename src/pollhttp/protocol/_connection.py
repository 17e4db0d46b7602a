"""The sans-IO HTTP/1.1 client connection: request bytes out, response events in.

No sockets, TLS, clocks or threads: the caller moves bytes. Parsing is strict RFC 9112,
works on whole blocks (one search for the end of the head, one pass to validate it), and
every buffer is bounded by `Limits`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from .._errors import (
    IncompleteBodyError,
    InvalidParameterError,
    InvalidTypeError,
    LimitExceededError,
    NoResponseError,
    RemoteProtocolError,
)
from ._headers import Headers, check_field_block, comma_list, parse_field_lines
from ._writers import request_head

__all__ = [
    "NEED_DATA",
    "ClientConnection",
    "ConnState",
    "Data",
    "EndOfMessage",
    "Event",
    "InformationalResponse",
    "Limits",
    "Response",
]


@dataclass(frozen=True)
class Limits:
    """Hard limits on what a server may make the client hold.

    Godot has none of these (its head buffer grows without bound).
    """

    #: Bytes in one response head, status line and blank line included.
    max_head_bytes: int = 64 * 1024
    #: Header lines in one response head.
    max_headers: int = 100
    #: Bytes in one chunk-size line, extensions included (RFC 9112 §7.1.1).
    max_chunk_line_bytes: int = 4096
    #: Largest chunk size accepted. Chunks are streamed, so this guards only against
    #: absurd values; 16 hex digits is the syntactic cap either way.
    max_chunk_size: int = (1 << 63) - 1
    #: Bytes in the trailer section of a chunked body.
    max_trailer_bytes: int = 64 * 1024
    #: Interim (1xx) responses accepted before the final response.
    max_informational: int = 32

    def __post_init__(self) -> None:
        # Checked here, not in the middle of a response much later.
        for name, value in vars(self).items():
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidTypeError(f"Limits.{name} must be an int, not {type(value).__name__}")
            if value < 1:
                raise InvalidParameterError(f"Limits.{name} must be 1 or more, got {value}")


class ConnState(Enum):
    """Where the connection stands in the request/response cycle."""

    IDLE = "idle"  # ready for send_request()
    AWAIT_HEAD = "await_head"  # request sent; reading the response head
    BODY = "body"  # reading the response body
    MUST_CLOSE = "must_close"  # response done; the connection cannot carry another
    TUNNEL = "tunnel"  # after 2xx to CONNECT or 101: bytes are no longer HTTP
    ERROR = "error"  # a protocol error happened; sticky


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


#: Returned by `ClientConnection.next_event` when more bytes must be received first.
NEED_DATA = _NeedData()


@dataclass(slots=True)
class Response:
    """A final response head."""

    status_code: int
    reason: bytes
    http_version: bytes
    headers: Headers
    #: The body length from Content-Length, 0 when there is no body, None when unknown
    #: (chunked, or delimited by the server closing the connection).
    content_length: int | None
    chunked: bool


@dataclass(slots=True)
class InformationalResponse:
    """An interim 1xx response head (RFC 9110 §15.2) other than 101."""

    status_code: int
    reason: bytes
    http_version: bytes
    headers: Headers


@dataclass(slots=True)
class Data:
    """A piece of the response body, with chunked framing removed."""

    data: bytes


@dataclass(slots=True)
class EndOfMessage:
    """The body is complete; ``trailers`` holds the fields of a chunked trailer section."""

    trailers: Headers = field(default_factory=list)


Event = Response | InformationalResponse | Data | EndOfMessage

# The end of a field section: an empty line, ended by CRLF or by a bare LF, which
# RFC 9112 §2.2 allows a recipient to accept as a line terminator.
_SECTION_END = re.compile(rb"\n\r?\n")
_STATUS_LINE = re.compile(rb"HTTP/(1\.[01]) ([1-5][0-9][0-9])(?: ([\t\x20-\x7e\x80-\xff]*))?")
_OTHER_VERSION = re.compile(rb"HTTP/([0-9.]+) ")
# chunk = chunk-size [ chunk-ext ] CRLF (RFC 9112 §7.1): hex digits only (no "0x", "+"
# or spaces inside), then optional extensions, which are ignored.
_CHUNK_LINE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[\t\x20-\x7e\x80-\xff]*)?\r\n")
_DIGITS = re.compile(rb"[0-9]{1,19}")

_NOT_REUSABLE = (ConnState.MUST_CLOSE, ConnState.TUNNEL, ConnState.ERROR)


class Framing(Enum):
    """How a response body is delimited, chosen once per response (RFC 9112 §6.3)."""

    NO_BODY = "no body"  # HEAD, 204, 304, Content-Length: 0
    LENGTH = "content-length"
    CHUNKED = "chunked"
    UNTIL_CLOSE = "until close"  # no length: the body ends when the server closes


class ChunkStep(Enum):
    """Where the chunked reader stands (RFC 9112 §7.1)."""

    SIZE = "size"  # reading a chunk-size line
    DATA = "data"  # inside a chunk's data
    DATA_END = "data end"  # the CRLF after a chunk's data
    TRAILER = "trailer"  # after the last chunk: the trailer section


# Module-level names for the hot paths: a global lookup, compared by identity.
_NO_BODY, _LENGTH, _CHUNKED, _UNTIL_CLOSE = Framing
_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILER = ChunkStep


class ClientConnection:
    """One HTTP/1.1 connection, client role: one request at a time.

    ``send_request()`` returns the bytes to write; ``receive_data()`` takes what was read
    (``b""`` for end of stream); ``next_event()`` returns the next `Event` or `NEED_DATA`.
    Errors raise `RemoteProtocolError` (or a subclass) and leave the connection in
    `ConnState.ERROR`.
    """

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.state = ConnState.IDLE
        self._buf = bytearray()
        self._eof = False
        self._scan_from = 0
        self._method = b""
        self._request_close = False
        self._upgrade_requested = False
        self._informational = 0
        self._keep_alive = True
        self._framing: Framing = _NO_BODY
        self._remaining = 0
        self._received = 0
        self._chunk_step: ChunkStep = _SIZE
        #: Bytes that followed the end of the last response in the same reads: the server
        #: sent something nobody asked for, and the connection must not be reused.
        self.unsolicited = 0

    # -- sending -------------------------------------------------------------------------

    def send_request(
        self,
        method: bytes,
        target: bytes,
        headers: Sequence[tuple[bytes, bytes]],
        body: bytes = b"",
        defaults: Sequence[tuple[bytes, bytes]] = (),
    ) -> bytes:
        """Start a request cycle and return the bytes to send (head and body)."""
        head = self.start_request(method, target, headers, len(body), defaults)
        return head + body if body else head

    def start_request(
        self,
        method: bytes,
        target: bytes,
        headers: Sequence[tuple[bytes, bytes]],
        body_length: int,
        defaults: Sequence[tuple[bytes, bytes]] = (),
    ) -> bytes:
        """Start a request cycle and return its head; the caller sends ``body_length`` bytes.

        For large bodies: the body is sent as it is, never copied behind the head.
        """
        if self.state is not ConnState.IDLE:
            raise InvalidParameterError(f"cannot send a request in state {self.state.value}")
        head, self._request_close, self._upgrade_requested = request_head(
            method, target, tuple(headers), body_length, tuple(defaults)
        )
        self._method = method
        self._informational = 0
        self._scan_from = 0
        self.state = ConnState.AWAIT_HEAD
        return head

    # -- receiving -----------------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Add bytes read from the peer; ``b""`` means the peer closed its side.

        Bytes that arrive while no request is outstanding are `unsolicited`: the
        connection is closed, not read (see `_finish`).
        """
        if data:
            self._buf += data
            if self.state is ConnState.IDLE:
                self.state = ConnState.MUST_CLOSE
                self.unsolicited += len(data)
            elif self.unsolicited:
                self.unsolicited += len(data)  # more of what nobody asked for
        else:
            self._eof = True

    def direct_body_bytes(self) -> int:
        """How many of the next bytes received are body bytes as they are (0: parse them).

        Inside a Content-Length body, a chunk's data or a body delimited by close, with
        nothing buffered, a caller may read up to that many bytes and give them to
        `receive_body_bytes`, which passes them on without copying them into the buffer.
        """
        if self.state is not ConnState.BODY or self._buf or self._eof:
            return 0
        if self._framing is _UNTIL_CLOSE:
            return 1 << 62
        if self._framing is _LENGTH or self._chunk_step is _CHUNK_DATA:
            return self._remaining
        return 0

    def receive_body_bytes(self, data: bytes) -> Data:
        """Take body bytes read after `direct_body_bytes` said so; returns them as `Data`."""
        count = len(data)
        if count > self.direct_body_bytes():
            raise InvalidParameterError("more body bytes than direct_body_bytes() allowed")
        if self._framing is not _UNTIL_CLOSE:
            self._remaining -= count
            if self._framing is _CHUNKED and self._remaining == 0:
                self._chunk_step = _CHUNK_END
        self._received += count
        return Data(data)

    @property
    def trailing_data(self) -> bytes:
        """Bytes received after the head of a 2xx to CONNECT or a 101: the tunnel's."""
        return bytes(self._buf)

    @property
    def reusable(self) -> bool:
        """Whether the current response leaves the connection open for another request."""
        return self._keep_alive and self.state not in _NOT_REUSABLE

    def next_event(self, max_data: int = 1 << 62) -> Event | _NeedData:
        """Parse what has been received; a `Data` event holds at most ``max_data`` bytes."""
        try:
            if self.state is ConnState.BODY:
                if self._framing is _CHUNKED:
                    return self._read_chunked(max_data)
                return self._read_plain(max_data)
            if self.state is ConnState.AWAIT_HEAD:
                return self._read_head()
        except RemoteProtocolError:
            self.state = ConnState.ERROR
            raise
        return NEED_DATA

    def _read_head(self) -> Event | _NeedData:
        buf = self._buf
        if not buf and not self._eof:
            return NEED_DATA
        if self._scan_from == 0 and buf and buf[0] in b"\r\n":
            # Tolerate empty lines before the status line, as RFC 9112 §2.2 asks of servers.
            while buf[:1] == b"\n" or buf[:2] == b"\r\n":
                del buf[: 1 if buf[0] == 0x0A else 2]
        m = _SECTION_END.search(buf, self._scan_from)
        limit = self.limits.max_head_bytes
        if m is None or m.end() > limit:
            if len(buf) > limit or m is not None:
                raise LimitExceededError(f"response head larger than {limit} bytes")
            if self._eof:
                if buf:
                    raise RemoteProtocolError(
                        "connection closed in the middle of the response head"
                    )
                raise NoResponseError("server closed the connection without sending a response")
            self._scan_from = max(0, len(buf) - 2)
            return NEED_DATA
        with memoryview(buf) as view:
            block = bytes(view[: m.start() + 1])
        del buf[: m.end()]
        self._scan_from = 0
        check_field_block(block)
        lines = block.splitlines()
        status = _STATUS_LINE.fullmatch(lines[0])
        if status is None:
            other = _OTHER_VERSION.match(lines[0])
            if other is not None and other[1] not in (b"1.0", b"1.1"):
                raise RemoteProtocolError(
                    f"unsupported HTTP version {other[1].decode()} in the status line"
                )
            raise RemoteProtocolError(f"invalid status line {lines[0][:40]!r}")
        version, code, reason = status[1], int(status[2]), status[3] or b""
        headers = parse_field_lines(lines[1:], self.limits.max_headers)
        if code < 200 and code != 101:
            self._informational += 1
            if self._informational > self.limits.max_informational:
                raise LimitExceededError(
                    f"more than {self.limits.max_informational} interim (1xx) responses"
                )
            return InformationalResponse(code, reason, version, headers)
        return self._start_body(version, code, reason, headers)

    def _start_body(self, version: bytes, code: int, reason: bytes, headers: Headers) -> Response:
        if code == 101 and not self._upgrade_requested:
            raise RemoteProtocolError("101 Switching Protocols without an Upgrade request")
        if code == 101 or (self._method == b"CONNECT" and 200 <= code < 300):
            # The bytes after this head belong to the new protocol or the tunnel; a client
            # MUST ignore framing fields in a 2xx to CONNECT (RFC 9110 §9.3.6).
            self.state = ConnState.TUNNEL
            self._keep_alive = False
            self._framing = _NO_BODY
            return Response(code, reason, version, headers, 0, False)
        # One pass over the fields for the three that decide framing and persistence.
        codings: list[bytes] = []
        lengths: list[bytes] = []
        connection: list[bytes] = []
        for name, value in headers:
            key = name.lower()
            if key == b"content-length":
                lengths.append(value)
            elif key == b"connection":
                connection.append(value)
            elif key == b"transfer-encoding":
                codings.append(value)
        transfer = comma_list(codings) if codings else codings
        length = self._content_length(lengths)
        tokens = comma_list(connection)
        # RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive".
        keep = b"close" not in tokens and (version == b"1.1" or b"keep-alive" in tokens)
        if transfer:
            if version == b"1.0":
                # RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing.
                raise RemoteProtocolError("Transfer-Encoding in an HTTP/1.0 response")
            if transfer != [b"chunked"]:
                # Only chunked is supported; any other coding would reach the caller still
                # encoded, so it is an error rather than a silently wrong body.
                raise RemoteProtocolError(
                    f"unsupported Transfer-Encoding {b', '.join(transfer).decode('latin-1')!r}"
                )
            if length is not None:
                # RFC 9112 §6.3 item 3: chunked wins, and the connection must be closed.
                keep = False
        if self._method == b"HEAD" or code in (204, 304):
            framing = _NO_BODY  # RFC 9112 §6.3 item 1
        elif transfer:
            framing = _CHUNKED
        elif length is not None:
            framing = _LENGTH if length else _NO_BODY
        else:
            framing = _UNTIL_CLOSE  # RFC 9112 §6.3 item 8
            keep = False
        self._keep_alive = keep and not self._request_close
        self._framing = framing
        self._remaining = (length or 0) if framing is _LENGTH else 0
        self._received = 0
        self._chunk_step = _SIZE
        self.state = ConnState.BODY
        return Response(
            code,
            reason,
            version,
            headers,
            0 if framing is _NO_BODY else (length if framing is _LENGTH else None),
            framing is _CHUNKED,
        )

    @staticmethod
    def _content_length(fields: list[bytes]) -> int | None:
        if not fields:
            return None
        values = comma_list(fields)
        if not values:
            raise RemoteProtocolError("empty Content-Length")
        for value in values:
            if _DIGITS.fullmatch(value) is None:
                raise RemoteProtocolError(f"invalid Content-Length {value[:40]!r}")
        if len(set(values)) > 1:
            # RFC 9110 §8.6: differing values are an unrecoverable framing error.
            raise RemoteProtocolError("conflicting Content-Length values")
        return int(values[0])

    def _finish(self, trailers: Headers) -> EndOfMessage:
        # Bytes after the end of a response answer no request; read as the next response
        # they would answer the next request (response-queue poisoning, the client side of
        # request smuggling, RFC 9112 §11.2), so the connection is not reused.
        self.unsolicited = len(self._buf)
        keep = self._keep_alive and not self._buf
        self.state = ConnState.IDLE if keep else ConnState.MUST_CLOSE
        return EndOfMessage(trailers)

    def _take(self, count: int) -> Data:
        buf = self._buf
        if count == len(buf):
            data = bytes(buf)
            buf.clear()
        else:
            with memoryview(buf) as view:  # one copy, not a bytearray slice and then bytes
                data = bytes(view[:count])
            del buf[:count]
        self._received += count
        return Data(data)

    def _read_plain(self, max_data: int) -> Event | _NeedData:
        """Content-Length bodies, bodiless responses, and bodies delimited by close.

        With ``max_data == 0`` only the end of the message is reported, never data.
        """
        buf = self._buf
        if self._framing is _UNTIL_CLOSE:
            if buf:
                return self._take(min(len(buf), max_data)) if max_data else NEED_DATA
            return self._finish([]) if self._eof else NEED_DATA
        if self._remaining == 0:
            return self._finish([])
        if buf and max_data:
            count = min(self._remaining, len(buf), max_data)
            self._remaining -= count
            return self._take(count)
        if self._eof and not buf:
            expected = self._received + self._remaining
            raise IncompleteBodyError(
                f"connection closed after {self._received} of {expected} body bytes",
                received=self._received,
                expected=expected,
            )
        return NEED_DATA

    def _read_chunked(self, max_data: int) -> Event | _NeedData:
        buf = self._buf
        while True:
            step = self._chunk_step
            if step is _CHUNK_DATA:
                if buf and max_data:
                    count = min(self._remaining, len(buf), max_data)
                    self._remaining -= count
                    if self._remaining == 0:
                        self._chunk_step = _CHUNK_END
                    return self._take(count)
            elif step is _CHUNK_END:
                if len(buf) >= 2:
                    if buf[:2] != b"\r\n":
                        # h11 CVE-2025-43859: anything but CRLF here is a framing error.
                        raise RemoteProtocolError("chunk data not followed by CRLF")
                    del buf[:2]
                    self._chunk_step = _SIZE
                    continue
            elif step is _SIZE:
                limit = self.limits.max_chunk_line_bytes
                end = buf.find(b"\n", 0, limit)
                if end >= 0:
                    m = _CHUNK_LINE.fullmatch(buf, 0, end + 1)
                    if m is None:
                        raise RemoteProtocolError(
                            f"invalid chunk size line {bytes(buf[: min(end + 1, 40)])!r}"
                        )
                    size = int(m[1], 16)
                    if size > self.limits.max_chunk_size:
                        raise LimitExceededError(
                            f"chunk of {size} bytes exceeds the limit of "
                            f"{self.limits.max_chunk_size}"
                        )
                    del buf[: end + 1]
                    self._remaining = size
                    self._chunk_step = _CHUNK_DATA if size else _TRAILER
                    continue
                if len(buf) >= limit:
                    raise LimitExceededError(f"chunk size line longer than {limit} bytes")
            else:  # _TRAILER
                if buf[:2] == b"\r\n" or buf[:1] == b"\n":
                    del buf[: 2 if buf[0] == 0x0D else 1]
                    return self._finish([])
                limit = self.limits.max_trailer_bytes
                m = _SECTION_END.search(buf, self._scan_from)
                if m is not None and m.end() <= limit:
                    block = bytes(buf[: m.start() + 1])
                    del buf[: m.end()]
                    self._scan_from = 0
                    check_field_block(block)
                    return self._finish(
                        parse_field_lines(block.splitlines(), self.limits.max_headers)
                    )
                if len(buf) > limit or m is not None:
                    raise LimitExceededError(f"trailer section larger than {limit} bytes")
                self._scan_from = max(0, len(buf) - 2)
            if self._eof and not (buf and step is _CHUNK_DATA):
                raise IncompleteBodyError(
                    f"connection closed after {self._received} body bytes, "
                    "before the end of the chunked body",
                    received=self._received,
                    expected=None,
                )
            return NEED_DATA
