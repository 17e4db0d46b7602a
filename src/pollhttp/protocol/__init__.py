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
from ._decoding import (
    MAX_CODINGS,
    ContentDecoder,
    accept_encoding,
    parse_codings,
    unsupported_codings,
)
from ._headers import TOKEN, Headers, split_request_header
from ._query import query_string_from_dict
from ._writers import request_head

__all__ = [
    "MAX_CODINGS",
    "NEED_DATA",
    "TOKEN",
    "ClientConnection",
    "ConnState",
    "ContentDecoder",
    "Data",
    "EndOfMessage",
    "Event",
    "Headers",
    "InformationalResponse",
    "Limits",
    "Response",
    "accept_encoding",
    "parse_codings",
    "query_string_from_dict",
    "request_head",
    "split_request_header",
    "unsupported_codings",
]
