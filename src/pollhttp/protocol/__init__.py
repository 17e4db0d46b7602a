"""Sans-IO HTTP/1.1, client role: no sockets, TLS, clocks or threads."""

from ._connection import (
    NEED_DATA,
    ClientConnection,
    ConnState,
    Data,
    EndOfMessage,
    Event,
    InformationalResponse,
    Limits,
    Response,
)
from ._headers import Headers, split_request_header
from ._query import query_string_from_dict

__all__ = [
    "NEED_DATA",
    "ClientConnection",
    "ConnState",
    "Data",
    "EndOfMessage",
    "Event",
    "Headers",
    "InformationalResponse",
    "Limits",
    "Response",
    "query_string_from_dict",
    "split_request_header",
]
