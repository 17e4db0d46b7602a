"""Hypothesis strategies for hostile responses: built from HTTP parts, then mutated.

A generated `Exchange` holds the bytes a server sends (one or more responses, possibly
mutated), where it splits them into writes, how it ends the connection (close, half-close,
reset), and what the generator knows about the framing it meant (for the body-size checks).
Sizes stay small (a few KiB), so no example can make anyone hold much memory.
"""

from __future__ import annotations

import collections
import gzip
import io
import itertools
import pathlib
import types
import zlib
from dataclasses import dataclass, field

from hypothesis import strategies as st

from pollhttp import (
    CryptoKey,
    Error,
    InvalidParameterError,
    Limits,
    Method,
    Resolution,
    ResponseCode,
    Status,
    StreamPeerTCP,
    StreamPeerTLS,
    TLSOptions,
    X509Certificate,
)

TOKEN = "!#$%&'*+-.^_`|~abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#: Limits small enough that generated inputs reach them.
SMALL_LIMITS = Limits(
    max_head_bytes=1024,
    max_headers=12,
    max_chunk_line_bytes=64,
    max_chunk_size=4096,
    max_trailer_bytes=256,
    max_informational=3,
)


@dataclass
class Exchange:
    """What the scripted server does, and what the generator meant."""

    data: bytes
    splits: list[int]
    ending: str  # "close", "half-close", "reset"
    pause: float
    method: str  # "GET" or "HEAD"
    limits: Limits | None
    read_chunk_size: int
    mutated: bool = False
    notes: dict[str, object] = field(default_factory=dict)

    def parts(self) -> list[bytes]:
        """The writes, split at ``splits``."""
        points = [0, *sorted(set(self.splits)), len(self.data)]
        return [self.data[a:b] for a, b in itertools.pairwise(points) if b > a]


status_codes = st.sampled_from(
    [200, 200, 200, 201, 204, 206, 301, 302, 303, 304, 307, 308, 400, 404, 500, 101, 199, 600, 99]
)
versions = st.sampled_from(["HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.2", "http/1.1"])
reasons = st.sampled_from(["OK", "", "Whatever Reason", "x" * 40, "\u00e9"])
line_ends = st.sampled_from(["\r\n", "\r\n", "\r\n", "\n", "\r"])
ows = st.sampled_from(["", " ", "  ", "\t", " \t"])
plain_values = st.text(alphabet=TOKEN + ' /;=,"', max_size=20)
names = st.text(alphabet=TOKEN, min_size=1, max_size=12)


locations = st.sampled_from(
    [
        "/next",
        "next",
        "//127.0.0.1:1/x",
        "http://[::1/x",
        "http://[bad",
        "http://[::1]:1/x",
        "ftp://x/",
        "/a\tb",
        "http://127.0.0.1:0/",
        "http://127.0.0.1:99999/",
        "http://:80/",
        "http://u:p@127.0.0.1:1/",
        "/%0d%0a",
        "\u00e9",
        "?q=1",
        "",
    ]
)


@st.composite
def field_lines(draw) -> list[str]:
    """Header lines: framing fields with odd values, and random ones."""
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(
            st.sampled_from(
                [
                    "cl",
                    "te",
                    "connection",
                    "ce",
                    "location",
                    "random",
                    "random",
                    "bad-syntax",
                    "upgrade",
                ]
            )
        )
        if kind == "cl":
            value = draw(
                st.one_of(
                    st.integers(0, 5000).map(str),
                    st.sampled_from(["", "+2", "-1", "0x2", "2, 2", "2, 3", "1 1", "9" * 20]),
                )
            )
            lines.append(f"Content-Length:{draw(ows)}{value}")
        elif kind == "te":
            value = draw(
                st.sampled_from(
                    ["chunked", "Chunked", "gzip, chunked", "chunked, identity", "gzip", ""]
                )
            )
            lines.append(f"Transfer-Encoding: {value}")
        elif kind == "connection":
            tokens = draw(st.sampled_from(["close", "keep-alive", "upgrade", "x, close"]))
            lines.append(f"Connection: {tokens}")
        elif kind == "ce":
            value = draw(
                st.sampled_from(
                    [
                        "gzip",
                        "deflate",
                        "br",
                        "zstd",
                        "gzip, gzip",
                        "x-unknown",
                        "identity",
                        ", ".join(["gzip"] * 6),
                    ]
                )
            )
            lines.append(f"Content-Encoding: {value}")
        elif kind == "location":
            lines.append(f"Location: {draw(locations)}")
        elif kind == "upgrade":
            lines.append("Upgrade: example/1")
        elif kind == "random":
            lines.append(f"{draw(names)}:{draw(ows)}{draw(plain_values)}{draw(ows)}")
        else:
            lines.append(
                draw(
                    st.sampled_from(
                        [
                            "Content-Length : 2",
                            " folded",
                            "X-A: a\x00b",
                            "X-A: a\x01b",
                            "NoColon",
                            ": empty",
                            "X-A: a\rb",
                        ]
                    )
                )
            )
    return lines


