"""Godot's enums with their exact names and numeric values.

`Error` is ``@GlobalScope.Error``; `Method`, `Status` and `ResponseCode` are the
enums of Godot's ``HTTPClient``. This module imports nothing of pollhttp.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["Error", "Method", "ResponseCode", "Status"]


class Error(IntEnum):
    """Godot's ``@GlobalScope.Error``: what every pollhttp method returns (``OK == 0``)."""

    OK = 0
    FAILED = 1
    ERR_UNAVAILABLE = 2
    ERR_UNCONFIGURED = 3
    ERR_UNAUTHORIZED = 4
    ERR_PARAMETER_RANGE_ERROR = 5
    ERR_OUT_OF_MEMORY = 6
    ERR_FILE_NOT_FOUND = 7
    ERR_FILE_BAD_DRIVE = 8
    ERR_FILE_BAD_PATH = 9
    ERR_FILE_NO_PERMISSION = 10
    ERR_FILE_ALREADY_IN_USE = 11
    ERR_FILE_CANT_OPEN = 12
    ERR_FILE_CANT_WRITE = 13
    ERR_FILE_CANT_READ = 14
    ERR_FILE_UNRECOGNIZED = 15
    ERR_FILE_CORRUPT = 16
    ERR_FILE_MISSING_DEPENDENCIES = 17
    ERR_FILE_EOF = 18
    ERR_CANT_OPEN = 19
    ERR_CANT_CREATE = 20
    ERR_QUERY_FAILED = 21
    ERR_ALREADY_IN_USE = 22
    ERR_LOCKED = 23
    ERR_TIMEOUT = 24
    ERR_CANT_CONNECT = 25
    ERR_CANT_RESOLVE = 26
    ERR_CONNECTION_ERROR = 27
    ERR_CANT_ACQUIRE_RESOURCE = 28
    ERR_CANT_FORK = 29
    ERR_INVALID_DATA = 30
    ERR_INVALID_PARAMETER = 31
    ERR_ALREADY_EXISTS = 32
    ERR_DOES_NOT_EXIST = 33
    ERR_DATABASE_CANT_READ = 34
    ERR_DATABASE_CANT_WRITE = 35
    ERR_COMPILATION_FAILED = 36
    ERR_METHOD_NOT_FOUND = 37
    ERR_LINK_FAILED = 38
    ERR_SCRIPT_FAILED = 39
    ERR_CYCLIC_LINK = 40
    ERR_INVALID_DECLARATION = 41
    ERR_DUPLICATE_SYMBOL = 42
    ERR_PARSE_ERROR = 43
    ERR_BUSY = 44
    ERR_SKIP = 45
    ERR_HELP = 46
    ERR_BUG = 47
    ERR_PRINTER_ON_FIRE = 48

    def describe(self) -> str:
        """The text of Godot's ``error_string()`` for this code, e.g. ``"Can't connect"``."""
        return _ERROR_STRINGS[self]


_ERROR_STRINGS = dict(
    zip(
        Error,
        (
            "OK",
            "Failed",
            "Unavailable",
            "Unconfigured",
            "Unauthorized",
            "Parameter out of range",
            "Out of memory",
            "File not found",
            "File: Bad drive",
            "File: Bad path",
            "File: Permission denied",
            "File already in use",
            "Can't open file",
            "Can't write file",
            "Can't read file",
            "File unrecognized",
            "File corrupt",
            "Missing dependencies for file",
            "End of file",
            "Can't open",
            "Can't create",
            "Query failed",
            "Already in use",
            "Locked",
            "Timeout",
            "Can't connect",
            "Can't resolve",
            "Connection error",
            "Can't acquire resource",
            "Can't fork",
            "Invalid data",
            "Invalid parameter",
            "Already exists",
            "Does not exist",
            "Can't read database",
            "Can't write database",
            "Compilation failed",
            "Method not found",
            "Link failed",
            "Script failed",
            "Cyclic link detected",
            "Invalid declaration",
            "Duplicate symbol",
            "Parse error",
            "Busy",
            "Skip",
            "Help",
            "Bug",
            "Printer on fire",
        ),
        strict=True,
    )
)


class Method(IntEnum):
    """``HTTPClient.Method``: the request methods Godot can send."""

    METHOD_GET = 0
    METHOD_HEAD = 1
    METHOD_POST = 2
    METHOD_PUT = 3
    METHOD_DELETE = 4
    METHOD_OPTIONS = 5
    METHOD_TRACE = 6
    METHOD_CONNECT = 7
    METHOD_PATCH = 8
    METHOD_MAX = 9


