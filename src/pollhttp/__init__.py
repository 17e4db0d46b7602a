"""pollhttp: Godot's HTTPClient for Python, a non-blocking HTTP/1.1 client driven by poll()."""

from ._enums import Error, Method, ResponseCode, Status
from ._errors import (
    ConnectError,
    IncompleteBodyError,
    InvalidParameterError,
    LimitExceededError,
    NetworkError,
    NoResponseError,
    PollHTTPError,
    RemoteProtocolError,
    ResolveError,
    TLSHandshakeError,
)
from ._version import __version__
from .client import HTTPClient
from .protocol import Limits
from .transport import (
    CryptoKey,
    Resolution,
    StreamPeer,
    StreamPeerTCP,
    StreamPeerTLS,
    TLSOptions,
    X509Certificate,
)

__all__ = [
    "ConnectError",
    "CryptoKey",
    "Error",
    "HTTPClient",
    "IncompleteBodyError",
    "InvalidParameterError",
    "LimitExceededError",
    "Limits",
    "Method",
    "NetworkError",
    "NoResponseError",
    "PollHTTPError",
    "RemoteProtocolError",
    "Resolution",
    "ResolveError",
    "ResponseCode",
    "Status",
    "StreamPeer",
    "StreamPeerTCP",
    "StreamPeerTLS",
    "TLSHandshakeError",
    "TLSOptions",
    "X509Certificate",
    "__version__",
]