@st.composite
def chunked_body(draw, payload: bytes) -> bytes:
    """``payload`` in chunks of random sizes, with extensions and trailers sometimes."""
    out = b""
    rest = payload
    while rest:
        size = draw(st.integers(1, max(1, len(rest))))
        ext = draw(st.sampled_from([b"", b"", b";a=b", b";" + b"e" * 80]))
        size_text = draw(st.sampled_from(["{:x}", "{:X}", "{:04x}", "0x{:x}"])).format(size)
        out += size_text.encode() + ext + b"\r\n" + rest[:size] + b"\r\n"
        rest = rest[size:]
    out += b"0\r\n"
    if draw(st.booleans()):
        for _ in range(draw(st.integers(1, 3))):
            out += f"{draw(names)}: {draw(plain_values)}\r\n".encode()
    return out + b"\r\n"


@st.composite
def encoded_payload(draw) -> tuple[bytes, bytes]:
    """(body as sent, the payload it carries) for a random content coding."""
    payload = draw(st.binary(max_size=600))
    coding = draw(st.sampled_from(["none", "gzip", "deflate", "bomb", "garbage"]))
    if coding == "gzip":
        return gzip.compress(payload), payload
    if coding == "deflate":
        return zlib.compress(payload), payload
    if coding == "bomb":
        # 4 MiB of zeros in about 4 KiB: decoding is bounded by download_chunk_size.
        return gzip.compress(b"\0" * (1 << 20), 9) * 4, b""
    if coding == "garbage":
        return b"\x1f\x8b" + payload, payload
    return payload, payload


@st.composite
def response(draw, method: str) -> tuple[bytes, dict[str, object]]:
    """One response (after 0-2 interim ones), and what its framing meant."""
    end = draw(line_ends)
    out = ""
    for _ in range(draw(st.integers(0, 2))):
        code = draw(st.sampled_from([100, 102, 103, 150]))
        out += (
            f"HTTP/1.1 {code} Info{end}"
            + "".join(f"{line}{end}" for line in draw(field_lines()))
            + end
        )
    code = draw(status_codes)
    status = f"{draw(versions)} {code}"
    reason = draw(reasons)
    if reason or draw(st.booleans()):
        status += f" {reason}"
    lines = draw(field_lines())
    if code in (301, 302, 303, 307, 308) and draw(st.integers(0, 3)):
        lines.insert(draw(st.integers(0, len(lines))), f"Location: {draw(locations)}")
    body, _payload = draw(encoded_payload())
    framing = draw(
        st.sampled_from(["length", "length", "chunked", "close", "short", "long", "none"])
    )
    declared: int | None = None
    if framing in ("length", "short", "long"):
        declared = len(body)
        lines.append(f"Content-Length: {declared}")
        if framing == "short":
            body = body[: len(body) // 2]
        elif framing == "long":
            body = body + b"extra bytes after the body"
    elif framing == "chunked":
        lines.append("Transfer-Encoding: chunked")
        body = draw(chunked_body(body))
    head = status + end + "".join(f"{line}{end}" for line in lines) + end
    raw = (out + head).encode("utf-8", "surrogateescape") + body
    notes = {"framing": framing, "declared": declared, "code": code, "body_len": len(body)}
    return raw, notes


def mutate(draw, data: bytes) -> bytes:
    """Flip, insert, delete or truncate a few bytes."""
    buffer = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        if not buffer:
            break
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "dup"]))
        i = draw(st.integers(0, len(buffer) - 1))
        if op == "flip":
            buffer[i] = draw(st.integers(0, 255))
        elif op == "insert":
            buffer[i:i] = draw(
                st.sampled_from([b"\r", b"\n", b"\r\n", b"\0", b" ", b":", b"0", b";"])
            )
        elif op == "delete":
            del buffer[i]
        elif op == "truncate":
            del buffer[i:]
        else:
            buffer[i:i] = buffer[max(0, i - 8) : i]
    return bytes(buffer)


