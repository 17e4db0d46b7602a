"""pollhttp: Godot's HTTPClient for Python, a non-blocking HTTP/1.1 client driven by poll()."""

from ._enums import Error, Method, ResponseCode, Status
from ._errors import (
    ConnectError,
    IncompleteBodyError,
    InvalidParameterError,
    LimitExceededError,
    NetworkError,
    PollHTTPError,
    RemoteProtocolError,
    ResolveError,
)
from ._version import __version__
from .client import HTTPClient
from .protocol import Limits
from .transport import Resolution, StreamPeer, StreamPeerTCP

__all__ = [
    "ConnectError",
    "Error",
    "HTTPClient",
    "IncompleteBodyError",
    "InvalidParameterError",
    "LimitExceededError",
    "Limits",
    "Method",
    "NetworkError",
    "PollHTTPError",
    "RemoteProtocolError",
    "Resolution",
    "ResolveError",
    "ResponseCode",
    "Status",
    "StreamPeer",
    "StreamPeerTCP",
    "__version__",
]
