"""Hypothesis: pollhttp's parser against h11 as an oracle, and against mutated input."""

from __future__ import annotations

import string
from dataclasses import dataclass, field

import h11
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pollhttp.protocol import (
    NEED_DATA,
    ClientConnection,
    ConnState,
    Data,
    EndOfMessage,
    InformationalResponse,
    Response,
)

from .helpers import drive, start_request
from .test_responses import FIXTURES

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TCHAR = "!#$%&'*+-.^_`|~" + string.ascii_letters + string.digits
# Names that change framing or persistence are written by the generator itself.
RESERVED = {b"content-length", b"transfer-encoding", b"connection", b"upgrade", b"trailer"}
FIELD_VCHAR = bytes(range(0x21, 0x7F)) + bytes(range(0x80, 0x100))


def _table(allowed: bytes) -> bytes:
    """A translate table mapping every byte onto ``allowed``."""
    return bytes(allowed[i % len(allowed)] for i in range(256))


TO_VCHAR = _table(FIELD_VCHAR)
TO_REASON = _table(b" \t" + FIELD_VCHAR)

names = st.text(TCHAR, min_size=1, max_size=12).map(str.encode)
free_names = names.filter(lambda name: name.lower() not in RESERVED)
# field-value: visible characters and obs-text, with SP / HTAB only between them.
values = st.lists(
    st.tuples(
        st.binary(min_size=0, max_size=3).map(lambda b: b.translate(TO_VCHAR)),
        st.sampled_from([b"", b" ", b"\t", b" \t "]),
    ),
    max_size=5,
).map(lambda parts: b"".join(a + b for a, b in parts).strip(b" \t"))
ows = st.sampled_from([b"", b" ", b"\t", b"  ", b" \t"])
fields = st.lists(st.tuples(free_names, values), max_size=6)
reasons = st.binary(max_size=20).map(lambda b: b.translate(TO_REASON))


@dataclass
class Message:
    """What one generated response means, and its bytes."""

    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    trailers: list[tuple[bytes, bytes]]
    informational: list[tuple[int, list[tuple[bytes, bytes]]]]
    raw: bytes = field(repr=False, default=b"")


@st.composite
def field_lines(draw, pairs):
    return b"".join(name + b":" + draw(ows) + value + draw(ows) + b"\r\n" for name, value in pairs)


@st.composite
def messages(draw) -> Message:
    raw = b""
    informational = []
    for _ in range(draw(st.integers(0, 2))):
        code = draw(st.sampled_from([100, 102, 103]))
        pairs = draw(fields)
        informational.append((code, pairs))
        raw += b"HTTP/1.1 %d Info\r\n" % code + draw(field_lines(pairs)) + b"\r\n"
    status = draw(st.integers(200, 599).filter(lambda c: c not in (204, 304)))
    reason = draw(reasons)
    headers = draw(fields)
    body = draw(st.binary(max_size=300))
    chunked = draw(st.booleans())
    trailers: list[tuple[bytes, bytes]] = []
    if chunked:
        framing = (draw(st.sampled_from([b"Transfer-Encoding", b"transfer-encoding"])), b"chunked")
        cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=6)))
        payload = b""
        for start, stop in zip([0, *cuts], [*cuts, len(body)], strict=True):
            if start == stop:
                continue
            size = b"%x" % (stop - start)
            if draw(st.booleans()):
                size = size.upper()
            ext = draw(st.sampled_from([b"", b";a=b", b";name", b';q="x y"']))
            payload += size + ext + b"\r\n" + body[start:stop] + b"\r\n"
        trailers = draw(fields)
        payload += b"0\r\n" + draw(field_lines(trailers)) + b"\r\n"
    else:
        framing = (draw(st.sampled_from([b"Content-Length", b"content-length"])), b"%d" % len(body))
        payload = body
    headers.insert(draw(st.integers(0, len(headers))), framing)
    raw += b"HTTP/1.1 %d" % status + (b" " + reason if reason or draw(st.booleans()) else b"")
    raw += b"\r\n" + draw(field_lines(headers)) + b"\r\n" + payload
    return Message(status, reason, headers, body, trailers, informational, raw)


def split(raw: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(cut, len(raw)) for cut in cuts})
    return [raw[a:b] for a, b in zip([0, *points], [*points, len(raw)], strict=True) if a != b]


def parse_pollhttp(pieces: list[bytes], count: int) -> list[Message]:
    conn = ClientConnection()
    feed = iter(pieces)
    out = []
    for _ in range(count):
        leftover = b""
        if conn.state is ConnState.MUST_CLOSE:
            # The next response came in the same read as the end of this one: bytes nobody
            # had asked for yet, so the connection closes; parse them on a fresh one.
            leftover, conn = conn.trailing_data, ClientConnection()
        start_request(conn, b"GET")
        if leftover:
            conn.receive_data(leftover)
        msg = Message(0, b"", [], b"", [], [])
        while True:
            event = conn.next_event()
            if event is NEED_DATA:
                conn.receive_data(next(feed))
            elif isinstance(event, InformationalResponse):
                msg.informational.append((event.status_code, event.headers))
            elif isinstance(event, Response):
                msg.status, msg.reason, msg.headers = event.status_code, event.reason, event.headers
            elif isinstance(event, Data):
                msg.body += event.data
            else:
                assert isinstance(event, EndOfMessage)
                msg.trailers = event.trailers
                break
        if conn.unsolicited:
            assert conn.state is ConnState.MUST_CLOSE
            assert not conn.reusable
            assert conn.unsolicited == len(conn.trailing_data)
        else:
            assert conn.state is ConnState.IDLE
            assert conn.reusable
        out.append(msg)
    assert next(feed, None) is None
    assert conn.trailing_data == b""
    return out


