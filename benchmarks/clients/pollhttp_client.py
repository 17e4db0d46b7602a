"""pollhttp's HTTPClient in blocking mode: the fastest way to use it from one thread.

In blocking mode ``poll()`` in REQUESTING sends the request and sleeps in the kernel until
the head is in, and ``read_response_body_chunk()`` sleeps until it has a full chunk or the
body ends, so each step is one call. ``concurrent`` runs 64 non-blocking clients from one
thread, waiting with ``pollhttp.wait()``. ``onecall_1000`` is ``pollhttp.get(url)``, the
one-call API, with whatever it keeps between calls (a module-level pool, once there is one).
"""

from __future__ import annotations

import selectors
from collections.abc import Callable
from typing import NoReturn

from _common import (
    CHUNKED_PATH,
    CHUNKED_SIZE,
    DOWNLOAD_PATH,
    DOWNLOAD_SIZE,
    ONE_K_BODY,
    ONE_K_PATH,
    SMALL_BODY,
    SMALL_PATH,
    UPLOAD_PATH,
    UPLOAD_SIZE,
    BenchmarkError,
    Config,
    Measurement,
    expect,
    upload_answer,
    upload_body,
)

import pollhttp
from clients import _shape
from pollhttp import Error, HTTPClient, TLSOptions, X509Certificate

GET, POST = HTTPClient.METHOD_GET, HTTPClient.METHOD_POST
RESOLVING, CONNECTING = HTTPClient.STATUS_RESOLVING, HTTPClient.STATUS_CONNECTING
CONNECTED, REQUESTING, BODY = (
    HTTPClient.STATUS_CONNECTED,
    HTTPClient.STATUS_REQUESTING,
    HTTPClient.STATUS_BODY,
)


def tls_options(config: Config) -> TLSOptions:
    ca = X509Certificate()
    expect(ca.load(config.ca_path) == Error.OK, f"cannot load {config.ca_path}")
    return TLSOptions.client(ca)


def connect(config: Config, *, tls: bool = False, blocking: bool = True) -> HTTPClient:
    client = HTTPClient()
    client.set_blocking_mode(blocking)
    client.set_read_chunk_size(config.read_size)
    if tls:
        err = client.connect_to_host("https://127.0.0.1", config.tls_port, tls_options(config))
    else:
        err = client.connect_to_host("127.0.0.1", config.port)
    expect(err == Error.OK, f"connect_to_host: {err!r} {client.get_last_error()}")
    while client.get_status() in (RESOLVING, CONNECTING):
        client.poll()
        if not blocking:
            client.wait(1.0)
    expect(client.get_status() == CONNECTED, f"not connected: {client.get_status()!r}")
    return client


def fail(client: HTTPClient, what: str) -> NoReturn:
    """Stop the run; the message is built only here, never on the hot path."""
    raise BenchmarkError(
        f"{what}: status {client.get_status()!r}, code {client.get_response_code()}, "
        f"error {client.get_last_error()!r}"
    )


def _send(client: HTTPClient, method: int, path: str, body: bytes = b"") -> None:
    if client.request_raw(method, path, [], body) != Error.OK:
        fail(client, "request_raw")
    while client.get_status() is REQUESTING:
        client.poll()
    if client.get_response_code() != 200 or client.get_status() not in (BODY, CONNECTED):
        fail(client, "response head")


def fetch(client: HTTPClient, path: str, method: int = GET, body: bytes = b"") -> bytes:
    """One whole response body (small ones)."""
    _send(client, method, path, body)
    pieces = []
    while client.get_status() is BODY:
        pieces.append(client.read_response_body_chunk())
    if client.get_status() is not CONNECTED:
        fail(client, "after the body")
    return b"".join(pieces)


def stream(client: HTTPClient, path: str, feed: Callable[[bytes], None]) -> None:
    """A large body, chunk by chunk, never held whole."""
    _send(client, GET, path)
    read = client.read_response_body_chunk
    while client.get_status() is BODY:
        feed(read())
    if client.get_status() is not CONNECTED:
        fail(client, "after the body")


def _small(config: Config, m: Measurement, tls: bool) -> None:
    client = connect(config, tls=tls)
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
    client = connect(config)
    expect(fetch(client, SMALL_PATH) == SMALL_BODY, "warm-up body")

    def work() -> None:
        for _ in range(count):
            checker = m.checker(size)
            stream(client, path, checker.feed)
            checker.finish()

    m.run(work, size * count)
    client.close()


def download_100m(config: Config, m: Measurement) -> None:
    _bulk(config, m, DOWNLOAD_PATH, DOWNLOAD_SIZE, config.download_n)


def chunked_50m(config: Config, m: Measurement) -> None:
    _bulk(config, m, CHUNKED_PATH, CHUNKED_SIZE, config.chunked_n)


