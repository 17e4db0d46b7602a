#!/usr/bin/env python3
"""Atheris fuzz target for pollhttp's sans-IO HTTP/1.1 parser (`ClientConnection`).

For long, coverage-guided runs outside CI. atheris is not a test dependency; install it
into a separate environment (it needs a clang-built CPython on some platforms):

    pip install atheris
    pip install -e .                       # pollhttp itself, from the repository root
    mkdir -p fuzz/corpus
    python fuzz/atheris_target.py --write-corpus fuzz/corpus     # seed inputs
    python fuzz/atheris_target.py fuzz/corpus -max_total_time=3600 -rss_limit_mb=1024

Any libFuzzer flag works (``-jobs=4 -workers=4``, ``-max_len=65536``, ``-dict=...``). A crash
is written as ``crash-<sha1>``; replay it with ``python fuzz/atheris_target.py crash-<sha1>``
or, without atheris, with ``python fuzz/atheris_target.py --replay crash-<sha1>``.

One input drives one connection. Its first bytes choose the setting, the rest is what the
server sends:

    byte 0      request method: GET, HEAD, POST, CONNECT (with an Upgrade header on odd)
    byte 1      limits: default, or small ones that inputs can reach
    byte 2      the largest Data event asked for (max_data), 1..256 or unbounded
    byte 3      how the input is cut into receive_data() calls (chunk size 1..255, 0 = whole)
    bytes 4..   the server's bytes; the connection then ends with EOF (b"")

The properties checked (an AssertionError is a finding, as is any exception that is not a
`RemoteProtocolError`):

* only `RemoteProtocolError` (with its subclasses `LimitExceededError`,
  `IncompleteBodyError`, `NoResponseError`) may come out of ``receive_data``/``next_event``;
  after one, the state is ERROR and stays so;
* events are `Response`, `InformationalResponse`, `Data` or `EndOfMessage`; a `Data` holds
  1..max_data bytes; the body of a response never exceeds its Content-Length, nor what was
  received; nothing follows HEAD, 204 and 304 heads;
* the head respects the limits (header count, interim count);
* no progress without input: ``next_event`` returns an event or NEED_DATA in a bounded loop,
  and after EOF it never answers NEED_DATA while a head or a body is unfinished (no hang).

`test_one_input` needs no atheris, so tests and ``--replay`` can run it anywhere.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

_METHODS = (b"GET", b"HEAD", b"POST", b"CONNECT")
# Set by _load(), inside atheris.instrument_imports() when fuzzing.
P: Any = None  # pollhttp.protocol
E: Any = None  # pollhttp._errors


def _load() -> None:
    global P, E
    from pollhttp import _errors as errors  # noqa: PLC0415 - imported under instrumentation
    from pollhttp import protocol  # noqa: PLC0415

    P, E = protocol, errors


def _limits(selector: int) -> Any:
    if selector % 2 == 0:
        return P.Limits()
    return P.Limits(
        max_head_bytes=512,
        max_headers=8,
        max_chunk_line_bytes=32,
        max_chunk_size=1024,
        max_trailer_bytes=128,
        max_informational=2,
    )


def test_one_input(data: bytes) -> None:
    """Drive one ClientConnection with ``data`` (see the module docstring); check properties."""
    if P is None:
        _load()
    if len(data) < 4:
        return
    method = _METHODS[data[0] % len(_METHODS)]
    upgrade = bool(data[0] & 0x80)
    limits = _limits(data[1])
    max_data = data[2] if data[2] else 1 << 62
    step = data[3]
    payload = data[4:]

    conn = P.ClientConnection(limits)
    target = b"origin.test:443" if method == b"CONNECT" else b"/"
    headers = [(b"Host", b"origin.test")]
    if upgrade:
        headers += [(b"Connection", b"Upgrade"), (b"Upgrade", b"example/1")]
    conn.send_request(method, target, headers, b"x" if method == b"POST" else b"")

    pieces = [payload[i : i + step] for i in range(0, len(payload), step)] if step else [payload]
    state = {"response": None, "body": 0, "interim": 0, "failed": False}
    try:
        for piece in [*pieces, b""]:
            conn.receive_data(piece)
            _drain(conn, max_data, limits, state, received=len(payload), eof=piece == b"")
    except E.RemoteProtocolError:
        assert conn.state is P.ConnState.ERROR, conn.state
        state["failed"] = True
    if state["failed"]:
        # Sticky: the connection never parses again.
        try:
            event = conn.next_event(max_data)
        except E.RemoteProtocolError:
            pass
        else:
            assert event is P.NEED_DATA, event


def _drain(conn: Any, max_data: int, limits: Any, state: dict, *, received: int, eof: bool) -> None:
    for _ in range(10_000):
        event = conn.next_event(max_data)
        if event is P.NEED_DATA:
            if eof:
                # After EOF nothing unfinished may wait for more bytes: that would hang.
                assert conn.state not in (P.ConnState.AWAIT_HEAD, P.ConnState.BODY), conn.state
            return
        if isinstance(event, P.InformationalResponse):
            state["interim"] += 1
            assert 100 <= event.status_code < 200
            assert event.status_code != 101
            assert state["interim"] <= limits.max_informational
            assert len(event.headers) <= limits.max_headers
        elif isinstance(event, P.Response):
            assert state["response"] is None, "two final responses to one request"
            state["response"], state["body"] = event, 0
            assert 100 <= event.status_code <= 599
            assert len(event.headers) <= limits.max_headers
            if event.status_code in (204, 304) or conn._method == b"HEAD":
                assert event.content_length == 0
        elif isinstance(event, P.Data):
            assert 1 <= len(event.data) <= max_data, len(event.data)
            response = state["response"]
            assert response is not None
            state["body"] += len(event.data)
            assert state["body"] <= received
            if response.content_length is not None:
                assert state["body"] <= response.content_length
        elif isinstance(event, P.EndOfMessage):
            response = state["response"]
            assert response is not None
            if response.content_length is not None:
                assert state["body"] == response.content_length
            assert len(event.trailers) <= limits.max_headers
            return
        else:
            raise AssertionError(f"unknown event {event!r}")
        if conn.state is P.ConnState.TUNNEL:
            return
    raise AssertionError("next_event() made no progress in 10,000 calls")


SEEDS = (
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\n",
    b"HTTP/1.0 200 OK\r\n\r\nuntil close",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: example/1\r\n\r\ntunnel",
    b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nhi",
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\nContent-Length: 2\n\nhi",
)


def write_corpus(directory: str) -> None:
    """Seed inputs: each seed with a few settings prefixes."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(SEEDS):
        for prefix in (b"\x00\x00\x00\x00", b"\x01\x01\x07\x03", b"\x81\x00\x40\x01"):
            (out / f"seed-{i:02d}-{prefix.hex()}").write_bytes(prefix + seed)


def main(argv: list[str]) -> None:
    if len(argv) >= 2 and argv[1] == "--write-corpus":
        write_corpus(argv[2] if len(argv) > 2 else "fuzz/corpus")
        return
    if len(argv) >= 2 and argv[1] == "--replay":
        for name in argv[2:]:
            test_one_input(Path(name).read_bytes())
            print(f"{name}: no finding")
        return
    try:
        import atheris  # noqa: PLC0415 - only for fuzzing, never a test dependency
    except ImportError:
        raise SystemExit(
            "atheris is not installed: pip install atheris (see this script's docstring), "
            "or use --replay FILE... / --write-corpus DIR, which need no atheris"
        ) from None

    with atheris.instrument_imports():
        _load()
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