def lower(pairs) -> list[tuple[bytes, bytes]]:
    return [(name.lower(), value) for name, value in pairs]


def parse_h11(pieces: list[bytes], count: int) -> list[Message]:
    conn = h11.Connection(our_role=h11.CLIENT)
    feed = iter(pieces)
    out = []
    for index in range(count):
        if index:
            conn.start_next_cycle()
        conn.send(h11.Request(method="GET", target="/", headers=[("Host", "example.com")]))
        conn.send(h11.EndOfMessage())
        msg = Message(0, b"", [], b"", [], [])
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(next(feed))
            elif isinstance(event, h11.InformationalResponse):
                msg.informational.append((event.status_code, list(event.headers)))
            elif isinstance(event, h11.Response):
                msg.status, msg.reason, msg.headers = (
                    event.status_code,
                    event.reason,
                    list(event.headers),
                )
            elif isinstance(event, h11.Data):
                msg.body += event.data
            else:
                assert isinstance(event, h11.EndOfMessage), event
                msg.trailers = list(event.headers)
                break
        out.append(msg)
    return out


@FAST
@given(st.lists(messages(), min_size=1, max_size=2), st.lists(st.integers(0, 4000), max_size=6))
def test_same_parse_as_h11(generated, cuts):
    raw = b"".join(msg.raw for msg in generated)
    pieces = split(raw, cuts)
    ours = parse_pollhttp(pieces, len(generated))
    theirs = parse_h11(pieces, len(generated))
    for want, got, oracle in zip(generated, ours, theirs, strict=True):
        # Against what was generated, names in their original case.
        assert (got.status, got.reason, got.body) == (want.status, want.reason, want.body)
        assert got.headers == want.headers
        assert got.trailers == want.trailers
        assert got.informational == want.informational
        # Against h11, which lowercases names.
        assert (got.status, got.reason, got.body) == (oracle.status, oracle.reason, oracle.body)
        assert lower(got.headers) == oracle.headers
        assert lower(got.trailers) == oracle.trailers
        assert [(c, lower(h)) for c, h in got.informational] == oracle.informational


# -- robustness: mutated and random input ------------------------------------------------

SEEDS = [param.values[1] for param in FIXTURES if param.values[1]]


@st.composite
def mutated(draw) -> bytes:
    raw = bytearray(draw(st.one_of(st.sampled_from(SEEDS), messages().map(lambda m: m.raw))))
    for _ in range(draw(st.integers(0, 4))):
        pos = draw(st.integers(0, len(raw)))
        kind = draw(st.sampled_from(["insert", "delete", "replace", "duplicate", "truncate"]))
        byte = draw(
            st.sampled_from([0, 9, 10, 13, 32, 44, 48, 58, 59, 70, 0x7F, 0xFF])
            | st.integers(0, 255)
        )
        if kind == "insert":
            raw[pos:pos] = bytes([byte])
        elif kind == "delete":
            del raw[pos : pos + 1]
        elif kind == "replace" and pos < len(raw):
            raw[pos] = byte
        elif kind == "duplicate":
            stop = draw(st.integers(pos, min(len(raw), pos + 40)))
            raw[pos:pos] = raw[pos:stop]
        elif kind == "truncate":
            del raw[pos:]
    return bytes(raw)


garbage = st.one_of(
    st.binary(max_size=200),
    st.binary(max_size=200).map(lambda b: b"HTTP/1.1 200 OK\r\n" + b),
    st.binary(max_size=200).map(
        lambda b: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b
    ),
)


def assert_bounded(events: list[tuple], raw: bytes) -> None:
    """No response yields more body than it declared, nor than the bytes received."""
    declared = None
    for item in events:
        if item[0] == "response":
            declared = item[3]
        elif item[0] == "data":
            assert len(item[1]) <= len(raw)
            if declared is not None:
                assert len(item[1]) <= declared


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(mutated(), garbage),
    st.lists(st.integers(0, 4000), max_size=5),
    st.lists(st.sampled_from([b"GET", b"HEAD", b"POST", b"CONNECT"]), min_size=1, max_size=3),
    st.booleans(),
    st.booleans(),
    st.integers(1, 64),
    st.booleans(),
)
def test_bad_input_raises_only_pollhttp_errors(raw, cuts, methods, eof, upgrade, max_data, zero):
    # drive() lets any exception other than a PollHTTPError escape, and fails on a loop.
    pieces = split(raw, cuts)
    outcome = drive(methods, pieces, eof=eof, upgrade=upgrade, max_data=max_data, probe_zero=zero)
    assert all(0 < size <= max_data for size in outcome.sizes)
    assert_bounded(outcome.events, raw)
    if outcome.error is not None:
        assert outcome.conn.state is ConnState.ERROR
    for item in outcome.events:
        if item[0] == "response":
            assert 100 <= item[1] <= 599
