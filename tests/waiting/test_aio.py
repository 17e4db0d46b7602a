"""pollhttp.aio: the one-call API and aio.wait() on asyncio, against scripted servers and nginx.

No threads, no busy loop: descriptors go to the running loop. Cancelling a task closes its
transfer (the server sees the connection end) and leaves no partial download behind.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import socket
import threading
import time
import warnings
import weakref
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest

from pollhttp import (
    READY_NOW,
    ConnectError,
    Error,
    HTTPClient,
    HTTPRequest,
    Interest,
    Resolution,
    Result,
    TooManyRedirectsError,
    TransferTimeoutError,
    aio,
)

from ..support.nginx import NginxServer
from ..support.servers import Pause, Read, ScriptedServer, Send, response
from .conftest import COUNT, Download, GatedResolver, SilentServer, rate, report

CLOSE = "Connection: close"


def url(port: int, path: str = "/") -> str:
    return f"http://127.0.0.1:{port}{path}"


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    """asyncio.run, checking that nothing leaked a socket on the way."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = asyncio.run(coro)
        gc.collect()
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == []
    return result


def read_head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the client closed before sending its request"
        data += chunk
    return data


@pytest.fixture(scope="module")
def gzip_text(nginx: NginxServer) -> bytes:
    lines = [f"{i:06d} {hashlib.sha256(str(i).encode()).hexdigest()}\n" for i in range(4000)]
    text = "".join(lines).encode()
    nginx.write_file("text.txt", text)
    return text


# -- the same scenarios as the poll API ---------------------------------------------------------


def test_get_body_and_headers():
    body = b"hello from a scripted server"
    script = [[Read(), Send(response(headers=["Content-Type: text/plain", CLOSE], body=body))]]
    with ScriptedServer(script) as server:
        answer = run(aio.get(url(server.port, "/path?q=1")))
        assert server.requests[0].startswith(b"GET /path?q=1 HTTP/1.1\r\n")
    assert answer.status_code == 200
    assert answer.content == body
    assert answer.headers["content-type"] == "text/plain"
    assert answer.url == url(server.port, "/path?q=1")


def test_post_json():
    script = [[Read(), Send(response(headers=[CLOSE], body=b'{"ok": true}'))]]
    with ScriptedServer(script) as server:
        answer = run(aio.post(url(server.port, "/api"), json={"a": 1, "b": [2, 3]}))
        sent = server.requests[0]
    head, _, body = sent.partition(b"\r\n\r\n")
    assert head.startswith(b"POST /api HTTP/1.1\r\n")
    assert b"\r\nContent-Type: application/json" in head
    assert json.loads(body) == {"a": 1, "b": [2, 3]}
    assert answer.json() == {"ok": True}


def test_redirects_are_followed():
    scripts = [
        [Read(), Send(response("302 Found", ["Location: /final", CLOSE]))],
        [Read(), Send(response(headers=[CLOSE], body=b"arrived"))],
    ]
    with ScriptedServer(scripts) as server:
        answer = run(aio.get(url(server.port, "/start")))
        lines = [r.split(b"\r\n", 1)[0] for r in server.requests]
    assert lines == [b"GET /start HTTP/1.1", b"GET /final HTTP/1.1"]
    assert answer.content == b"arrived"
    assert answer.url == url(server.port, "/final")


def test_redirect_loop_raises():
    script = [[Read(), Send(response("302 Found", ["Location: /loop", CLOSE]))]]
    with ScriptedServer(script) as server, pytest.raises(TooManyRedirectsError):
        run(aio.get(url(server.port, "/loop")))


@pytest.mark.nginx
def test_gzip_from_nginx_is_decoded(nginx: NginxServer, gzip_text: bytes):
    answer = run(aio.get(url(nginx.port, "/gzip/text.txt")))
    assert answer.status_code == 200
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.content == gzip_text


def test_timeout_raises_and_closes_the_connection(silent: SilentServer):
    start = time.monotonic()
    with pytest.raises(TransferTimeoutError):
        run(aio.get(url(silent.port), timeout=0.3))
    assert time.monotonic() - start < 2.0
    sent, ending = silent.read_until_closed(silent.accept())
    assert sent.startswith(b"GET / HTTP/1.1\r\n")
    assert ending == "eof"


