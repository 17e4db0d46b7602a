"""pollhttp: Godot's HTTPClient for Python, a non-blocking HTTP/1.1 client driven by poll()."""

import importlib
from typing import TYPE_CHECKING

from ._enums import Error, Method, ResponseCode, Status
from ._errors import (
    CertificateVerifyError,
    ConnectError,
    ConnectTimeoutError,
    ContentDecodingError,
    DownloadFileError,
    HTTPStatusError,
    IncompleteBodyError,
    InvalidParameterError,
    InvalidTypeError,
    LimitExceededError,
    NetworkError,
    NoResponseError,
    PinMismatchError,
    PollHTTPError,
    RedirectError,
    RedirectSchemeError,
    RemoteProtocolError,
    ResolveError,
    StaleConnectionError,
    TLSHandshakeError,
    TLSHandshakeTimeoutError,
    TooManyRedirectsError,
    TransferTimeoutError,
)
from ._version import __version__
from .client import HTTPClient
from .protocol import Limits
from .transport import (
    READY_NOW,
    CryptoKey,
    DNSCache,
    Interest,
    Proxy,
    Resolution,
    Resolver,
    StreamPeer,
    StreamPeerTCP,
    StreamPeerTLS,
    TLSOptions,
    X509Certificate,
)

if TYPE_CHECKING:
    from .api import (
        Headers,
        Response,
        Session,
        delete,
        get,
        head,
        options,
        patch,
        post,
        put,
        request,
    )
    from .http_request import HTTPRequest, Result, Signal
    from .pool import ConnectionPool
    from .retry import Retry
    from .waiter import Waitable, wait

# HTTPRequest, the one-call API and the waiter load on first use: a program that only
# drives HTTPClient does not pay for them at import time (issue 8: import no slower than
# urllib3).
_LAZY = {
    **dict.fromkeys(
        (
            "Headers",
            "Response",
            "Retry",
            "Session",
            "delete",
            "get",
            "head",
            "options",
            "patch",
            "post",
            "put",
            "request",
        ),
        "api",
    ),
    "Retry": "retry",
    **dict.fromkeys(("HTTPRequest", "Result", "Signal"), "http_request"),
    **dict.fromkeys(("Waitable", "wait"), "waiter"),
    "ConnectionPool": "pool",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pollhttp' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    # The lazily loaded names too, so that dir() and completion show the whole API.
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "READY_NOW",
    "CertificateVerifyError",
    "ConnectError",
    "ConnectTimeoutError",
    "ConnectionPool",
    "ContentDecodingError",
    "CryptoKey",
    "DNSCache",
    "DownloadFileError",
    "Error",
    "HTTPClient",
    "HTTPRequest",
    "HTTPStatusError",
    "Headers",
    "IncompleteBodyError",
    "Interest",
    "InvalidParameterError",
    "InvalidTypeError",
    "LimitExceededError",
    "Limits",
    "Method",
    "NetworkError",
    "NoResponseError",
    "PinMismatchError",
    "PollHTTPError",
    "Proxy",
    "RedirectError",
    "RedirectSchemeError",
    "RemoteProtocolError",
    "Resolution",
    "ResolveError",
    "Resolver",
    "Response",
    "ResponseCode",
    "Result",
    "Retry",
    "Session",
    "Signal",
    "StaleConnectionError",
    "Status",
    "StreamPeer",
    "StreamPeerTCP",
    "StreamPeerTLS",
    "TLSHandshakeError",
    "TLSHandshakeTimeoutError",
    "TLSOptions",
    "TooManyRedirectsError",
    "TransferTimeoutError",
    "Waitable",
    "X509Certificate",
    "__version__",
    "delete",
    "get",
    "head",
    "options",
    "patch",
    "post",
    "put",
    "request",
    "wait",
]
