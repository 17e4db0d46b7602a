"""The scenarios' common shape for blocking clients, so each client module is only the
library calls: ``get(path) -> (status, body)``, ``stream(path, feed) -> status``,
``post(path, body) -> (status, body)``.

Every scenario connects and makes one warm-up request before the clock starts, and checks
every status and every body byte inside the timed part (a mismatch raises).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Protocol

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
    Config,
    ConnectionCount,
    Measurement,
    expect,
    upload_answer,
    upload_body,
)

Get = Callable[[str], tuple[int, bytes]]


class SyncClient(Protocol):
    """One client object holding one keep-alive connection (after its first request)."""

    def get(self, path: str) -> tuple[int, bytes]: ...
    def stream(self, path: str, feed: Callable[[bytes], None]) -> int: ...
    def post(self, path: str, body: bytes) -> tuple[int, bytes]: ...
    def close(self) -> None: ...


Factory = Callable[[Config, bool], SyncClient]


def _warm(client: SyncClient, path: str = SMALL_PATH, body: bytes = SMALL_BODY) -> None:
    status, got = client.get(path)
    expect(status == 200 and got == body, f"warm-up: {status} {got[:40]!r}")


def small(config: Config, m: Measurement, make: Factory, tls: bool) -> None:
    client = make(config, tls)
    _warm(client)
    get = client.get

    def work() -> None:
        for _ in range(config.seq_n):
            status, body = get(SMALL_PATH)
            if status != 200 or body != SMALL_BODY:
                expect(False, f"wrong small response: {status} {body[:40]!r}")

    m.run(work, config.seq_n)
    client.close()


def bulk(config: Config, m: Measurement, make: Factory, scenario: str) -> None:
    path, size, count = {
        "download_100m": (DOWNLOAD_PATH, DOWNLOAD_SIZE, config.download_n),
        "chunked_50m": (CHUNKED_PATH, CHUNKED_SIZE, config.chunked_n),
    }[scenario]
    client = make(config, False)
    _warm(client)

    def work() -> None:
        for _ in range(count):
            checker = m.checker(size)
            status = client.stream(path, checker.feed)
            expect(status == 200, f"status {status}")
            checker.finish()

    m.run(work, size * count)
    client.close()


def upload(config: Config, m: Measurement, make: Factory) -> None:
    body = upload_body(UPLOAD_SIZE)
    answer = upload_answer(len(body))
    client = make(config, False)
    _warm(client)

    def work() -> None:
        for _ in range(config.upload_n):
            status, got = client.post(UPLOAD_PATH, body)
            expect(status == 200 and got == answer, f"upload answer: {status} {got[:40]!r}")

    m.run(work, len(body) * config.upload_n)
    client.close()


def threaded(config: Config, m: Measurement, per_thread: Callable[[], SyncClient]) -> None:
    """``concurrent`` for blocking clients: one thread per connection.

    ``per_thread()`` is called in each thread for its client (a new one, or a handle on a
    shared pool). The threads start together and each makes ``conc_requests`` requests.
    """
    warm = per_thread()
    _warm(warm, ONE_K_PATH, ONE_K_BODY)
    errors: list[BaseException] = []
    gate = threading.Barrier(config.conc_connections + 1)

    def worker() -> None:
        try:
            client = per_thread()
            gate.wait()
            for _ in range(config.conc_requests):
                status, body = client.get(ONE_K_PATH)
                if status != 200 or body != ONE_K_BODY:
                    expect(False, f"wrong 1k response: {status} {body[:40]!r}")
            client.close()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            gate.abort()

    threads = [threading.Thread(target=worker) for _ in range(config.conc_connections)]
    for thread in threads:
        thread.start()

    def work() -> None:
        with contextlib.suppress(threading.BrokenBarrierError):  # a worker failed
            gate.wait()
        for thread in threads:
            thread.join()

    m.run(work, config.conc_connections * config.conc_requests)
    warm.close()
    if errors:
        raise errors[0]


def onecall(config: Config, m: Measurement, call: Get, label: str) -> None:
    """``onecall_1000``: the library's one-call API, as a script writes it, ``onecall_n`` times.

    ``call(url)`` makes one whole request with nothing kept by the caller between calls;
    whatever the library keeps by itself (a module-level pool, a session's connection) is
    what is measured. One warm-up call comes first, as everywhere; nginx's count of
    accepted connections over the timed part is recorded (``extra["connections"]``).
    """
    url = config.base_url() + SMALL_PATH
    status, got = call(url)
    expect(status == 200 and got == SMALL_BODY, f"warm-up: {status} {got[:40]!r}")
    count = ConnectionCount(config)

    def work() -> None:
        for _ in range(config.onecall_n):
            status, body = call(url)
            if status != 200 or body != SMALL_BODY:
                expect(False, f"wrong small response: {status} {body[:40]!r}")

    count.start()
    m.run(work, config.onecall_n)
    count.stop()
    m.extra["call"] = label
    m.extra["connections"] = count.opened