def test_closed_port_raises_connect_error(silent: SilentServer):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectError):
        run(aio.get(url(port)))


@pytest.mark.nginx
def test_64_concurrent_gets_from_nginx(nginx: NginxServer, downloads: list[Download]):
    async def one(download: Download) -> tuple[int, int, bool]:
        answer = await aio.get(url(nginx.port, download.path))
        return answer.status_code, len(answer.content), answer.content == download.expected()

    async def main() -> tuple[list[tuple[int, int, bool]], float]:
        start = time.monotonic()
        results = await asyncio.gather(*(one(d) for d in downloads))
        return results, time.monotonic() - start

    threads = threading.active_count()
    results, elapsed = run(main())
    assert threading.active_count() == threads
    total = sum(d.size for d in downloads)
    report(
        "64 aio.get() with asyncio.gather",
        rate(total, elapsed),
    )
    assert results == [(200, d.size, True) for d in downloads]
    assert len(downloads) == COUNT


# -- cancellation ---------------------------------------------------------------------------


def test_wait_for_timeout_cancels_and_closes(silent: SilentServer):
    async def main() -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(aio.get(url(silent.port)), 0.3)

    run(main())
    sent, ending = silent.read_until_closed(silent.accept())
    assert sent.startswith(b"GET / HTTP/1.1\r\n")
    assert ending == "eof"


def test_task_cancel_closes_the_connection(silent: SilentServer):
    async def main() -> None:
        task = asyncio.create_task(aio.get(url(silent.port, "/cancel-me")))
        peer = await asyncio.to_thread(silent.accept)
        assert (await asyncio.to_thread(read_head, peer)).startswith(b"GET /cancel-me ")
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        _, ending = await asyncio.to_thread(silent.read_until_closed, peer)
        assert ending == "eof"

    run(main())


def test_cancelled_download_leaves_no_partial_file(tmp_path: Path):
    size = 1 << 20
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode()
    target = tmp_path / "asset.bin"
    part = Path(str(target) + ".part")
    script = [[Read(), Send(head + b"p" * 100_000), Pause(10)]]

    async def download(req: HTTPRequest) -> None:
        with req:  # close() on the way out, also when cancelled
            assert req.request(url(server.port, "/asset.bin")) == Error.OK
            while True:
                req.poll()
                await aio.wait(req)

    async def main(req: HTTPRequest) -> int:
        loop = asyncio.get_running_loop()
        task = asyncio.create_task(download(req))
        deadline = time.monotonic() + 5.0
        while not (part.exists() and part.stat().st_size >= 100_000):
            assert time.monotonic() < deadline, "the partial download never appeared"
            await asyncio.sleep(0.01)
        interest = req.get_wait_interest()
        assert interest is not None
        assert interest.fd >= 0
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # aio.wait() took its reader off the loop.
        assert not loop.remove_reader(interest.fd)
        assert not loop.remove_writer(interest.fd)
        return interest.fd

    with ScriptedServer(script) as server:
        req = HTTPRequest()
        req.download_file = str(target)
        run(main(req))
        assert req.get_wait_interest() is None
    assert not part.exists()
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


# -- aio.wait -----------------------------------------------------------------------------


class Fixed:
    """A Waitable that always says the same thing."""

    def __init__(self, interest: Interest | None, timeout: float | None = None) -> None:
        self.interest = interest
        self.timeout = timeout

    def get_wait_interest(self) -> Interest | None:
        return self.interest

    def get_wait_timeout(self) -> float | None:
        return self.timeout


def test_wait_with_nothing_to_wait_for_is_true():
    async def main() -> tuple[bool, bool]:
        return await aio.wait(Fixed(None), 5.0), await aio.wait(Fixed(READY_NOW), 5.0)

    assert run(main()) == (True, True)