@st.composite
def exchanges(draw) -> Exchange:
    method = draw(st.sampled_from(["GET", "GET", "GET", "HEAD"]))
    raw, notes = draw(response(method))
    count = draw(st.integers(1, 2))
    for _ in range(count - 1):
        more, _ = draw(response(method))
        raw += more
    mutated = draw(st.integers(0, 3)) == 0
    if mutated:
        raw = mutate(draw, raw)
    splits = draw(st.lists(st.integers(0, max(0, len(raw))), max_size=6))
    return Exchange(
        data=raw,
        splits=splits,
        ending=draw(st.sampled_from(["close", "close", "half-close", "reset"])),
        pause=draw(st.sampled_from([0.0, 0.0, 0.001])),
        method=method,
        limits=draw(st.sampled_from([None, None, SMALL_LIMITS])),
        read_chunk_size=draw(st.sampled_from([256, 300, 4096, 65536])),
        mutated=mutated,
        notes=notes,
    )


@st.composite
def redirect_exchanges(draw) -> Exchange:
    """A well-formed redirect with a hostile or odd Location, then a final response."""
    code = draw(st.sampled_from([301, 302, 303, 307, 308]))
    location = draw(st.one_of(locations, st.text(max_size=30)))
    head = f"HTTP/1.1 {code} Moved\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n"
    raw = head.encode("utf-8", "surrogateescape")
    raw += b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal"
    mutated = draw(st.integers(0, 4)) == 0
    if mutated:
        raw = mutate(draw, raw)
    return Exchange(
        data=raw,
        splits=draw(st.lists(st.integers(0, len(raw)), max_size=3)),
        ending=draw(st.sampled_from(["close", "half-close"])),
        pause=0.0,
        method="GET",
        limits=None,
        read_chunk_size=65536,
        mutated=mutated,
        notes={"framing": "length", "declared": 0, "code": code, "body_len": 0},
    )


# -- odd arguments for the public API (tests/fuzz/test_api_fuzz.py) ---------------------------
#
# Wrong types and extreme values for any parameter. A value that needs the test's server or
# temporary directory (a URL, a port, an open file, a loaded certificate) is drawn as a
# `Deferred` and made by the test, which also closes what it opened.


@dataclass(frozen=True)
class Deferred:
    """A value the test makes when it runs: ``kind`` names it (see ``make_deferred``)."""

    kind: str

    def __repr__(self) -> str:
        return f"<{self.kind}>"


DEFERRED_KINDS = (
    "server-url",
    "server-url-bytes",
    "server-port",
    "server-port-str",
    "open-binary-file",
    "open-text-file",
    "closed-file",
    "relative-path",
    "loaded-certificate",
    "loaded-key",
    "server-tls-options",
    "connected-tcp",
    "http-client",
    "http-request",
)


class Opaque:
    """An object of no type pollhttp knows."""

    def __repr__(self) -> str:
        return "Opaque()"


class Stringy:
    """An object whose ``str()`` looks like a header line."""

    def __str__(self) -> str:
        return "X-Stringy: 1"

    def __repr__(self) -> str:
        return "Stringy()"


