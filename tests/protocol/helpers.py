"""Drive a sans-IO ClientConnection with scripted bytes and normalise what it returns."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pollhttp import PollHTTPError
from pollhttp.protocol import (
    NEED_DATA,
    ClientConnection,
    ConnState,
    Data,
    EndOfMessage,
    InformationalResponse,
    Limits,
    Response,
)

UPGRADE_HEADERS = [(b"Connection", b"Upgrade"), (b"Upgrade", b"websocket")]


@dataclass(frozen=True)
class Raises:
    """The expected end of a fixture: an exception of exactly ``exc`` with ``fragment``."""

    exc: type[Exception]
    fragment: str
    attrs: dict[str, Any] = field(default_factory=dict)


def resp(code: int, cl: int | None = None, chunked: bool = False, v: bytes = b"1.1") -> tuple:
    return ("response", code, v, cl, chunked)


def info(code: int, *headers: tuple[bytes, bytes]) -> tuple:
    return ("info", code, tuple(headers))


def data(payload: bytes) -> tuple:
    return ("data", payload)


def end(*trailers: tuple[bytes, bytes]) -> tuple:
    return ("end", tuple(trailers))


def tunnel(trailing: bytes) -> tuple:
    return ("tunnel", trailing)


def done(state: str = "IDLE", reusable: bool = True, leftover: bytes = b"") -> tuple:
    return ("done", state, reusable, leftover)


IDLE = done()
CLOSED = done("MUST_CLOSE", False)


def normalise(event: object) -> tuple:
    if isinstance(event, Response):
        return resp(event.status_code, event.content_length, event.chunked, event.http_version)
    if isinstance(event, InformationalResponse):
        return info(event.status_code, *event.headers)
    if isinstance(event, Data):
        return data(event.data)
    assert isinstance(event, EndOfMessage), event
    return end(*event.trailers)


def start_request(conn: ClientConnection, method: bytes, upgrade: bool = False) -> bytes:
    target = b"example.com:443" if method == b"CONNECT" else b"/"
    headers = [(b"Host", b"example.com"), *(UPGRADE_HEADERS if upgrade else ())]
    return conn.send_request(method, target, headers)


@dataclass
class Outcome:
    events: list[tuple]
    error: PollHTTPError | None
    conn: ClientConnection
    sizes: list[int]  # the length of every Data event, before merging


def drive(
    methods: Sequence[bytes],
    pieces: Iterable[bytes],
    *,
    eof: bool,
    limits: Limits | None = None,
    upgrade: bool = False,
    max_data: int | None = None,
    probe_zero: bool = False,
) -> Outcome:
    """Send ``methods`` one after another, feeding ``pieces`` whenever the parser asks.

    Consecutive Data events are merged, so how the bytes were split cannot show. Once the
    last response ends (or a tunnel starts) the remaining pieces are fed and whatever the
    parser did not consume is recorded, so that too does not depend on the split.
    With ``probe_zero`` every step first calls ``next_event(0)``, which must never return
    Data (it may return any other event, which is then recorded as usual).
    """
    conn = ClientConnection(limits)
    pending = list(methods)
    feed = (piece for piece in pieces if piece)
    events: list[tuple] = []
    sizes: list[int] = []
    eof_sent = False
    start_request(conn, pending.pop(0), upgrade)
    # Every step either consumes input or returns an event, so this bounds a correct parser.
    for _ in range(1_000_000):
        try:
            event = conn.next_event(0) if probe_zero else NEED_DATA
            assert not isinstance(event, Data), "next_event(0) returned data"
            if event is NEED_DATA:
                event = conn.next_event() if max_data is None else conn.next_event(max_data)
        except PollHTTPError as exc:
            return Outcome(events, exc, conn, sizes)
        if event is NEED_DATA:
            piece = next(feed, None)
            if piece is not None:
                conn.receive_data(piece)
            elif eof and not eof_sent:
                conn.receive_data(b"")
                eof_sent = True
            else:
                events.append(("stalled", conn.state.name))
                break
            continue
        item = normalise(event)
        if item[0] == "data":
            sizes.append(len(event.data))  # type: ignore[union-attr]
            if events and events[-1][0] == "data":
                item = data(events.pop()[1] + item[1])
        events.append(item)
        if conn.state is ConnState.TUNNEL:
            for piece in feed:
                conn.receive_data(piece)
            events.append(tunnel(conn.trailing_data))
            break
        if item[0] == "end":
            if pending and conn.unsolicited:
                # The next response arrived in the same read as the end of this one: the
                # connection must close (bytes nobody asked for yet). The fixture's framing
                # is still checked: the rest is parsed as the next response, on a fresh
                # connection, so the events do not depend on the split.
                assert conn.state is ConnState.MUST_CLOSE
                leftover, conn = conn.trailing_data, ClientConnection(limits)
                start_request(conn, pending.pop(0), upgrade)
                conn.receive_data(leftover)
                continue
            if pending and conn.state is ConnState.IDLE:
                start_request(conn, pending.pop(0), upgrade)
                continue
            for piece in feed:
                conn.receive_data(piece)
            events.append(done(conn.state.name, conn.reusable, conn.trailing_data))
            break
    else:
        raise AssertionError("the parser looped without consuming input")
    return Outcome(events, None, conn, sizes)


def check(outcome: Outcome, expected: Sequence[Any]) -> None:
    """Compare an Outcome with a fixture's expected list (which may end with Raises)."""
    if expected and isinstance(expected[-1], Raises):
        want = expected[-1]
        assert outcome.error is not None, f"expected {want}, got {outcome.events}"
        assert type(outcome.error) is want.exc, repr(outcome.error)
        assert want.fragment in str(outcome.error)
        for name, value in want.attrs.items():
            assert getattr(outcome.error, name) == value, name
        assert outcome.conn.state is ConnState.ERROR
        assert outcome.events == list(expected[:-1])
    else:
        assert outcome.error is None, repr(outcome.error)
        assert outcome.events == list(expected)


def one_piece(raw: bytes) -> list[list[bytes]]:
    return [[raw]]


def every_split(raw: bytes) -> list[list[bytes]]:
    return [[raw[:i], raw[i:]] for i in range(len(raw) + 1)]


def byte_at_a_time(raw: bytes) -> list[list[bytes]]:
    return [[raw[i : i + 1] for i in range(len(raw))]]