def test_wait_ready_now_still_lets_the_loop_run():
    """An awaited call that never suspends starves every other task of the loop."""

    async def main() -> list[str]:
        ran: list[str] = []
        asyncio.get_running_loop().call_soon(ran.append, "other")
        assert await aio.wait(Fixed(READY_NOW)) is True
        return list(ran)  # a copy: asyncio.run() runs what is left before it returns

    assert run(main()) == ["other"]


def test_wait_times_out_false(silent: SilentServer):
    client = HTTPClient()
    try:
        assert client.connect_to_host("127.0.0.1", silent.port) == Error.OK
        while client.get_status() != HTTPClient.STATUS_CONNECTED:
            client.poll()
        assert client.request(HTTPClient.METHOD_GET, "/", []) == Error.OK
        client.poll()

        async def main() -> tuple[bool, float]:
            start = time.monotonic()
            woke = await aio.wait(client, 0.2)
            return woke, time.monotonic() - start

        woke, elapsed = run(main())
        assert woke is False
        assert 0.15 <= elapsed < 2.0
    finally:
        client.close()


def test_wait_ends_at_the_objects_deadline(silent: SilentServer):
    completions: list[Any] = []
    with HTTPRequest() as req:
        req.timeout = 0.3
        req.request_completed.connect(lambda *args: completions.append(args))
        assert req.request(url(silent.port)) == Error.OK
        req.poll()

        async def main() -> float:
            start = time.monotonic()
            while not completions:
                assert time.monotonic() - start < 3.0
                await aio.wait(req, 10.0)
                req.poll()
            return time.monotonic() - start

        elapsed = run(main())
    assert elapsed < 1.5
    assert completions[0][0] == Result.RESULT_TIMEOUT


@pytest.mark.parametrize("staggered", [False, True], ids=["together", "one-by-one"])
def test_many_coroutines_wake_on_their_lookups(staggered: bool):
    """Every lookup rings the one wake-up descriptor; each waiting coroutine must wake."""
    count = 6
    body = b"after a lookup"
    script = [[Read(), Send(response(body=body))]]
    with ScriptedServer(script) as server:
        resolver = GatedResolver(server.port)

        async def fetch(i: int) -> tuple[Result, bytes]:
            outcome: list[Any] = []
            with HTTPRequest(resolver=resolver) as req:
                req.request_completed.connect(lambda *args: outcome.append(args))
                assert req.request(f"http://host-{i}.test:{server.port}/") == Error.OK
                deadline = time.monotonic() + 5.0
                while not outcome:
                    assert time.monotonic() < deadline
                    req.poll()
                    if not outcome:
                        await aio.wait(req, 5.0)
            return outcome[0][0], outcome[0][3]

        def release() -> None:
            # Wait (bounded) until every coroutine has started its lookup.
            deadline = time.monotonic() + 5.0
            while len(resolver.lookups) < count and time.monotonic() < deadline:
                time.sleep(0.005)
            for lookup in list(resolver.lookups):
                lookup.release()
                if staggered:
                    time.sleep(0.05)

        async def main() -> tuple[list[tuple[Result, bytes]], float]:
            releaser = threading.Thread(target=release)
            start = time.monotonic()
            releaser.start()
            try:
                results = await asyncio.gather(*(fetch(i) for i in range(count)))
            finally:
                releaser.join(5)
            return results, time.monotonic() - start

        results, elapsed = run(main())
    assert results == [(Result.RESULT_SUCCESS, body)] * count
    assert len(resolver.lookups) == count
    assert elapsed < 3.0  # each woke on the ring, not on its 5 s timeout


def test_a_lookup_wait_that_times_out_does_not_keep_the_loop():
    """Waiting on the shared wake-up descriptor must not tie the loop to module state."""
    client = HTTPClient(resolver=lambda host, port: Resolution())  # never finishes
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []
    try:
        assert client.connect_to_host("never.test", 80) == Error.OK

        async def main() -> bool:
            loops.append(weakref.ref(asyncio.get_running_loop()))
            return await aio.wait(client, 0.05)

        assert run(main()) is False
    finally:
        client.close()
    gc.collect()
    assert loops[0]() is None, "the closed event loop is still referenced"
