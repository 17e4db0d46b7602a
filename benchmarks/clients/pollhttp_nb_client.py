"""pollhttp's HTTPClient in non-blocking mode: ``poll()`` and body reads, with
``HTTPClient.wait()`` (a sleep in the kernel) whenever a step made no progress.

This is how a program with its own loop drives it; the blocking-mode row (``pollhttp``)
is the one the targets are judged by. ``concurrent`` here keeps one selector of its own
across steps, fed by ``get_wait_interest()``, where ``pollhttp`` calls ``pollhttp.wait()``.
"""

from __future__ import annotations

from collections.abc import Callable

from _common import (
    CHUNKED_PATH,
    CHUNKED_SIZE,
    DOWNLOAD_PATH,
    DOWNLOAD_SIZE,
    SMALL_BODY,
    SMALL_PATH,
    UPLOAD_PATH,
    UPLOAD_SIZE,
    Config,
    Measurement,
    expect,
    upload_answer,
    upload_body,
)

from clients.pollhttp_client import (
    BODY,
    CONNECTED,
    GET,
    POST,
    REQUESTING,
    _loop_with_selector,
    connect,
    fail,
    run_concurrent,
)
from pollhttp import Error, HTTPClient


def _send(client: HTTPClient, method: int, path: str, body: bytes = b"") -> None:
    if client.request_raw(method, path, [], body) != Error.OK:
        fail(client, "request_raw")
    client.poll()
    while client.get_status() is REQUESTING:
        client.wait(5.0)
        client.poll()
    if client.get_response_code() != 200 or client.get_status() not in (BODY, CONNECTED):
        fail(client, "response head")


def _read(client: HTTPClient, feed: Callable[[bytes], None]) -> None:
    read = client.read_response_body_chunk
    while client.get_status() is BODY:
        piece = read()
        if piece:
            feed(piece)
        elif client.get_status() is BODY:
            client.wait(5.0)
    if client.get_status() is not CONNECTED:
        fail(client, "after the body")


def fetch(client: HTTPClient, path: str, method: int = GET, body: bytes = b"") -> bytes:
    _send(client, method, path, body)
    pieces: list[bytes] = []
    _read(client, pieces.append)
    return b"".join(pieces)


def _small(config: Config, m: Measurement, tls: bool) -> None:
    client = connect(config, tls=tls, blocking=False)
    expect(fetch(client, SMALL_PATH) == SMALL_BODY, "warm-up body")

    def work() -> None:
        for _ in range(config.seq_n):
            if fetch(client, SMALL_PATH) != SMALL_BODY:
                expect(False, "wrong small body")

    m.run(work, config.seq_n)
    client.close()


def seq_small(config: Config, m: Measurement) -> None:
    _small(config, m, tls=False)


def tls_small(config: Config, m: Measurement) -> None:
    _small(config, m, tls=True)


def _bulk(config: Config, m: Measurement, path: str, size: int, count: int) -> None:
    client = connect(config, blocking=False)
    expect(fetch(client, SMALL_PATH) == SMALL_BODY, "warm-up body")

    def work() -> None:
        for _ in range(count):
            checker = m.checker(size)
            _send(client, GET, path)
            _read(client, checker.feed)
            checker.finish()

    m.run(work, size * count)
    client.close()


def download_100m(config: Config, m: Measurement) -> None:
    _bulk(config, m, DOWNLOAD_PATH, DOWNLOAD_SIZE, config.download_n)


def chunked_50m(config: Config, m: Measurement) -> None:
    _bulk(config, m, CHUNKED_PATH, CHUNKED_SIZE, config.chunked_n)


def upload_50m(config: Config, m: Measurement) -> None:
    body = upload_body(UPLOAD_SIZE)
    client = connect(config, blocking=False)
    expect(fetch(client, SMALL_PATH) == SMALL_BODY, "warm-up body")
    answer = upload_answer(len(body))

    def work() -> None:
        for _ in range(config.upload_n):
            expect(fetch(client, UPLOAD_PATH, POST, body) == answer, "wrong upload answer")

    m.run(work, len(body) * config.upload_n)
    client.close()


def concurrent(config: Config, m: Measurement) -> None:
    run_concurrent(config, m, _loop_with_selector)