class Indexy:
    """An object that ``operator.index()`` turns into an int (but is no int)."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value

    def __repr__(self) -> str:
        return f"Indexy({self.value})"


class Floaty:
    """An object that ``float()`` accepts (but is no number)."""

    def __float__(self) -> float:
        return 1.5

    def __repr__(self) -> str:
        return "Floaty()"


class IntSub(int):
    """An int subclass, as enum-like libraries make."""


class StrSub(str):
    """A str subclass."""


def _view(data: bytes) -> memoryview:
    return memoryview(data)


def _generator(items: list[int | bytes | str | None]) -> object:
    return (item for item in items)


def _no_op(*args: object) -> None:
    return None


_NUMBERS = st.one_of(
    st.sampled_from(
        [
            0,
            1,
            -1,
            2,
            255,
            256,
            65535,
            65536,
            -65536,
            2**31 - 1,
            2**31,
            2**32,
            2**63 - 1,
            2**63,
            2**64,
            -(2**63),
            10**100,
            -(10**100),
            0.0,
            -0.0,
            0.5,
            -0.5,
            1e-300,
            5e-324,
            1e9,
            1e10,
            1e308,
            -1e308,
            float("inf"),
            float("-inf"),
            float("nan"),
            1j,
        ]
    ),
    st.integers(),
    st.floats(),
)
_TEXTS = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "a\x00b",
            "\r\n",
            "X-A: 1",
            "X-A: 1\r\nX-Injected: 2",
            "X-A:",
            ": 1",
            "GET",
            "get",
            "POST",
            "BREW",
            "/",
            "*",
            "//",
            "/\r\nX: y",
            "/a b",
            "http://",
            "http://127.0.0.1:0/",
            "http://[::1/",
            "https://127.0.0.1:1/",
            "ftp://127.0.0.1/",
            "localhost",
            "127.0.0.1",
            "999.1.1.1",
            "::1",
            "[::1]",
            "-1",
            "0",
            "5",
            "10",
            "1e308",
            "inf",
            "nan",
            "true",
            "None",
            "\u00e9",
            "\u4e2d\u6587",
            "\U0001f4a5",
            "\ud800",
            "a\udcffb",
            "\u202e",
            "\ufeff",
            "sha256//" + "A" * 44,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "a" * 70_000,
        ]
    ),
    st.text(max_size=20),
    st.text(st.characters(min_codepoint=0, max_codepoint=0x1F), max_size=5),
    st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3),
)
_BYTES = st.one_of(
    st.sampled_from([b"", b"\x00", b"GET / HTTP/1.1\r\n\r\n", b"\xff\xfe", b"/", b"x" * 70_000]),
    st.binary(max_size=20),
    st.binary(max_size=8).map(bytearray),
    st.binary(max_size=8).map(_view),
)
_SCALARS = st.one_of(
    st.sampled_from([None, True, False, Ellipsis]),
    _NUMBERS,
    _TEXTS,
    _BYTES,
    st.integers(-(2**70), 2**70).map(IntSub),
    _TEXTS.map(StrSub),
)
_HASHABLE = st.one_of(
    st.sampled_from([None, True, 0, -1, 1.5, float("nan"), "", "X-A", b"X-A", ()]),
    st.text(max_size=8),
)
_CONTAINERS = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(_HASHABLE, inner, max_size=3),
        st.frozensets(_HASHABLE, max_size=3),
        st.sets(_HASHABLE, max_size=3),
        st.tuples(st.text(max_size=8), inner),
    ),
    max_leaves=6,
)
_OBJECTS = st.one_of(
    st.builds(Opaque),
    st.builds(Stringy),
    st.builds(Floaty),
    st.sampled_from([0, 80, -1, 2**64]).map(Indexy),
    st.builds(object),
    st.builds(lambda: io.BytesIO(b"body bytes")),
    st.builds(lambda: io.StringIO("body text")),
    st.lists(st.sampled_from(["X-A: 1", b"chunk", 1, None]), max_size=3).map(_generator),
    st.sampled_from([_no_op, len, repr, int, str, bytes, type, lambda: None]),
    st.sampled_from([pathlib.PurePosixPath("relative-name"), pathlib.Path("")]),
    st.builds(lambda: collections.OrderedDict([("X-A", "1")])),
    st.builds(lambda: types.MappingProxyType({"X-A": "1"})),
    st.builds(lambda: range(3)),
    st.builds(lambda: [("X-A", "1"), ("X-B", None)]),
    st.builds(lambda: {"X-A": None}),
    st.builds(lambda: {"X-A": b"1"}),
    st.builds(lambda: ["X-A: 1", ("X-B", "2")]),
    st.builds(lambda: [["X-A", "1", "extra"]]),
    st.builds(lambda: {"a": [1, 2], "b": None, "c": {"d": 1}}),
    st.builds(lambda: [[[[[[[]]]]]]]),
)
_POLLHTTP_OBJECTS = st.one_of(
    st.sampled_from(sorted(Error, key=int)),
    st.sampled_from([Method.METHOD_GET, Method.METHOD_HEAD, Method.METHOD_POST, Method.METHOD_MAX]),
    st.sampled_from([Status.STATUS_CONNECTED, ResponseCode.RESPONSE_OK]),
    st.builds(Limits),
    st.builds(X509Certificate),
    st.builds(CryptoKey),
    st.builds(StreamPeerTCP),
    st.builds(StreamPeerTLS),
    st.builds(TLSOptions.client),
    st.builds(TLSOptions.client_unsafe),
    st.builds(lambda: Resolution.finished([("127.0.0.1", 1)])),
    st.builds(lambda: InvalidParameterError("an exception as a value")),
)

#: The values issue 19 names, drawn often so that a short run meets each of them.
_FAMOUS = st.sampled_from(
    [
        None,
        True,
        -1,
        0,
        2**64,
        float("nan"),
        float("inf"),
        float("-inf"),
        1e308,
        -0.0,
        "",
        "5",
        "a\x00b",
        "X: 1\r\nY: 2",
        "\ud800",
        "\u00e9",
        b"",
        b"x",
        (),
        [("X-A", "1")],
        {"X-A": None},
    ]
)

#: Any value at all: what a careless or hostile caller might pass for any parameter.
odd_values = st.one_of(
    _FAMOUS,
    _FAMOUS,
    _SCALARS,
    _SCALARS,
    _CONTAINERS,
    _OBJECTS,
    _POLLHTTP_OBJECTS,
    st.sampled_from(DEFERRED_KINDS).map(Deferred),
)
