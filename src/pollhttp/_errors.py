"""One exception tree for pollhttp; each class carries the Godot `Error` it stands for.

``HTTPClient`` never raises these for failures Godot reports as an ``Error``: it returns
``exc.code``, sets its status, and keeps the exception for ``get_last_error()``.
"""

from __future__ import annotations

from ._enums import Error

__all__ = [
    "ConnectError",
    "ContentDecodingError",
    "DownloadFileError",
    "HTTPStatusError",
    "IncompleteBodyError",
    "InvalidParameterError",
    "InvalidTypeError",
    "LimitExceededError",
    "NetworkError",
    "NoResponseError",
    "PollHTTPError",
    "RedirectError",
    "RemoteProtocolError",
    "ResolveError",
    "StaleConnectionError",
    "TLSHandshakeError",
    "TooManyRedirectsError",
    "TransferTimeoutError",
]


class PollHTTPError(Exception):
    """Base of every pollhttp exception; ``code`` is the Godot ``Error`` it maps to."""

    code: Error = Error.FAILED


class InvalidParameterError(PollHTTPError, ValueError):
    """A bad argument: a method, URL, header, host or port that must not reach the wire."""

    code = Error.ERR_INVALID_PARAMETER


class InvalidTypeError(InvalidParameterError, TypeError):
    """An argument of the wrong type; the message names the parameter and what it accepts.

    Both a `TypeError`, as Python code expects, and an `InvalidParameterError`.
    """


class ResolveError(PollHTTPError):
    """The host name could not be resolved to any address."""

    code = Error.ERR_CANT_RESOLVE


class ConnectError(PollHTTPError):
    """No connection could be opened to any address of the host."""

    code = Error.ERR_CANT_CONNECT


class TLSHandshakeError(ConnectError):
    """The TLS handshake failed: untrusted issuer, name mismatch, expiry, version, pin, cut.

    ``reason`` is the short cause, e.g. ``"certificate verify failed: certificate has expired"``.
    """

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class NetworkError(PollHTTPError):
    """An open connection failed: reset, broken pipe, or closed by the peer mid-exchange."""

    code = Error.ERR_CONNECTION_ERROR


class StaleConnectionError(NetworkError):
    """A kept-alive connection was dead before a request went out on it; nothing was sent.

    The server had closed it (EOF), or bytes nobody asked for were waiting on it, which
    would be read as the answer to the next request (response-queue poisoning). The client
    is DISCONNECTED; connect again (HTTPRequest does so by itself).
    """


class RemoteProtocolError(PollHTTPError):
    """The server broke HTTP/1.1 (RFC 9112): a malformed head, bad framing, or a bad chunk."""

    code = Error.ERR_CONNECTION_ERROR


class LimitExceededError(RemoteProtocolError):
    """The server exceeded one of the client's `Limits` (head size, header count, chunk size)."""


class ContentDecodingError(PollHTTPError):
    """The body's content coding (gzip, deflate, br, zstd) could not be decoded."""

    code = Error.ERR_INVALID_DATA


class TransferTimeoutError(PollHTTPError):
    """A request ran past its ``timeout``, or received nothing for ``stall_timeout``."""

    code = Error.ERR_TIMEOUT


class TooManyRedirectsError(PollHTTPError):
    """More redirects than ``max_redirects``, or a redirect loop."""

    code = Error.FAILED


class RedirectError(PollHTTPError):
    """A redirect that must not be followed: a bad ``Location`` or a non-http(s) scheme."""

    code = Error.FAILED


class DownloadFileError(PollHTTPError):
    """The ``download_file`` could not be opened (``opening``) or written."""

    def __init__(self, message: str, *, opening: bool = False) -> None:
        super().__init__(message)
        self.code = Error.ERR_FILE_CANT_OPEN if opening else Error.ERR_FILE_CANT_WRITE


class HTTPStatusError(PollHTTPError):
    """Raised by ``Response.raise_for_status()`` for a 4xx or 5xx response.

    ``response`` is the `Response` itself (None when raised without one).
    """

    def __init__(self, message: str, *, status_code: int, response: object = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.response = response


class NoResponseError(RemoteProtocolError):
    """The server closed the connection without sending any byte of a response.

    On a reused keep-alive connection this usually means the server had closed it.
    """


class IncompleteBodyError(RemoteProtocolError):
    """The connection closed before the body was complete; the bytes received were delivered."""

    def __init__(self, message: str, *, received: int, expected: int | None) -> None:
        super().__init__(message)
        self.received = received
        self.expected = expected


# -- finer classes, so that callers (the pollhttp command's exit statuses) never read messages --

__all__ += [
    "CertificateVerifyError",
    "ConnectTimeoutError",
    "PinMismatchError",
    "RedirectSchemeError",
    "TLSHandshakeTimeoutError",
]


class ConnectTimeoutError(ConnectError):
    """No connection within ``connect_timeout``: the TCP connect, or the proxy's CONNECT answer.

    ``timeout`` is the limit that passed, in seconds.
    """

    def __init__(self, message: str, *, timeout: float) -> None:
        super().__init__(message)
        self.timeout = timeout


class TLSHandshakeTimeoutError(TLSHandshakeError):
    """The TLS handshake did not finish within ``connect_timeout`` (``timeout``, seconds)."""

    def __init__(self, message: str, *, timeout: float) -> None:
        super().__init__(message, reason="timed out")
        self.timeout = timeout


class CertificateVerifyError(TLSHandshakeError):
    """The server's certificate failed verification: untrusted, expired, revoked, wrong name.

    ``verify_code`` is OpenSSL's ``X509_V_ERR_*`` number (``ssl.SSLCertVerificationError``'s),
    ``hostname_mismatch`` says whether the name was the problem.
    """

    def __init__(
        self, message: str, *, reason: str, verify_code: int, hostname_mismatch: bool
    ) -> None:
        super().__init__(message, reason=reason)
        self.verify_code = verify_code
        self.hostname_mismatch = hostname_mismatch


class PinMismatchError(TLSHandshakeError):
    """The server's public key matched none of the SPKI pins of its `TLSOptions`."""


class RedirectSchemeError(RedirectError):
    """A redirect to a scheme other than http and https (``scheme``, from ``location``)."""

    def __init__(self, message: str, *, location: str, scheme: str) -> None:
        super().__init__(message)
        self.location = location
        self.scheme = scheme