def upload_50m(config: Config, m: Measurement) -> None:
    body = upload_body(UPLOAD_SIZE)
    client = connect(config)
    expect(fetch(client, SMALL_PATH) == SMALL_BODY, "warm-up body")
    answer = upload_answer(len(body))

    def work() -> None:
        for _ in range(config.upload_n):
            expect(fetch(client, UPLOAD_PATH, POST, body) == answer, "wrong upload answer")

    m.run(work, len(body) * config.upload_n)
    client.close()


# -- concurrent: many non-blocking clients from one thread ----------------------------------


class _Slot:
    """One connection of ``concurrent``: its client and what it still has to do."""

    def __init__(self, client: HTTPClient, requests: int) -> None:
        self.client = client
        self.left = requests
        self.pieces: list[bytes] = []

    def step(self) -> bool:
        """Advance as far as possible without waiting; False once all requests are done."""
        client = self.client
        while True:
            status = client.get_status()
            if status is BODY:
                piece = client.read_response_body_chunk()
                if piece:
                    self.pieces.append(piece)
                if client.get_status() is BODY:
                    return True
            elif status is REQUESTING or status is CONNECTING:
                client.poll()
                if client.get_status() is status:
                    return True
            elif status is CONNECTED:
                if self.pieces:  # a response is complete (else: just connected)
                    if b"".join(self.pieces) != ONE_K_BODY or client.get_response_code() != 200:
                        expect(False, f"wrong 1k response ({client.get_response_code()})")
                    self.pieces = []
                    self.left -= 1
                if self.left == 0:
                    return False
                if client.request(GET, ONE_K_PATH, []) != Error.OK:
                    fail(client, "request")
            else:
                fail(client, "concurrent")


def _loop_with_wait(slots: list[_Slot]) -> None:
    """pollhttp.wait() over the live clients: the library's own way."""
    by_client = {slot.client: slot for slot in slots}
    while by_client:
        ready = pollhttp.wait(by_client, 5.0)
        expect(bool(ready), "no client made progress for 5 s")
        for client in ready:
            if not by_client[client].step():
                client.close()
                del by_client[client]


def _loop_with_selector(slots: list[_Slot]) -> None:
    """A program's own selector, kept across steps, fed by get_wait_interest()."""
    selector = selectors.DefaultSelector()
    registered: dict[int, int] = {}

    def arm(slot: _Slot) -> bool:
        """Register what the slot waits for, stepping while it can go on at once."""
        while True:
            interest = slot.client.get_wait_interest()
            expect(interest is not None, "a client with work left waits for nothing")
            assert interest is not None
            if interest.fd >= 0:
                break
            if not slot.step():
                return False
        mask = (selectors.EVENT_READ if interest.read else 0) | (
            selectors.EVENT_WRITE if interest.write else 0
        )
        old = registered.get(interest.fd)
        if old is None:
            selector.register(interest.fd, mask, slot)
        elif old != mask:
            selector.modify(interest.fd, mask, slot)
        registered[interest.fd] = mask
        return True

    def finish(slot: _Slot) -> None:
        connection = slot.client.get_connection()
        fd = connection.fileno() if connection is not None else -1
        if registered.pop(fd, None) is not None:
            selector.unregister(fd)
        slot.client.close()

    live = 0
    for slot in slots:
        if arm(slot):
            live += 1
        else:
            finish(slot)
    while live:
        events = selector.select(5.0)
        expect(bool(events), "no client made progress for 5 s")
        for key, _ in events:
            slot = key.data
            if not (slot.step() and arm(slot)):
                finish(slot)
                live -= 1
    selector.close()


def run_concurrent(config: Config, m: Measurement, loop: Callable[[list[_Slot]], None]) -> None:
    warm = connect(config)
    expect(fetch(warm, ONE_K_PATH) == ONE_K_BODY, "warm-up body")
    warm.close()
    # The objects are made before the clock starts, as the threaded clients' are.
    clients = [HTTPClient() for _ in range(config.conc_connections)]

    def work() -> None:
        slots = []
        for client in clients:
            expect(client.connect_to_host("127.0.0.1", config.port) == Error.OK, "connect")
            slots.append(_Slot(client, config.conc_requests))
        loop(slots)

    m.run(work, config.conc_connections * config.conc_requests)


def concurrent(config: Config, m: Measurement) -> None:
    run_concurrent(config, m, _loop_with_wait)


def _onecall(url: str) -> tuple[int, bytes]:
    response = pollhttp.get(url)
    return response.status_code, response.content


def onecall_1000(config: Config, m: Measurement) -> None:
    _shape.onecall(config, m, _onecall, "pollhttp.get(url)")