class Status(IntEnum):
    """``HTTPClient.Status``: where the client stands, as ``get_status()`` reports it."""

    STATUS_DISCONNECTED = 0
    STATUS_RESOLVING = 1
    STATUS_CANT_RESOLVE = 2
    STATUS_CONNECTING = 3
    STATUS_CANT_CONNECT = 4
    STATUS_CONNECTED = 5
    STATUS_REQUESTING = 6
    STATUS_BODY = 7
    STATUS_CONNECTION_ERROR = 8
    STATUS_TLS_HANDSHAKE_ERROR = 9


class ResponseCode(IntEnum):
    """``HTTPClient.ResponseCode``: the status codes the class reference names.

    Informative only: ``get_response_code()`` returns any code the server sent, listed or not.
    """

    RESPONSE_CONTINUE = 100
    RESPONSE_SWITCHING_PROTOCOLS = 101
    RESPONSE_PROCESSING = 102
    RESPONSE_OK = 200
    RESPONSE_CREATED = 201
    RESPONSE_ACCEPTED = 202
    RESPONSE_NON_AUTHORITATIVE_INFORMATION = 203
    RESPONSE_NO_CONTENT = 204
    RESPONSE_RESET_CONTENT = 205
    RESPONSE_PARTIAL_CONTENT = 206
    RESPONSE_MULTI_STATUS = 207
    RESPONSE_ALREADY_REPORTED = 208
    RESPONSE_IM_USED = 226
    RESPONSE_MULTIPLE_CHOICES = 300
    RESPONSE_MOVED_PERMANENTLY = 301
    RESPONSE_FOUND = 302
    RESPONSE_SEE_OTHER = 303
    RESPONSE_NOT_MODIFIED = 304
    RESPONSE_USE_PROXY = 305
    RESPONSE_SWITCH_PROXY = 306
    RESPONSE_TEMPORARY_REDIRECT = 307
    RESPONSE_PERMANENT_REDIRECT = 308
    RESPONSE_BAD_REQUEST = 400
    RESPONSE_UNAUTHORIZED = 401
    RESPONSE_PAYMENT_REQUIRED = 402
    RESPONSE_FORBIDDEN = 403
    RESPONSE_NOT_FOUND = 404
    RESPONSE_METHOD_NOT_ALLOWED = 405
    RESPONSE_NOT_ACCEPTABLE = 406
    RESPONSE_PROXY_AUTHENTICATION_REQUIRED = 407
    RESPONSE_REQUEST_TIMEOUT = 408
    RESPONSE_CONFLICT = 409
    RESPONSE_GONE = 410
    RESPONSE_LENGTH_REQUIRED = 411
    RESPONSE_PRECONDITION_FAILED = 412
    RESPONSE_REQUEST_ENTITY_TOO_LARGE = 413
    RESPONSE_REQUEST_URI_TOO_LONG = 414
    RESPONSE_UNSUPPORTED_MEDIA_TYPE = 415
    RESPONSE_REQUESTED_RANGE_NOT_SATISFIABLE = 416
    RESPONSE_EXPECTATION_FAILED = 417
    RESPONSE_IM_A_TEAPOT = 418
    RESPONSE_MISDIRECTED_REQUEST = 421
    RESPONSE_UNPROCESSABLE_ENTITY = 422
    RESPONSE_LOCKED = 423
    RESPONSE_FAILED_DEPENDENCY = 424
    RESPONSE_UPGRADE_REQUIRED = 426
    RESPONSE_PRECONDITION_REQUIRED = 428
    RESPONSE_TOO_MANY_REQUESTS = 429
    RESPONSE_REQUEST_HEADER_FIELDS_TOO_LARGE = 431
    RESPONSE_UNAVAILABLE_FOR_LEGAL_REASONS = 451
    RESPONSE_INTERNAL_SERVER_ERROR = 500
    RESPONSE_NOT_IMPLEMENTED = 501
    RESPONSE_BAD_GATEWAY = 502
    RESPONSE_SERVICE_UNAVAILABLE = 503
    RESPONSE_GATEWAY_TIMEOUT = 504
    RESPONSE_HTTP_VERSION_NOT_SUPPORTED = 505
    RESPONSE_VARIANT_ALSO_NEGOTIATES = 506
    RESPONSE_INSUFFICIENT_STORAGE = 507
    RESPONSE_LOOP_DETECTED = 508
    RESPONSE_NOT_EXTENDED = 510
    RESPONSE_NETWORK_AUTH_REQUIRED = 511
